"""Surveillance reads shared by views and API: alerts and cases scoped to the user's desks.

A user sees the alerts and cases whose desk is one of theirs (superusers see all); anything
else is "not found", never "forbidden", so its existence is not revealed. Times are UTC.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.errors import NotFound, ValidationFailed
from portfolios.models import Order, OrderEvent, Trade
from portfolios.selectors import scope_by_desk
from surveillance.models import Alert, Case

# Ageing buckets of open alerts: (label, lower bound in days inclusive, upper bound exclusive).
AGEING_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("< 1 day", 0, 1),
    ("1–3 days", 1, 3),
    ("3–7 days", 3, 7),
    ("7–30 days", 7, 30),
    ("≥ 30 days", 30, float("inf")),
)


def _pk(value: Any) -> int:
    """A primary key from a URL or form; anything that is not one is simply not found."""
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise NotFound("Not found.") from None
    if not 0 < pk < 2**63:
        raise NotFound("Not found.")
    return pk


def alert_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Alert]:
    """Alerts on the user's desks, highest score first, with account, instrument, assignee and
    desk joined. ``filters`` are the ``AlertFilterSet`` parameters (a query dict or a plain
    dict); invalid ones raise ``ValidationFailed`` naming each field."""
    qs = scope_by_desk(
        user,
        Alert.objects.select_related(
            "account", "account__owner", "instrument", "assignee", "desk", "case", "proposed_by"
        ),
        "desk",
    )
    if filters is None:
        return qs
    from surveillance.filters import AlertFilterSet

    filterset = AlertFilterSet(data=filters, queryset=qs, user=user)
    if not filterset.is_valid():
        raise ValidationFailed("Invalid filter.", extra={"fields": dict(filterset.errors)})
    filtered: QuerySet[Alert] = filterset.qs
    return filtered


def alert_get(*, user: Any, pk: Any) -> Alert:
    """One alert of the user's desks with its transitions and comments; ``NotFound`` otherwise."""
    qs = alert_list(user=user).prefetch_related("transitions__actor", "comments__author")
    alert = qs.filter(pk=_pk(pk)).first()
    if alert is None:
        raise NotFound("Not found.")
    return alert


def case_list(*, user: Any) -> QuerySet[Case]:
    """Cases on the user's desks, newest first, with ``alert_count`` and ``open_alert_count``."""
    qs = Case.objects.select_related("desk", "created_by", "stor_proposed_by", "stor_filed_by").annotate(
        alert_count=Count("alerts", distinct=True),
        open_alert_count=Count("alerts", filter=~Q(alerts__state=Alert.State.CLOSED), distinct=True),
    )
    return scope_by_desk(user, qs, "desk")


def case_get(*, user: Any, pk: Any) -> Case:
    """One case of the user's desks (alerts prefetched, highest score first); ``NotFound`` otherwise."""
    alerts = Alert.objects.select_related("account", "instrument", "assignee").order_by("-score", "id")
    case = case_list(user=user).prefetch_related(Prefetch("alerts", queryset=alerts)).filter(pk=_pk(pk)).first()
    if case is None:
        raise NotFound("Not found.")
    return case


# ---------------------------------------------------------------------------- evidence


@dataclass(frozen=True)
class EvidenceItem:
    """One line of an alert's timeline: an order event or a trade, at its UTC time."""

    ts: datetime
    kind: str  # "order_event" | "trade"
    obj: Any


@dataclass(frozen=True)
class Evidence:
    """The orders (each with ``events`` prefetched in sequence order) and trades an alert names,
    each list ordered by time, plus one merged timeline of order events and trades."""

    orders: list[Order]
    trades: list[Trade]
    timeline: list[EvidenceItem] = field(default_factory=list)


