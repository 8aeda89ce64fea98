"""Surveillance pages: the alert queue, each alert's review page, cases with their STOR, the
dashboard with detection runs, and detector parameters.

Compliance analysts and supervisors act; auditors read everything on their desks and get no
forms (every POST refuses them with 403). Alerts and cases outside the user's desks are 404.
Views are thin: reads come from ``surveillance.selectors`` (and ``replay`` for the chart), every
change goes through one service, and a domain error comes back on the form that caused it, or
as a message, never as a server error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import ApplicationError, NotFound
from core.exports import csv_lines, stream
from core.permissions import area_required
from core.roles import Area
from portfolios.selectors import desk_ids, desk_list
from surveillance import charts, selectors, services
from surveillance.filters import AlertFilterSet
from surveillance.forms import (
    ApproveForm,
    AssignForm,
    BulkAssignForm,
    CaseAddForm,
    CaseNewForm,
    CloseForm,
    CommentForm,
    RationaleForm,
    reviewers,
)
from surveillance.models import Alert, Case, Scenario
from surveillance.replay import replay_for
from surveillance.services.workflow import CLOSABLE_STATES, four_eyes_required, is_supervisor
from surveillance.views.common import PAGE_SIZE, alert_or_404, can_act, field_errors

# Queue orderings: the key of ``?sort=``; a leading "-" reverses it. Ties: newest first.
SORTS: dict[str, tuple[Any, ...]] = {
    "score": (F("score").desc(), "-created_at", "-id"),
    "-score": (F("score").asc(), "-created_at", "-id"),
    "likelihood": (F("action_probability").desc(nulls_last=True), "-score", "-id"),
    "-likelihood": (F("action_probability").asc(nulls_last=True), "-score", "-id"),
    "age": ("created_at", "id"),
    "-age": ("-created_at", "-id"),
}
DEFAULT_FILTERS = "state=open"
CSV_MAX_ROWS = 50_000
EVIDENCE_MAX_ROWS = 500
SCENARIO_LABELS = dict(Scenario.choices)


# ---------------------------------------------------------------------------- the queue


def _queue_params(request: HttpRequest, data: QueryDict | None = None) -> QueryDict:
    """The filters of the page; a first visit (no parameters at all) shows open alerts."""
    params = request.GET if data is None else data
    return params if params else QueryDict(DEFAULT_FILTERS)


def _queue_rows(request: HttpRequest, params: QueryDict) -> tuple[AlertFilterSet, QuerySet[Alert], str]:
    """The filter set (its form shows the errors) and the filtered, sorted alerts; invalid filters
    are left out rather than emptying the queue."""
    filterset = AlertFilterSet(data=params, queryset=selectors.alert_list(user=request.user), user=request.user)
    sort = params.get("sort", "score")
    if sort not in SORTS:
        sort = "score"
    return filterset, filterset.qs.order_by(*SORTS[sort]), sort


def _queue_context(request: HttpRequest, data: QueryDict | None = None) -> dict[str, Any]:
    params = _queue_params(request, data)
    filterset, qs, sort = _queue_rows(request, params)
    page = Paginator(qs, PAGE_SIZE).get_page(params.get("page"))
    keep = params.copy()
    keep.pop("page", None)
    unsorted = keep.copy()
    unsorted.pop("sort", None)
    acting = can_act(request)
    assignees = reviewers(desk_ids=desk_ids(request.user))
    return {
        "filterset": filterset,
        "filter_form": filterset.form,
        "page_obj": page,
        "alerts": page.object_list,
        "sort": sort,
        "query": keep.urlencode(),
        "query_unsorted": unsorted.urlencode(),
        "reviewer_choices": assignees,
        "desk_choices": desk_list(user=request.user),
        "can_act": acting,
        "bulk_form": BulkAssignForm(alerts=selectors.alert_list(user=request.user), assignees=assignees)
        if acting
        else None,
        "checked": set(),
        "four_eyes_score": settings.SURVEILLANCE_FOUR_EYES_SCORE,
    }


@area_required(Area.SURVEILLANCE)
def alert_queue(request: HttpRequest) -> HttpResponse:
    """The alert queue: filters, sorting by score / action likelihood / age, 50 a page."""
    return render(request, "surveillance/queue.html", _queue_context(request))


@require_POST
@area_required(Area.SURVEILLANCE, write=True)
def alert_assign_bulk(request: HttpRequest) -> HttpResponse:
    """Assign the ticked alerts to one reviewer: all of them, or none with the reason."""
    query = QueryDict(request.POST.get("q", ""))
    form = BulkAssignForm(
        request.POST,
        alerts=selectors.alert_list(user=request.user),
        assignees=reviewers(desk_ids=desk_ids(request.user)),
    )
    if form.is_valid():
        try:
            done = services.alerts_assign(
                alerts=list(form.cleaned_data["alerts"]), assignee=form.cleaned_data["assignee"], user=request.user
            )
        except ApplicationError as exc:
            ids = exc.extra.get("alert_ids")
            message = f"{exc.message} Alerts: {', '.join(f'#{i}' for i in ids)}." if ids else exc.message
            exc_for_form = ApplicationError(f"Nothing assigned. {message}", extra=exc.extra)
            field_errors(form, exc_for_form)
        else:
            who = form.cleaned_data["assignee"].get_username()
            messages.success(request, f"{len(done)} alert{'s' if len(done) != 1 else ''} assigned to {who}.")
            return redirect(f"{reverse('surveillance:index')}?{query.urlencode()}")
    ctx = _queue_context(request, query)
    ctx["bulk_form"] = form
    ctx["checked"] = set(request.POST.getlist("alerts"))
    return render(request, "surveillance/queue.html", ctx, status=400)


@area_required(Area.SURVEILLANCE)
def alert_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered queue (every page, same order) as CSV; times UTC ISO 8601."""
    _, qs, _ = _queue_rows(request, _queue_params(request))
    header = [
        "id", "scenario", "score", "action_probability", "state", "outcome", "proposal_pending", "assignee",
        "desk", "account", "owner", "instrument", "window_start", "window_end", "occurrences", "created_at",
        "closed_at", "case", "summary",
    ]  # fmt: skip

    def rows() -> Iterator[list[Any]]:
        for a in qs[:CSV_MAX_ROWS].iterator(chunk_size=2000):
            yield [
                a.pk, a.scenario, f"{a.score:.2f}",
                "" if a.action_probability is None else f"{a.action_probability:.4f}",
                a.state, a.outcome, a.proposal_pending, a.assignee.get_username() if a.assignee else "",
                a.desk.code, a.account.code, a.account.owner.name,
                a.instrument.symbol if a.instrument else "",
                a.window_start.isoformat(), a.window_end.isoformat(), a.occurrences, a.created_at.isoformat(),
                a.closed_at.isoformat() if a.closed_at else "", a.case.reference if a.case else "",
                a.summary,
            ]  # fmt: skip

    return stream(csv_lines(header, rows()), "text/csv; charset=utf-8", "surveillance-alerts.csv")


