"""What an advisor does on a client's page: add or edit a goal, plan it again, ask for a new
allocation, a rebalance or a harvest, and accept or decline a recommendation.

Every view here posts to one service; auditors are refused (403) before anything is read, and
only the user's own clients are found (``write=True``: 404 otherwise, even for a client the
user may read as an auditor). A service's refusal comes back on the form that caused it, with
the client page re-rendered (400), and nothing is written.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import ApplicationError, NotFound
from core.permissions import area_required
from core.roles import Area
from wealth import services
from wealth.forms import AcceptForm, AllocationForm, DeclineForm, GoalForm, RebalanceForm, field_errors
from wealth.models import Client, Goal
from wealth.views.clients import client_context
from wealth.views.common import client_or_404, goal_or_404, recommendation_or_404


def _client_page(request: HttpRequest, client: Client, bound: dict[str, forms.Form]) -> HttpResponse:
    """The client page again with the failed form's errors (400: nothing was written)."""
    return render(request, "wealth/client_detail.html", client_context(request, client, bound), status=400)


def _back(client: Client, anchor: str = "") -> str:
    return reverse("wealth:client_detail", args=[client.pk]) + (f"#{anchor}" if anchor else "")


# ---------------------------------------------------------------------------- goals


def _goal_form_page(
    request: HttpRequest, client: Client, form: GoalForm, goal: Goal | None, status: int = 200
) -> HttpResponse:
    return render(request, "wealth/goal_form.html", {"client": client, "form": form, "goal": goal}, status=status)


@area_required(Area.WEALTH, write=True)
def goal_create(request: HttpRequest, pk: int) -> HttpResponse:
    client = client_or_404(request, pk, write=True)
    if request.method != "POST":
        return _goal_form_page(request, client, GoalForm(), None)
    form = GoalForm(request.POST)
    if form.is_valid():
        try:
            goal = services.goal_create(actor=request.user, client=client, data=form.data_for_service())
        except ApplicationError as exc:
            field_errors(form, exc)
        else:
            messages.success(request, f"Goal “{goal.name}” added. Press “Plan” to project it.")
            return redirect(_back(client, f"goal-{goal.pk}"))
    return _goal_form_page(request, client, form, None, status=400)


@area_required(Area.WEALTH, write=True)
def goal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    goal = goal_or_404(request, pk, write=True)
    client = goal.client
    if request.method != "POST":
        return _goal_form_page(request, client, GoalForm(initial=GoalForm.initial_for(goal)), goal)
    form = GoalForm(request.POST)
    if form.is_valid():
        try:
            services.goal_update(actor=request.user, goal=goal, data=form.data_for_service())
        except ApplicationError as exc:
            field_errors(form, exc)
        else:
            messages.success(request, f"Goal “{form.cleaned_data['name']}” saved. Plan it again to see the effect.")
            return redirect(_back(client, f"goal-{goal.pk}"))
    return _goal_form_page(request, client, form, goal, status=400)


@require_POST
@area_required(Area.WEALTH, write=True)
def goal_plan(request: HttpRequest, pk: int) -> HttpResponse:
    """Run the goal's Monte Carlo again (10,000 paths) with the client's current profile."""
    goal = goal_or_404(request, pk, write=True)
    try:
        plan = services.goal_plan(actor=request.user, goal=goal)
    except ApplicationError as exc:
        messages.error(request, f"“{goal.name}” not planned: {exc.message}")
    else:
        messages.success(request, f"“{goal.name}” planned: {plan.success_probability:.0%} chance of success.")
    return redirect(_back(goal.client, f"goal-{goal.pk}"))


# ---------------------------------------------------------------------------- proposals


@require_POST
@area_required(Area.WEALTH, write=True)
def allocation_propose(request: HttpRequest, pk: int) -> HttpResponse:
    """A new allocation on the efficient frontier; infeasible constraints come back as the form's
    errors, with the reasons the optimiser gave."""
    client = client_or_404(request, pk, write=True)
    form = AllocationForm(request.POST, auto_id="id_alloc_%s")
    if form.is_valid():
        try:
            services.allocation_propose(actor=request.user, client=client, **form.arguments())
        except ApplicationError as exc:
            field_errors(form, exc, aliases={"constraints": "__all__", "non_field_errors": "__all__"})
        else:
            messages.success(request, "Allocation proposed: see it on the frontier below.")
            return redirect(_back(client, "allocation"))
    return _client_page(request, client, {"allocation": form})


@require_POST
@area_required(Area.WEALTH, write=True)
def rebalance_propose(request: HttpRequest, pk: int) -> HttpResponse:
    """Trades back to the target (tax-aware), placing an optional deposit or withdrawal."""
    client = client_or_404(request, pk, write=True)
    form = RebalanceForm(request.POST, auto_id="id_rebal_%s")
    if form.is_valid():
        try:
            rec = services.rebalance_propose(actor=request.user, client=client, cash_flow=form.amount())
        except ApplicationError as exc:
            field_errors(form, exc)
        else:
            if rec is None:
                messages.info(request, "No rebalance needed: the portfolio is within its drift band.")
            else:
                messages.success(request, f"Rebalance proposed: {len(rec.trades)} trades.")
            return redirect(_back(client, "rebalance"))
    return _client_page(request, client, {"rebalance": form})


@require_POST
@area_required(Area.WEALTH, write=True)
def harvest_propose(request: HttpRequest, pk: int) -> HttpResponse:
    """Look for tax losses worth harvesting now (wash-sale rules applied)."""
    client = client_or_404(request, pk, write=True)
    try:
        rec = services.harvest_propose(actor=request.user, client=client)
    except ApplicationError as exc:
        messages.error(request, f"No harvest proposed: {exc.message}")
    else:
        if rec is None:
            messages.info(request, "No loss is worth harvesting today.")
        else:
            messages.success(request, f"Harvest proposed: {rec.title}.")
    return redirect(_back(client, "harvest"))


# ---------------------------------------------------------------------------- decisions


def _decide(request: HttpRequest, pk: int, accept: bool) -> HttpResponse:
    rec = recommendation_or_404(request, pk, write=True)
    client = rec.client
    key = f"{'accept' if accept else 'decline'}-{rec.pk}"
    auto = f"id_r{rec.pk}_%s_{'accept' if accept else 'decline'}"
    form: forms.Form = (AcceptForm if accept else DeclineForm)(request.POST, auto_id=auto)
    if form.is_valid():
        note = form.cleaned_data["note"]
        try:
            if accept:
                services.recommendation_accept(actor=request.user, recommendation=rec, note=note)
            else:
                services.recommendation_decline(actor=request.user, recommendation=rec, note=note)
        except NotFound:
            raise Http404("No such recommendation.") from None
        except ApplicationError as exc:
            field_errors(form, exc)
        else:
            verb = "accepted" if accept else "declined"
            messages.success(request, f"“{rec.title}” {verb}.")
            return redirect(_back(client, f"rec-{rec.pk}"))
    return _client_page(request, client, {key: form})


@require_POST
@area_required(Area.WEALTH, write=True)
def recommendation_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept: the trades are booked at their prices (audited with the explanation)."""
    return _decide(request, pk, accept=True)


@require_POST
@area_required(Area.WEALTH, write=True)
def recommendation_decline(request: HttpRequest, pk: int) -> HttpResponse:
    """Decline, with the reason (required)."""
    return _decide(request, pk, accept=False)
