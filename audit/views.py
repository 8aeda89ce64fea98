"""The audit viewer for auditors (and superusers): list with filters, detail, CSV, chain check.

The list pages by id (keyset) rather than by page number: the trail only grows, a page
never shifts under the reader while new events arrive, and a page deep in millions of rows
costs the same as the first (no OFFSET, no COUNT).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views import View
from django.views.generic import DetailView, TemplateView

from audit.exports import audit_events_csv
from audit.filters import AuditEventFilterSet
from audit.models import AuditEvent
from audit.selectors import LIST_FIELDS, audit_event_list
from audit.services import audit_chain_head, audit_chain_verify, audit_event_verify, audit_record
from core.permissions import AreaRequiredMixin
from core.roles import Area

PAGE_SIZE = 50
_CURSOR_PARAMS = ("before", "after")


@dataclass(frozen=True)
class KeysetPage:
    """One page of events, newest first, with the ids that open its neighbours."""

    events: list[AuditEvent]
    newer_than: int | None  # pass as ?after= to open the newer page, when there is one
    older_than: int | None  # pass as ?before= to open the older page, when there is one


def _positive_int(value: str | None) -> int | None:
    # isdigit() alone also accepts digits int() refuses ("²"): ASCII digits only.
    return int(value) if value and value.isascii() and value.isdigit() else None


def keyset_page(queryset: QuerySet[AuditEvent], *, before: int | None, after: int | None, size: int) -> KeysetPage:
    """The page just older than ``before``, just newer than ``after``, or the newest page."""
    if after is not None:
        events = list(queryset.filter(id__gt=after).order_by("id")[:size])[::-1]
    else:
        window = queryset.filter(id__lt=before) if before is not None else queryset
        events = list(window.order_by("-id")[:size])
    if not events:
        return KeysetPage(events=[], newer_than=None, older_than=None)
    newest, oldest = events[0].pk, events[-1].pk
    return KeysetPage(
        events=events,
        newer_than=newest if queryset.filter(id__gt=newest).exists() else None,
        older_than=oldest if queryset.filter(id__lt=oldest).exists() else None,
    )


def _filter_query(params: QueryDict, **extra: int) -> str:
    """The current filters as a query string, without the page cursor, plus ``extra``."""
    query = params.copy()
    for key in _CURSOR_PARAMS:
        query.pop(key, None)
    for key, value in extra.items():
        query[key] = str(value)
    return query.urlencode()


class AuditEventListView(AreaRequiredMixin, TemplateView):
    """The filtered trail, newest first, 50 events a page."""

    area = Area.AUDIT
    template_name = "audit/event_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        params = self.request.GET
        filterset = AuditEventFilterSet(params, queryset=audit_event_list().only(*LIST_FIELDS))
        # An invalid filter shows its error and no rows: silently dropping it (django-filter's
        # default) would show an auditor more than they asked for without saying so.
        valid = filterset.is_valid()
        page = (
            keyset_page(
                filterset.qs,
                before=_positive_int(params.get("before")),
                after=_positive_int(params.get("after")),
                size=PAGE_SIZE,
            )
            if valid
            else KeysetPage(events=[], newer_than=None, older_than=None)
        )
        filtered = any(params.get(name) for name in filterset.filters)
        ctx.update(
            filter=filterset,
            form=filterset.form,
            valid=valid,
            page=page,
            filtered=filtered,
            trail_empty=not filtered and not page.events and not AuditEvent.objects.exists(),
            filter_query=_filter_query(params),
            newer_query=_filter_query(params, after=page.newer_than) if page.newer_than else "",
            older_query=_filter_query(params, before=page.older_than) if page.older_than else "",
        )
        return ctx


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) if value is not None else ""


class AuditEventDetailView(AreaRequiredMixin, DetailView):  # type: ignore[type-arg]
    """One event in full: payloads, inputs hash, code version and its place in the chain."""

    area = Area.AUDIT
    template_name = "audit/event_detail.html"
    context_object_name = "event"

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return audit_event_list()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        event: AuditEvent = self.object
        ctx.update(
            payloads=[
                ("Before", _pretty(event.before)),
                ("After", _pretty(event.after)),
                ("Parameters", _pretty(event.parameters)),
                ("Explanation", _pretty(event.explanation)),
            ],
            row_check=audit_event_verify(event=event),
            previous_id=AuditEvent.objects.filter(id__lt=event.pk).order_by("-id").values_list("id", flat=True).first(),
            next_id=AuditEvent.objects.filter(id__gt=event.pk).order_by("id").values_list("id", flat=True).first(),
        )
        return ctx


class AuditEventExportView(AreaRequiredMixin, View):
    """The filtered list as CSV, oldest first, streamed (no row limit, constant memory).

    The export itself is audited (action ``audit.export``, with the filters); rows written
    after the export starts, that event included, are not part of the file.
    """

    area = Area.AUDIT

    def get(self, request: HttpRequest) -> HttpResponseBase:
        filterset = AuditEventFilterSet(request.GET, queryset=audit_event_list())
        if not filterset.is_valid():
            errors = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in filterset.errors.items())
            return HttpResponse(f"Invalid filter: {errors}\n", status=400, content_type="text/plain; charset=utf-8")
        head = audit_chain_head()
        events = filterset.qs.filter(id__lte=head[0] if head else 0).order_by("id")
        filters = {name: value for name, value in request.GET.items() if name in filterset.filters and value}
        audit_record(action="audit.export", actor=request.user, object_type="audit.auditevent", parameters=filters)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response = StreamingHttpResponse(audit_events_csv(events), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-events-{stamp}.csv"'
        return response


class AuditChainVerifyView(AreaRequiredMixin, View):
    """Recompute the whole chain on demand (POST: it is expensive, so never on a prefetch).

    Answers the result fragment to htmx, the full page otherwise (works without JavaScript).
    The time grows linearly with the trail (tens of thousands of rows a second);
    ``manage.py audit_verify`` is the tool for scheduled checks.
    """

    area = Area.AUDIT

    def post(self, request: HttpRequest) -> HttpResponse:
        started = timezone.now()
        # Read before the pass, so the head shown is one the pass is sure to have covered.
        head = audit_chain_head()
        checked, broken = audit_chain_verify()
        ctx = {
            "checked": checked,
            "broken": broken,
            "head": head if broken is None else None,
            "verified_at": started,
            "seconds": (timezone.now() - started).total_seconds(),
        }
        template = "audit/_verify_result.html" if getattr(request, "htmx", False) else "audit/verify.html"
        return render(request, template, ctx)