# ---------------------------------------------------------------------------- one alert

# The forms of the alert page by key; each is rendered with its key as prefix, so the fields of
# several forms on one page never share an id.
CLOSE, ESCALATE, APPROVE, REJECT, ASSIGN, COMMENT, CASE_ADD, CASE_NEW = (
    "close", "escalate", "approve", "reject", "assign", "comment", "case_add", "case_new",
)  # fmt: skip
FORM_OF_ACTION = {
    "close": CLOSE,
    "propose_close": CLOSE,
    "escalate": ESCALATE,
    "approve": APPROVE,
    "reject": REJECT,
    "assign": ASSIGN,
    "comment": COMMENT,
    "case_add": CASE_ADD,
    "case_new": CASE_NEW,
}


def _open_cases(request: HttpRequest, alert: Alert) -> QuerySet[Case]:
    return selectors.case_list(user=request.user).filter(desk_id=alert.desk_id, state=Case.State.OPEN)


def _alert_form(key: str, request: HttpRequest, alert: Alert, data: Any = None) -> forms.Form:
    if key == CLOSE:
        return CloseForm(data, prefix=key)
    if key in (ESCALATE, REJECT):
        return RationaleForm(data, prefix=key)
    if key == APPROVE:
        return ApproveForm(data, prefix=key)
    if key == ASSIGN:
        return AssignForm(
            data, prefix=key, assignees=reviewers(desk_ids=[alert.desk_id]), initial={"assignee": alert.assignee_id}
        )
    if key == COMMENT:
        return CommentForm(data, prefix=key)
    if key == CASE_ADD:
        return CaseAddForm(data, prefix=key, cases=_open_cases(request, alert))
    return CaseNewForm(data, prefix=key, initial={"title": f"{alert.get_scenario_display()} · {alert.account.code}"})


def _alert_forms(request: HttpRequest, alert: Alert, bound: dict[str, forms.Form]) -> dict[str, Any]:
    """The forms valid for the alert's state and the user's role (none for auditors)."""
    user = request.user
    if not can_act(request):
        return {}
    keys = [COMMENT]
    if alert.is_open:
        keys.append(ASSIGN)
        if alert.state == Alert.State.IN_REVIEW:
            keys.append(ESCALATE)
        if alert.state in CLOSABLE_STATES and not alert.proposal_pending:
            keys.append(CLOSE)
        if alert.proposal_pending and is_supervisor(user) and alert.proposed_by_id != user.pk:
            keys += [APPROVE, REJECT]
    if alert.case_id is None:
        keys.append(CASE_NEW)
        if _open_cases(request, alert).exists():
            keys.append(CASE_ADD)
    found = {k: bound.get(k) or _alert_form(k, request, alert) for k in keys}
    # A bound form of an action no longer offered (the state moved on) still shows its errors.
    found.update(bound)
    return found