def alert_evidence(*, alert: Alert) -> Evidence:
    """The evidence rows named in ``order_ids``/``trade_ids``.

    Not desk-scoped on purpose: reaching the alert is the check, and an episode may involve a
    counterparty's orders on another desk (a wash trade, front running of a client order).
    """
    order_ids = [int(i) for i in alert.order_ids or [] if str(i).lstrip("-").isdigit()]
    trade_ids = [int(i) for i in alert.trade_ids or [] if str(i).lstrip("-").isdigit()]
    events = OrderEvent.objects.order_by("sequence", "ts")
    orders = list(
        Order.objects.filter(pk__in=order_ids)
        .select_related("account", "instrument")
        .prefetch_related(Prefetch("events", queryset=events))
        .order_by("arrival_ts", "id")
    )
    trades = list(
        Trade.objects.filter(pk__in=trade_ids)
        .select_related("account", "counterparty_account", "instrument", "order")
        .order_by("ts", "id")
    )
    timeline = [EvidenceItem(ts=e.ts, kind="order_event", obj=e) for o in orders for e in o.events.all()]
    timeline += [EvidenceItem(ts=t.ts, kind="trade", obj=t) for t in trades]
    timeline.sort(key=lambda item: (item.ts, 0 if item.kind == "order_event" else 1))
    return Evidence(orders=orders, trades=trades, timeline=timeline)


# ---------------------------------------------------------------------------- dashboard


@dataclass(frozen=True)
class CloseTime:
    """Time from raising to closing of the alerts of one scenario closed in the window, hours."""

    n: int
    median_hours: float
    p90_hours: float


@dataclass(frozen=True)
class AlertStats:
    """Dashboard figures over the last ``days`` days (UTC calendar days, today included).

    ``per_day``: ``{day: {scenario: count}}`` of alerts raised, every day of the window present
    (empty dict when none); ``open_by_state``: count per open state (zeros included);
    ``time_to_close``: per scenario, over alerts closed in the window (numpy's linear-interpolation
    percentiles); ``ageing``: open alerts per ``AGEING_BUCKETS`` label, in bucket order;
    ``outcomes``: closed-in-window alerts per outcome.
    """

    days: int
    per_day: dict[date, dict[str, int]]
    scenarios: list[str]
    open_by_state: dict[str, int]
    total_open: int
    time_to_close: dict[str, CloseTime]
    ageing: dict[str, int]
    outcomes: dict[str, int]


def alert_stats(*, user: Any, days: int = 30) -> AlertStats:
    """Counts and timings of the user's alerts for the surveillance dashboard."""
    days = max(1, min(int(days), 3660))
    now = timezone.now()
    first_day = now.date() - timedelta(days=days - 1)
    scoped = alert_list(user=user).order_by()

    per_day: dict[date, dict[str, int]] = {first_day + timedelta(days=k): {} for k in range(days)}
    rows = (
        scoped.filter(created_at__date__gte=first_day)
        .annotate(day=TruncDate("created_at"))
        .values("day", "scenario")
        .annotate(n=Count("id"))
    )
    for row in rows:
        per_day.setdefault(row["day"], {})[row["scenario"]] = row["n"]
    scenarios = sorted({s for counts in per_day.values() for s in counts})

    open_qs = scoped.exclude(state=Alert.State.CLOSED)
    open_by_state = {s: 0 for s in Alert.State.values if s != Alert.State.CLOSED}
    for state, n in open_qs.values_list("state").annotate(n=Count("id")):
        open_by_state[state] = n

    ageing = {label: 0 for label, _, _ in AGEING_BUCKETS}
    for created in open_qs.values_list("created_at", flat=True):
        assert created is not None  # auto_now_add
        age_days = (now - created).total_seconds() / 86400
        for label, low, high in AGEING_BUCKETS:
            if low <= age_days < high:
                ageing[label] += 1
                break

    durations: dict[str, list[float]] = defaultdict(list)
    outcomes: Counter[str] = Counter()
    closed = scoped.filter(state=Alert.State.CLOSED, closed_at__date__gte=first_day)
    for scenario, outcome, created, closed_at in closed.values_list("scenario", "outcome", "created_at", "closed_at"):
        if closed_at is None:  # closed by hand outside the workflow: no duration to count
            continue
        durations[scenario].append(max(0.0, (closed_at - created).total_seconds() / 3600))
        outcomes[outcome] += 1
    time_to_close = {
        s: CloseTime(n=len(v), median_hours=float(np.percentile(v, 50)), p90_hours=float(np.percentile(v, 90)))
        for s, v in sorted(durations.items())
    }
    return AlertStats(
        days=days,
        per_day=per_day,
        scenarios=scenarios,
        open_by_state=open_by_state,
        total_open=sum(open_by_state.values()),
        time_to_close=time_to_close,
        ageing=ageing,
        outcomes=dict(outcomes),
    )
