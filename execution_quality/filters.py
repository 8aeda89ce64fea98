"""Best execution filter sets, shared by the browser pages and the API.

One ``TcaOrderFilterSet`` serves the TCA dashboard and ``GET /api/v1/tca/orders``, and one
``TcaExecutionFilterSet`` serves ``GET /api/v1/tca/executions``, so a filter added here works
everywhere. Dates are UTC calendar days, both ends included (``date_from`` 2024-03-01 and
``date_to`` 2024-03-31 keep the whole of March).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import django_filters as df
from django.db.models import Q, QuerySet

from execution_quality.models import TcaExecutionResult, TcaOrderResult
from portfolios.models import Order, Side

MAX_CODE_LENGTH = 64  # symbols, venues, brokers and codes are at most this long in the shared model


def day_start(day: date) -> datetime:
    """00:00 UTC of ``day``: date filters compare timestamps, so the (desk, arrival) index is used."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def _clean(value: str) -> str:
    # PostgreSQL refuses NUL in text parameters; a filter value with one matches nothing.
    return value.strip() if "\x00" not in value else "\x01never"


class _DateRange(df.FilterSet):  # type: ignore[misc]  # django-filter ships no type hints
    """``date_from`` / ``date_to`` on a timestamp column named by ``ts_field``."""

    ts_field = "arrival_ts"

    date_from = df.DateFilter(method="filter_date_from", label="From (UTC day, included)")
    date_to = df.DateFilter(method="filter_date_to", label="To (UTC day, included)")

    def filter_date_from(self, queryset: QuerySet[Any], name: str, value: date | None) -> QuerySet[Any]:
        return queryset.filter(**{f"{self.ts_field}__gte": day_start(value)}) if value else queryset

    def filter_date_to(self, queryset: QuerySet[Any], name: str, value: date | None) -> QuerySet[Any]:
        if not value:
            return queryset
        if value >= date.max:  # the last representable day: every order lies before its end
            return queryset
        return queryset.filter(**{f"{self.ts_field}__lt": day_start(value) + timedelta(days=1)})

    def _text(self, queryset: QuerySet[Any], field: str, value: str) -> QuerySet[Any]:
        return queryset.filter(**{field: _clean(value)}) if value and value.strip() else queryset

    def is_valid(self) -> bool:
        ok = bool(super().is_valid())
        if ok:
            lo, hi = self.form.cleaned_data.get("date_from"), self.form.cleaned_data.get("date_to")
            if lo and hi and lo > hi:
                self.form.add_error("date_to", "Must not be before date_from.")
                return False
        return ok


class TcaOrderFilterSet(_DateRange):
    """Filters of TCA order results (one row per parent order).

    ``instrument`` is a symbol, ``venue`` and ``broker`` the order's main venue/broker (the one
    with the largest filled quantity), ``poor`` keeps (``true``) or drops (``false``) orders whose
    cost exceeded the cost model's expectation by more than ``TCA_POOR_MARGIN_BPS``; ``min_cost_bps``
    and ``max_cost_bps`` bound the cost against the arrival price (bps, positive = cost).
    """

    instrument = df.CharFilter(method="filter_instrument", label="Instrument symbol", max_length=MAX_CODE_LENGTH)
    venue = df.CharFilter(method="filter_venue", label="Venue", max_length=MAX_CODE_LENGTH)
    broker = df.CharFilter(method="filter_broker", label="Broker", max_length=MAX_CODE_LENGTH)
    side = df.ChoiceFilter(choices=Side.choices)
    order_type = df.ChoiceFilter(choices=Order.Type.choices)
    desk = df.CharFilter(method="filter_desk", label="Desk code", max_length=MAX_CODE_LENGTH)
    account = df.CharFilter(method="filter_account", label="Account code", max_length=MAX_CODE_LENGTH)
    poor = df.BooleanFilter(field_name="poor_execution", label="Poor executions only")
    min_cost_bps = df.NumberFilter(field_name="cost_arrival_bps", lookup_expr="gte", label="Cost vs arrival ≥ (bps)")
    max_cost_bps = df.NumberFilter(field_name="cost_arrival_bps", lookup_expr="lte", label="Cost vs arrival ≤ (bps)")

    class Meta:
        model = TcaOrderResult
        fields = ["side", "order_type"]

    def filter_instrument(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return self._text(queryset, "instrument__symbol", value)

    def filter_venue(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return self._text(queryset, "venue", value)

    def filter_broker(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return self._text(queryset, "broker", value)

    def filter_desk(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return self._text(queryset, "desk__code", value)

    def filter_account(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return self._text(queryset, "account__code", value)


class TcaExecutionFilterSet(_DateRange):
    """Filters of TCA execution results (one row per fill); dates apply to the fill time.

    ``order`` is a parent order id; ``outside_quote`` keeps fills printed outside the prevailing
    bid/ask (``true``) or inside it (``false``).
    """

    ts_field = "ts"

    instrument = df.CharFilter(method="filter_instrument", label="Instrument symbol", max_length=MAX_CODE_LENGTH)
    venue = df.CharFilter(method="filter_venue", label="Venue", max_length=MAX_CODE_LENGTH)
    broker = df.CharFilter(method="filter_broker", label="Broker", max_length=MAX_CODE_LENGTH)
    side = df.ChoiceFilter(field_name="order_result__side", choices=Side.choices)
    order = df.NumberFilter(method="filter_order", label="Parent order id", min_value=1, max_value=2**63 - 1)
    outside_quote = df.BooleanFilter(field_name="outside_quote", label="Outside the quote")

    class Meta:
        model = TcaExecutionResult
        fields = ["outside_quote"]

    def filter_instrument(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return self._text(queryset, "order_result__instrument__symbol", value)

    def filter_venue(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return self._text(queryset, "venue", value)

    def filter_broker(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return self._text(queryset, "broker", value)

    def filter_order(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        return queryset.filter(Q(order_result__order_id=int(value))) if value is not None else queryset
