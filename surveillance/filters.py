"""Surveillance filter sets, shared by the browser list views and the API.

One ``AlertFilterSet`` serves the alert queue page and ``GET /api/v1/surveillance/alerts``, so
a filter added here works in both. Dates are UTC calendar days.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import django_filters as df
from django.core.validators import RegexValidator
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from surveillance.models import Alert, Scenario

OPEN = "open"
_STATE_CHOICES = [(OPEN, "Open (not closed)"), *Alert.State.choices]


class AlertFilterSet(df.FilterSet):
    """Filters of the alert queue.

    ``assignee`` takes a user id, ``me`` (the requesting user) or ``none`` (unassigned);
    ``age`` keeps alerts open for at least that many days (open ones counted to now, closed
    ones from raising to closing); ``state=open`` means every state but closed.
    """

    scenario = df.MultipleChoiceFilter(choices=Scenario.choices)
    state = df.MultipleChoiceFilter(choices=_STATE_CHOICES, method="filter_state")
    min_score = df.NumberFilter(field_name="score", lookup_expr="gte", label="Minimum score")
    max_score = df.NumberFilter(field_name="score", lookup_expr="lte", label="Maximum score")
    assignee = df.CharFilter(
        method="filter_assignee",
        label="Assignee (user id, me or none)",
        validators=[RegexValidator(r"^\s*(\d{1,18}|me|none)\s*$", "Give a user id, 'me' or 'none'.", flags=re.I)],
    )
    desk = df.CharFilter(field_name="desk__code", label="Desk code")
    account = df.CharFilter(field_name="account__code", label="Account code")
    instrument = df.CharFilter(field_name="instrument__symbol", label="Instrument symbol")
    age = df.NumberFilter(method="filter_age", label="Open for at least (days)", min_value=0, max_value=36500)
    created_after = df.DateFilter(field_name="created_at", lookup_expr="date__gte", label="Raised on or after")
    created_before = df.DateFilter(field_name="created_at", lookup_expr="date__lte", label="Raised on or before")
    case = df.NumberFilter(field_name="case_id", label="Case id")

    class Meta:
        model = Alert
        fields = ["scenario", "state", "min_score", "max_score", "assignee", "desk", "case"]

    def __init__(self, data: Any = None, queryset: Any = None, *, request: Any = None, user: Any = None, **kw: Any):
        super().__init__(data, queryset, request=request, **kw)
        # The API passes the request; selectors and tests may pass the user directly.
        self.user = user if user is not None else getattr(request, "user", None)

    def filter_state(self, queryset: QuerySet[Alert], name: str, value: list[str]) -> QuerySet[Alert]:
        if not value:
            return queryset
        states = set(value)
        q = Q(state__in=states - {OPEN})
        if OPEN in states:
            q |= ~Q(state=Alert.State.CLOSED)
        return queryset.filter(q)

    def filter_assignee(self, queryset: QuerySet[Alert], name: str, value: str) -> QuerySet[Alert]:
        value = value.strip().lower()
        if not value:
            return queryset
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "me":
            user = self.user
            if user is None or not user.is_authenticated:
                return queryset.none()
            return queryset.filter(assignee=user)
        return queryset.filter(assignee_id=int(value))  # the field's validator allows digits only

    def filter_age(self, queryset: QuerySet[Alert], name: str, value: Any) -> QuerySet[Alert]:
        if value is None:
            return queryset
        span = timedelta(days=float(value))
        return queryset.filter(
            Q(closed_at__isnull=True, created_at__lte=timezone.now() - span)
            | Q(closed_at__isnull=False, closed_at__gte=F("created_at") + span)
        )
