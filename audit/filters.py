"""The one filter set of the audit trail, shared by the viewer page, its CSV export and the API.

Times are ISO 8601; a time without an offset is read as UTC (the zone every page shows).
``occurred_after`` is inclusive and ``occurred_before`` exclusive, like the other time
filters of the API (``ts_after``/``ts_before``).
"""

from __future__ import annotations

import django_filters as df
from django import forms
from django.db.models import QuerySet

from audit.models import AuditEvent
from core.filters import UtcIsoDateTimeFilter

# datetime-local gives a keyboard-friendly picker and submits "YYYY-MM-DDTHH:MM[:SS]" (no
# offset), which the ISO filter reads as UTC; step=1 lets the user type seconds.
_DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"})


class AuditEventFilterSet(df.FilterSet):  # type: ignore[misc]
    """Filters by who (actor name), what (action), which object, when, and which request."""

    actor = df.CharFilter(
        field_name="actor_name",
        lookup_expr="iexact",
        label="Actor",
        help_text='Username (case-insensitive), "system" or "anonymous".',
    )
    action = df.CharFilter(
        method="filter_action",
        label="Action",
        help_text='Exact action, e.g. "auth.login"; end with * for a prefix, e.g. "auth.*".',
    )
    object_type = df.CharFilter(label="Object type", help_text='App label and model, e.g. "portfolios.portfolio".')
    object_id = df.CharFilter(label="Object id")
    occurred_after = UtcIsoDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="gte",
        label="From (UTC)",
        help_text="Inclusive. ISO 8601; without an offset the time is UTC.",
        widget=_DATETIME_WIDGET,
    )
    occurred_before = UtcIsoDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="lt",
        label="To (UTC)",
        help_text="Exclusive. ISO 8601; without an offset the time is UTC.",
        widget=_DATETIME_WIDGET,
    )
    request_id = df.CharFilter(label="Request id", help_text="The X-Request-ID of the request that wrote the event.")

    class Meta:
        model = AuditEvent
        fields = ["actor", "action", "object_type", "object_id", "occurred_after", "occurred_before", "request_id"]

    def filter_action(self, queryset: QuerySet[AuditEvent], name: str, value: str) -> QuerySet[AuditEvent]:
        """A trailing ``*`` asks for every action under a prefix; otherwise the match is exact."""
        value = value.strip()
        if value.endswith("*"):
            return queryset.filter(action__startswith=value.rstrip("*"))
        return queryset.filter(action=value)
