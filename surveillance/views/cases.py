"""Case pages: the list, one case with its alerts and STOR draft, the STOR downloads.

Analysts and supervisors edit the draft while it is not filed; filing needs a compliance
supervisor other than the person who proposed it (the services decide, the page shows why).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import ApplicationError, NotFound
from core.permissions import area_required
from core.roles import Area
from surveillance import selectors, services, stor
from surveillance.forms import RationaleForm, StorForm
from surveillance.models import Case
from surveillance.services.workflow import is_supervisor
from surveillance.views.common import PAGE_SIZE, can_act, case_or_404, field_errors

# Draft fields edited in a text area rather than a one-line box.
MULTILINE = frozenset(
    {"nature_of_suspicion", "transactions_note", "additional_information", "documentation", "entity_address",
     "person_address", "capacity", "person_employment"}
)  # fmt: skip
PROPOSE, CLOSE_CASE, REJECT = "propose", "close_case", "reject"


DONE = {
    PROPOSE: "STOR proposed: a compliance supervisor other than you files it.",
    REJECT: "STOR proposal rejected: the draft can be edited again.",
    CLOSE_CASE: "Case closed without filing.",
}


def _stor_form(case: Case, draft: dict[str, Any], data: Any = None) -> StorForm:
    fields = [
        (f.key, f.label, str(draft.get(f.section, {}).get(f.key, "") or ""), f.key in MULTILINE)
        for f in stor.STOR_FIELDS
    ]
    return StorForm(data, fields=fields, prefix="stor")


def _sections(form: forms.Form | None, draft: dict[str, Any]) -> list[dict[str, Any]]:
    """The draft's sections with their form fields (or read-only values when no form)."""
    out = []
    for key, title in stor.SECTIONS.items():
        keys = [f.key for f in stor.STOR_FIELDS if f.section == key]
        out.append(
            {
                "key": key,
                "title": title,
                "fields": [form[k] for k in keys] if form is not None else [],
                "values": [(f.label, draft.get(key, {}).get(f.key, "")) for f in stor.STOR_FIELDS if f.key in keys],
            }
        )
    return out


def _case_context(request: HttpRequest, case: Case, bound: dict[str, forms.Form] | None = None) -> dict[str, Any]:
    bound = bound or {}
    draft = stor.stor_draft(case)
    user = request.user
    acting = can_act(request)
    is_open = case.state == Case.State.OPEN
    editable = acting and is_open and case.stor_status == Case.StorStatus.NONE
    stor_form = bound.get("stor") or (_stor_form(case, draft) if editable else None)
    # Why the user cannot decide on a proposed STOR (the services refuse the same cases).
    decision_blocked = ""
    if case.stor_status == Case.StorStatus.PROPOSED:
        if not is_supervisor(user):
            decision_blocked = "A compliance supervisor files or rejects it."
        elif case.stor_proposed_by_id == user.pk:
            decision_blocked = "You proposed this STOR: another supervisor files or rejects it."
    proposed = is_open and case.stor_status == Case.StorStatus.PROPOSED
    return {
        "case": case,
        "alerts": list(case.alerts.all()),
        "draft": draft,
        "sections": _sections(stor_form, draft),
        "transactions": draft.get("section_2_transactions", {}),
        "stor_form": stor_form,
        "propose_form": bound.get(PROPOSE) or RationaleForm(prefix=PROPOSE) if editable else None,
        "close_form": bound.get(CLOSE_CASE) or RationaleForm(prefix=CLOSE_CASE)
        if acting and is_open and not proposed
        else None,
        "reject_form": bound.get(REJECT) or RationaleForm(prefix=REJECT)
        if acting and proposed and not decision_blocked
        else None,
        "can_act": acting,
        "editable": editable,
        "can_decide": acting and proposed and not decision_blocked,
        "decision_blocked": decision_blocked if acting and proposed else "",
    }