def _alert_context(request: HttpRequest, alert: Alert, bound: dict[str, forms.Form] | None = None) -> dict[str, Any]:
    evidence = selectors.alert_evidence(alert=alert)
    replay = replay_for(alert)
    explanation = alert.explanation if isinstance(alert.explanation, dict) else {}
    action_explanation = alert.action_explanation if isinstance(alert.action_explanation, dict) else {}
    features = sorted(alert.features.items()) if isinstance(alert.features, dict) else []
    return {
        "alert": alert,
        "owner": alert.account.owner,
        "evidence": evidence,
        "timeline": evidence.timeline[:EVIDENCE_MAX_ROWS],
        "timeline_capped": len(evidence.timeline) > EVIDENCE_MAX_ROWS,
        "replay": replay,
        "replay_chart": charts.replay_chart(replay),
        "shap_chart": charts.shap_chart(explanation),
        "explanation": explanation,
        "action_chart": charts.shap_chart(action_explanation, value_label="Contribution"),
        "action_explanation": action_explanation,
        "features": features,
        "transitions": list(alert.transitions.all()),
        "comments": list(alert.comments.all()),
        "forms": _alert_forms(request, alert, bound or {}),
        "can_act": can_act(request),
        "four_eyes": four_eyes_required(alert=alert),
        "four_eyes_score": settings.SURVEILLANCE_FOUR_EYES_SCORE,
        "is_supervisor": is_supervisor(request.user),
        "closable": alert.state in CLOSABLE_STATES,
    }


@area_required(Area.SURVEILLANCE)
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One alert: header, evidence, replay, explanations, history and the review actions."""
    alert = alert_or_404(request, pk)
    return render(request, "surveillance/alert_detail.html", _alert_context(request, alert))


def _alert_perform(action: str, alert: Alert, data: dict[str, Any], user: Any) -> str:
    """Run one action through its service; the success message."""
    if action in ("close", "propose_close"):
        fn = services.alert_close if action == "close" else services.alert_close_propose
        fn(alert=alert, user=user, outcome=data["outcome"], rationale=data["rationale"])
        label = Alert.Outcome(data["outcome"]).label
        if action == "close":
            return f"Alert {alert.pk} closed: {label}."
        return f"Closing proposed ({label}): a compliance supervisor other than you approves or rejects it."
    if action == "escalate":
        services.alert_escalate(alert=alert, user=user, rationale=data["rationale"])
        return f"Alert {alert.pk} escalated."
    if action == "approve":
        services.alert_close_approve(alert=alert, user=user, rationale=data["rationale"])
        return f"Proposal approved: alert {alert.pk} closed."
    if action == "reject":
        services.alert_close_reject(alert=alert, user=user, rationale=data["rationale"])
        return "Proposal rejected: the alert stays open."
    if action == "assign":
        services.alert_assign(alert=alert, assignee=data["assignee"], user=user)
        return f"Alert {alert.pk} assigned to {data['assignee'].get_username()}."
    if action == "comment":
        services.alert_comment_add(alert=alert, user=user, body=data["body"])
        return "Comment added."
    if action == "case_add":
        services.case_alerts_add(case=data["case"], alerts=[alert], user=user)
        return f"Alert {alert.pk} added to {data['case'].reference}."
    case = services.case_create(user=user, title=data["title"], description=data["description"], alerts=[alert])
    return f"Case {case.reference} opened with alert {alert.pk}."


@require_POST
@area_required(Area.SURVEILLANCE, write=True)
def alert_act(request: HttpRequest, pk: int) -> HttpResponse:
    """POST ``action`` (start_review, assign, escalate, close, propose_close, approve, reject,
    comment, case_add, case_new) with its form's fields; errors come back on that form (400)."""
    alert = alert_or_404(request, pk)
    action = request.POST.get("action", "")
    here = reverse("surveillance:alert_detail", args=[alert.pk])
    if action == "start_review":
        try:
            services.alert_review_start(alert=alert, user=request.user)
        except NotFound:
            raise Http404("No such alert.") from None
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Review of alert {alert.pk} started.")
        return redirect(here)
    key = FORM_OF_ACTION.get(action)
    if key is None:
        messages.error(request, "Unknown action.")
        return redirect(here)
    form = _alert_form(key, request, alert, request.POST)
    if form.is_valid():
        try:
            done = _alert_perform(action, alert, form.cleaned_data, request.user)
        except NotFound:
            raise Http404("No such alert.") from None
        except ApplicationError as exc:
            field_errors(form, exc)
        else:
            messages.success(request, done)
            if action == "case_new":
                alert.refresh_from_db(fields=["case"])
                if alert.case_id:
                    return redirect("surveillance:case_detail", pk=alert.case_id)
            return redirect(here)
    alert = alert_or_404(request, pk)  # the state as it is now (another reviewer may have acted)
    ctx = _alert_context(request, alert, {key: form})
    ctx["failed_action"] = key
    return render(request, "surveillance/alert_detail.html", ctx, status=400)