@area_required(Area.SURVEILLANCE)
def case_list(request: HttpRequest) -> HttpResponse:
    """Cases of the user's desks, newest first, 50 a page."""
    qs = selectors.case_list(user=request.user).order_by("-created_at", "-id")
    state = request.GET.get("state", "")
    if state in Case.State.values:
        qs = qs.filter(state=state)
    else:
        state = ""
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    ctx = {"page_obj": page, "cases": page.object_list, "state": state, "query": f"state={state}" if state else ""}
    return render(request, "surveillance/case_list.html", ctx)


@area_required(Area.SURVEILLANCE)
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_or_404(request, pk)
    return render(request, "surveillance/case_detail.html", _case_context(request, case))


@require_POST
@area_required(Area.SURVEILLANCE, write=True)
def case_stor_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the edited fields of the STOR draft (only fields that differ from the draft)."""
    case = case_or_404(request, pk)
    draft = stor.stor_draft(case)
    form = _stor_form(case, draft, request.POST)
    if form.is_valid():
        changed = {k: v for k, v in form.cleaned_data.items() if k in form.changed_data}
        try:
            services.case_stor_update(case=case, user=request.user, fields=changed)
        except NotFound:
            raise Http404("No such case.") from None
        except ApplicationError as exc:
            field_errors(form, exc)
        else:
            n = len(changed)
            messages.success(request, f"STOR draft saved ({n} field{'s' if n != 1 else ''} changed).")
            return redirect(f"{reverse('surveillance:case_detail', args=[case.pk])}#stor")
    case = case_or_404(request, pk)
    return render(request, "surveillance/case_detail.html", _case_context(request, case, {"stor": form}), status=400)


@require_POST
@area_required(Area.SURVEILLANCE, write=True)
def case_act(request: HttpRequest, pk: int) -> HttpResponse:
    """POST ``action``: propose (the STOR, with rationale), file or reject (a second supervisor),
    close_case (without filing)."""
    case = case_or_404(request, pk)
    action = request.POST.get("action", "")
    here = reverse("surveillance:case_detail", args=[case.pk])
    if action == "file":
        try:
            services.case_stor_file(case=case, user=request.user)
        except NotFound:
            raise Http404("No such case.") from None
        except ApplicationError as exc:
            messages.error(request, f"Not filed: {exc.message}")
        else:
            messages.success(request, f"STOR of {case.reference} filed; its open alerts are closed as STOR filed.")
        return redirect(here)
    if action not in (PROPOSE, CLOSE_CASE, REJECT):
        messages.error(request, "Unknown action.")
        return redirect(here)
    form = RationaleForm(request.POST, prefix=action)
    if form.is_valid():
        rationale = form.cleaned_data["rationale"]
        try:
            service = {
                PROPOSE: services.case_stor_propose,
                REJECT: services.case_stor_reject,
                CLOSE_CASE: services.case_close,
            }[action]
            service(case=case, user=request.user, rationale=rationale)
        except NotFound:
            raise Http404("No such case.") from None
        except ApplicationError as exc:
            field_errors(form, exc)
        else:
            messages.success(request, DONE[action])
            return redirect(here)
    case = case_or_404(request, pk)
    return render(request, "surveillance/case_detail.html", _case_context(request, case, {action: form}), status=400)


def _stor_download(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    case = case_or_404(request, pk)
    name = f"{case.reference}-stor.{fmt}"
    if fmt == "pdf":
        response = HttpResponse(stor.stor_pdf(case), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{name}"'
        return response
    if fmt == "json":
        response = HttpResponse(stor.stor_json(case), content_type="application/json; charset=utf-8")
    else:
        response = HttpResponse(stor.stor_xml(case), content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@area_required(Area.SURVEILLANCE)
def case_stor_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return _stor_download(request, pk, "pdf")


@area_required(Area.SURVEILLANCE)
def case_stor_json(request: HttpRequest, pk: int) -> HttpResponse:
    return _stor_download(request, pk, "json")


@area_required(Area.SURVEILLANCE)
def case_stor_xml(request: HttpRequest, pk: int) -> HttpResponse:
    return _stor_download(request, pk, "xml")
