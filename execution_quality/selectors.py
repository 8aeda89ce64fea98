"""Best execution reads shared by the pages and the API: TCA results scoped to the user's desks,
dashboard aggregates, venue and broker league tables.

A user sees the TCA of orders whose account is on one of their desks (superusers see all);
anything else is "not found", never "forbidden". Costs are in bps, positive = cost to the client;
markouts are positive when the price moved the trade's way (docs/tca-methodology.md). The
MiFID II RTS 28 report lives in ``execution_quality.rts28``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from django.db.models import Avg, Count, F, FloatField, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Cast, ExtractHour

from core.errors import NotFound, ValidationFailed
from execution_quality.engine.types import TcaFlag
from execution_quality.models import TcaExecutionResult, TcaOrderResult
from portfolios.selectors import scope_by_desk

#: Markout horizons stored per execution (seconds), in the order of the model's columns.
MARKOUT_HORIZONS_S: tuple[int, ...] = (1, 5, 60, 300)
#: The dashboard scatter draws at most this many orders (the newest): a browser stays responsive.
COST_VS_SIZE_MAX_POINTS = 2000
#: With many orders the histogram's range is the 1st–99th percentile of costs, so a few outliers
#: (a stale quote, a bad print) do not squash the bulk into one bar; the rest are counted at the
#: edges. Below ``HISTOGRAM_CLIP_MIN_ORDERS`` every order is drawn (min to max).
HISTOGRAM_PERCENTILES = (1.0, 99.0)
HISTOGRAM_CLIP_MIN_ORDERS = 200
#: A fill at the near touch or better is passive, at the far touch or worse aggressive (spread capture).
CAPTURE_TOLERANCE = 1e-9


def flag_names(bits: int) -> list[str]:
    """Names of the ``TcaFlag`` bits set in ``bits`` (why a figure is missing or needs a second look)."""
    return [f.name for f in TcaFlag if f.value and bits & f.value and f.name]


def _pk(value: Any) -> int:
    """A primary key from a URL or form; anything that is not one is simply not found."""
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise NotFound("Not found.") from None
    if not 0 < pk < 2**63:
        raise NotFound("Not found.")
    return pk


def _filtered(filterset_class: Any, qs: QuerySet[Any], filters: Mapping[str, Any] | None) -> QuerySet[Any]:
    if filters is None:
        return qs
    filterset = filterset_class(data=filters, queryset=qs)
    if not filterset.is_valid():
        raise ValidationFailed("Invalid filter.", extra={"fields": dict(filterset.errors)})
    out: QuerySet[Any] = filterset.qs
    return out


# ---------------------------------------------------------------------------- lists


def tca_order_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[TcaOrderResult]:
    """TCA results of parent orders on the user's desks, newest arrival first.

    ``filters`` are ``TcaOrderFilterSet`` parameters (a query dict or a plain dict); invalid ones
    raise ``ValidationFailed`` naming each field.
    """
    from execution_quality.filters import TcaOrderFilterSet

    qs = TcaOrderResult.objects.select_related("order", "instrument", "account", "desk")
    return _filtered(TcaOrderFilterSet, scope_by_desk(user, qs, "desk"), filters)


def tca_order_get(*, user: Any, order_id: Any) -> TcaOrderResult:
    """The TCA of one parent order of the user's desks, its executions (by time) prefetched with
    their trades; ``NotFound`` for an unknown order, one without TCA, or another desk's."""
    executions = TcaExecutionResult.objects.select_related("trade").order_by("ts", "id")
    result = (
        tca_order_list(user=user)
        .prefetch_related(Prefetch("executions", queryset=executions))
        .filter(order_id=_pk(order_id))
        .first()
    )
    if result is None:
        raise NotFound("Not found.")
    return result


def tca_execution_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[TcaExecutionResult]:
    """TCA results of executions of the user's desks' orders, newest first; ``filters`` are
    ``TcaExecutionFilterSet`` parameters."""
    from execution_quality.filters import TcaExecutionFilterSet

    qs = TcaExecutionResult.objects.select_related(
        "trade", "order_result", "order_result__instrument", "order_result__order"
    ).order_by("-ts", "-id")
    return _filtered(TcaExecutionFilterSet, scope_by_desk(user, qs, "order_result__desk"), filters)


# ---------------------------------------------------------------------------- dashboard


def _weighted(num: float | None, den: float | None) -> float | None:
    return float(num) / float(den) if num is not None and den else None


_ORDER_NOTIONAL = Cast("notional", FloatField())
_HAS_COST = Q(cost_arrival_bps__isnull=False)


@dataclass(frozen=True)
class TcaSummary:
    """Headline figures of a set of orders: counts, notional (sum over currencies, as the
    dashboard filters one book at a time) and costs vs arrival (simple and notional-weighted)."""

    orders: int
    fills: int
    notional: float
    avg_cost_arrival_bps: float | None
    weighted_cost_arrival_bps: float | None
    avg_cost_vwap_bps: float | None
    poor: int


def tca_summary(*, orders: QuerySet[TcaOrderResult]) -> TcaSummary:
    """Totals and average costs of ``orders`` (one aggregate query)."""
    agg = orders.order_by().aggregate(
        n=Count("id"),
        fills=Sum("n_fills"),
        notional_sum=Sum(_ORDER_NOTIONAL),
        avg=Avg("cost_arrival_bps"),
        num=Sum(_ORDER_NOTIONAL * F("cost_arrival_bps"), filter=_HAS_COST),
        den=Sum(_ORDER_NOTIONAL, filter=_HAS_COST),
        vwap=Avg("cost_vwap_bps"),
        poor=Count("id", filter=Q(poor_execution=True)),
    )
    return TcaSummary(
        orders=agg["n"] or 0,
        fills=agg["fills"] or 0,
        notional=float(agg["notional_sum"] or 0.0),
        avg_cost_arrival_bps=agg["avg"],
        weighted_cost_arrival_bps=_weighted(agg["num"], agg["den"]),
        avg_cost_vwap_bps=agg["vwap"],
        poor=agg["poor"] or 0,
    )


@dataclass(frozen=True)
class CostHistogram:
    """Counts of orders by cost vs arrival (bps): ``edges`` has one more entry than ``counts``;
    ``below``/``above`` count the orders outside the drawn range (see ``HISTOGRAM_PERCENTILES``)."""

    edges: list[float]
    counts: list[int]
    below: int = 0
    above: int = 0
    n: int = 0


def tca_cost_histogram(*, orders: QuerySet[TcaOrderResult], bins: int = 40) -> CostHistogram:
    """The distribution of cost vs arrival over ``orders`` (orders without a cost left out)."""
    values = np.fromiter(
        orders.order_by().filter(_HAS_COST).values_list("cost_arrival_bps", flat=True), dtype=np.float64
    )
    values = values[np.isfinite(values)]
    if values.size == 0:
        return CostHistogram(edges=[], counts=[])
    if values.size >= HISTOGRAM_CLIP_MIN_ORDERS:
        lo, hi = (float(v) for v in np.percentile(values, HISTOGRAM_PERCENTILES))
    else:
        lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(values, bins=max(1, int(bins)), range=(lo, hi))
    return CostHistogram(
        edges=[float(e) for e in edges],
        counts=[int(c) for c in counts],
        below=int((values < lo).sum()),
        above=int((values > hi).sum()),
        n=int(values.size),
    )


def tca_cost_vs_size(*, orders: QuerySet[TcaOrderResult], limit: int = COST_VS_SIZE_MAX_POINTS) -> list[dict[str, Any]]:
    """Points (order id, symbol, size as a fraction of ADV, cost vs arrival bps, poor flag) of the
    newest ``limit`` orders with both figures; size > 0 so the x axis can be logarithmic."""
    rows = (
        orders.filter(_HAS_COST, size_adv__gt=0)
        .order_by("-arrival_ts", "-id")
        .values("order_id", "instrument__symbol", "size_adv", "cost_arrival_bps", "poor_execution")[: max(0, limit)]
    )
    return [
        {
            "order_id": r["order_id"],
            "symbol": r["instrument__symbol"],
            "size_adv": r["size_adv"],
            "cost_arrival_bps": r["cost_arrival_bps"],
            "poor": r["poor_execution"],
        }
        for r in rows
        if np.isfinite(float(r["size_adv"] or np.nan)) and np.isfinite(float(r["cost_arrival_bps"] or np.nan))
    ]


@dataclass(frozen=True)
class CostGroup:
    """Orders of one venue, broker or hour: count, notional and costs vs arrival (bps)."""

    key: str
    orders: int
    notional: float
    avg_cost_arrival_bps: float | None
    weighted_cost_arrival_bps: float | None
    poor: int


COST_BY_KEYS = ("venue", "broker", "hour")


def tca_cost_by(*, orders: QuerySet[TcaOrderResult], key: str) -> list[CostGroup]:
    """Costs grouped by the orders' main ``venue`` or ``broker``, or by the UTC ``hour`` of arrival
    ("14" = 14:00–14:59 UTC). Venues and brokers come by notional, largest first; hours in order."""
    if key not in COST_BY_KEYS:
        raise ValidationFailed(f"Group by one of {', '.join(COST_BY_KEYS)}.", extra={"fields": {"key": "Unknown."}})
    group = ExtractHour("arrival_ts") if key == "hour" else F(key)
    qs = orders.order_by().annotate(group=group)
    rows = qs.values("group").annotate(
        n=Count("id"),
        notional_sum=Sum(_ORDER_NOTIONAL),
        avg=Avg("cost_arrival_bps"),
        num=Sum(_ORDER_NOTIONAL * F("cost_arrival_bps"), filter=_HAS_COST),
        den=Sum(_ORDER_NOTIONAL, filter=_HAS_COST),
        poor=Count("id", filter=Q(poor_execution=True)),
    )
    groups = [
        CostGroup(
            key=f"{r['group']:02d}" if key == "hour" else (r["group"] or "(none)"),
            orders=r["n"],
            notional=float(r["notional_sum"] or 0.0),
            avg_cost_arrival_bps=r["avg"],
            weighted_cost_arrival_bps=_weighted(r["num"], r["den"]),
            poor=r["poor"],
        )
        for r in rows
    ]
    if key == "hour":
        return sorted(groups, key=lambda g: g.key)
    return sorted(groups, key=lambda g: (-g.notional, g.key))


def tca_poor_list(*, orders: QuerySet[TcaOrderResult], limit: int = 20) -> list[TcaOrderResult]:
    """The worst poor executions: cost beyond expectation, largest excess first."""
    qs = orders.filter(poor_execution=True, cost_arrival_bps__isnull=False, predicted_cost_bps__isnull=False)
    excess = F("cost_arrival_bps") - F("predicted_cost_bps")
    return list(qs.annotate(excess_bps=excess).order_by("-excess_bps", "-id")[: max(0, limit)])


# ---------------------------------------------------------------------------- league tables


@dataclass(frozen=True)
class LeagueRow:
    """One venue or broker over a period.

    Execution-level figures (fills, orders with a fill there, volume, notional, costs, markouts,
    spreads) come from its fills; ``fill_rate`` = filled / ordered quantity of the parent orders
    whose main venue (broker) it is. ``avg_*`` are simple means over fills, ``weighted_*``
    notional-weighted; costs and spreads in bps; ``outside_quote_share`` a fraction of fills.
    """

    key: str
    fills: int
    orders: int
    volume: float
    notional: float
    avg_cost_arrival_bps: float | None
    weighted_cost_arrival_bps: float | None
    avg_cost_vwap_bps: float | None
    weighted_cost_vwap_bps: float | None
    fill_rate: float | None
    markouts_bps: dict[str, float | None] = field(default_factory=dict)
    avg_effective_spread_bps: float | None = None
    outside_quote_share: float | None = None


LEAGUE_KEYS = ("venue", "broker")


def _exec_notional() -> Any:
    return Cast("price", FloatField()) * Cast("quantity", FloatField())


def league_table(*, user: Any, by: str, filters: Mapping[str, Any] | None = None) -> list[LeagueRow]:
    """The venue (``by="venue"``) or broker league table of the user's desks, largest notional first.

    ``filters`` are ``TcaExecutionFilterSet`` parameters (``date_from``, ``date_to``, ``instrument``,
    ``side`` ...); the fill rate reads the orders of the same instrument, side and period.
    """
    if by not in LEAGUE_KEYS:
        raise ValidationFailed("League tables are by venue or broker.", extra={"fields": {"by": "Unknown."}})
    executions = tca_execution_list(user=user, filters=filters).order_by()
    notional = _exec_notional()
    has_arrival, has_vwap = Q(cost_arrival_bps__isnull=False), Q(cost_vwap_bps__isnull=False)
    markout_aggs = {f"m{h}": Avg(f"markout_{h}s_bps") for h in MARKOUT_HORIZONS_S}
    rows = executions.values(by).annotate(
        fills=Count("id"),
        orders=Count("order_result", distinct=True),
        volume=Sum(Cast("quantity", FloatField())),
        notional=Sum(notional),
        avg_arrival=Avg("cost_arrival_bps"),
        num_arrival=Sum(notional * F("cost_arrival_bps"), filter=has_arrival),
        den_arrival=Sum(notional, filter=has_arrival),
        avg_vwap=Avg("cost_vwap_bps"),
        num_vwap=Sum(notional * F("cost_vwap_bps"), filter=has_vwap),
        den_vwap=Sum(notional, filter=has_vwap),
        eff=Avg("effective_spread_bps"),
        outside=Count("id", filter=Q(outside_quote=True)),
        **markout_aggs,
    )
    order_filters = {k: filters[k] for k in ("date_from", "date_to", "instrument", "side") if filters and k in filters}
    rates = {
        r[by]: _weighted(r["filled"], r["ordered"])
        for r in tca_order_list(user=user, filters=order_filters)
        .order_by()
        .values(by)
        .annotate(filled=Sum(Cast("filled_quantity", FloatField())), ordered=Sum(Cast("quantity", FloatField())))
    }
    table = [
        LeagueRow(
            key=r[by] or "(none)",
            fills=r["fills"],
            orders=r["orders"],
            volume=float(r["volume"] or 0.0),
            notional=float(r["notional"] or 0.0),
            avg_cost_arrival_bps=r["avg_arrival"],
            weighted_cost_arrival_bps=_weighted(r["num_arrival"], r["den_arrival"]),
            avg_cost_vwap_bps=r["avg_vwap"],
            weighted_cost_vwap_bps=_weighted(r["num_vwap"], r["den_vwap"]),
            fill_rate=rates.get(r[by]),
            markouts_bps={f"{h}s": r[f"m{h}"] for h in MARKOUT_HORIZONS_S},
            avg_effective_spread_bps=r["eff"],
            outside_quote_share=r["outside"] / r["fills"] if r["fills"] else None,
        )
        for r in rows
    ]
    return sorted(table, key=lambda row: (-row.notional, row.key))


def venue_league_table(*, user: Any, filters: Mapping[str, Any] | None = None) -> list[LeagueRow]:
    """League table of execution venues (see ``league_table``)."""
    return league_table(user=user, by="venue", filters=filters)


def broker_league_table(*, user: Any, filters: Mapping[str, Any] | None = None) -> list[LeagueRow]:
    """League table of brokers (see ``league_table``)."""
    return league_table(user=user, by="broker", filters=filters)


def year_filters(year: int) -> dict[str, str]:
    """Execution filters for one calendar year (UTC)."""
    return {"date_from": date(year, 1, 1).isoformat(), "date_to": date(year, 12, 31).isoformat()}


# ---------------------------------------------------------------------------- RTS 28

#: MiFID II RTS 28 (Commission Delegated Regulation (EU) 2017/576) Annex I classes by instrument kind.
#: Options and futures are read as equity derivatives (the book's derivatives are on equities and
#: indices); FX and indices fall under "other instruments".
RTS28_CLASSES: dict[str, str] = {
    "equity": "Equities — shares and depositary receipts",
    "bond": "Debt instruments",
    "option": "Equity derivatives — options and futures admitted to trading on a trading venue",
    "future": "Equity derivatives — options and futures admitted to trading on a trading venue",
    "etf": "Exchange traded products",
    "fx": "Other instruments",
    "index": "Other instruments",
}
RTS28_TOP = 5


@dataclass(frozen=True)
class Rts28Venue:
    """One of the top five venues of a class: shares in % (volume by notional, orders by count,
    passive/aggressive by number of fills with a known prevailing quote); ``pct_directed`` is
    None because Vigil does not record directed orders."""

    venue: str
    notional: float
    fills: int
    orders: int
    pct_volume: float
    pct_orders: float
    pct_passive: float | None
    pct_aggressive: float | None
    pct_directed: float | None = None


@dataclass(frozen=True)
class Rts28Class:
    """The top five execution venues of one class of instruments in the year."""

    label: str
    kinds: list[str]
    notional: float
    orders: int
    fills: int
    less_than_one_trade_per_business_day: bool
    venues: list[Rts28Venue]
    previous_top: list[str]


@dataclass(frozen=True)
class Rts28Report:
    """The RTS 28-style annual report of the user's desks: classes and a qualitative summary."""

    year: int
    business_days: int
    classes: list[Rts28Class]
    summary: list[str]


def _class_of(kind: str) -> str:
    return RTS28_CLASSES.get(kind, "Other instruments")


def _rts28_classes(*, user: Any, year: int) -> dict[str, dict[str, Any]]:
    """Per class: totals and per-venue figures over the year's executions."""
    qs = tca_execution_list(user=user, filters=year_filters(year)).order_by()
    notional = _exec_notional()
    known = Q(spread_capture__isnull=False)
    rows = qs.values("order_result__instrument__kind", "venue").annotate(
        notional=Sum(notional),
        fills=Count("id"),
        orders=Count("order_result", distinct=True),
        passive=Count("id", filter=known & Q(spread_capture__gte=1.0 - CAPTURE_TOLERANCE)),
        aggressive=Count("id", filter=known & Q(spread_capture__lte=CAPTURE_TOLERANCE)),
        quoted=Count("id", filter=known),
    )
    # Orders are counted once per class even when they filled on several venues.
    order_rows = qs.values("order_result__instrument__kind").annotate(orders=Count("order_result", distinct=True))
    orders_by_kind = {r["order_result__instrument__kind"]: r["orders"] for r in order_rows}
    classes: dict[str, dict[str, Any]] = {}
    for row in rows:
        r: dict[str, Any] = dict(row)
        kind = r["order_result__instrument__kind"]
        c = classes.setdefault(_class_of(kind), {"kinds": set(), "venues": {}, "orders": 0})
        if kind not in c["kinds"]:
            c["kinds"].add(kind)
            c["orders"] += orders_by_kind.get(kind, 0)
        v = c["venues"].setdefault(
            r["venue"] or "(none)",
            {"notional": 0.0, "fills": 0, "orders": 0, "passive": 0, "aggressive": 0, "quoted": 0},
        )
        for k in v:
            v[k] += float(r[k] or 0.0) if k == "notional" else int(r[k] or 0)
    return classes


def rts28_report(*, user: Any, year: int) -> Rts28Report:
    """Top five execution venues per class of instruments for ``year`` (UTC), in the layout of
    RTS 28 Annex II, and a summary of execution quality generated from the figures (Article 3(3)).

    One report covers every client of the user's desks together; venues are ranked by notional.
    """
    if not 1970 <= year <= 9998:
        raise ValidationFailed("Give a calendar year.", extra={"fields": {"year": "Out of range."}})
    business_days = int(np.busday_count(date(year, 1, 1), date(year + 1, 1, 1)))
    current = _rts28_classes(user=user, year=year)
    previous = _rts28_classes(user=user, year=year - 1)
    classes: list[Rts28Class] = []
    for label, c in sorted(current.items(), key=lambda kv: -sum(v["notional"] for v in kv[1]["venues"].values())):
        total = sum(v["notional"] for v in c["venues"].values())
        fills = sum(v["fills"] for v in c["venues"].values())
        ranked = sorted(c["venues"].items(), key=lambda kv: (-kv[1]["notional"], kv[0]))[:RTS28_TOP]
        prev = previous.get(label, {}).get("venues", {})
        prev_top = [k for k, _ in sorted(prev.items(), key=lambda kv: (-kv[1]["notional"], kv[0]))[:RTS28_TOP]]
        venues = [
            Rts28Venue(
                venue=name,
                notional=v["notional"],
                fills=v["fills"],
                orders=v["orders"],
                pct_volume=100.0 * v["notional"] / total if total else 0.0,
                pct_orders=100.0 * v["orders"] / c["orders"] if c["orders"] else 0.0,
                pct_passive=100.0 * v["passive"] / v["quoted"] if v["quoted"] else None,
                pct_aggressive=100.0 * v["aggressive"] / v["quoted"] if v["quoted"] else None,
            )
            for name, v in ranked
        ]
        classes.append(
            Rts28Class(
                label=label,
                kinds=sorted(c["kinds"]),
                notional=total,
                orders=c["orders"],
                fills=fills,
                less_than_one_trade_per_business_day=fills < business_days,
                venues=venues,
                previous_top=prev_top,
            )
        )
    return Rts28Report(
        year=year,
        business_days=business_days,
        classes=classes,
        summary=_rts28_summary(user=user, year=year, classes=classes),
    )


def _fmt(x: float | None, unit: str = " bps", digits: int = 1) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:,.{digits}f}{unit}"


def _rts28_summary(*, user: Any, year: int, classes: list[Rts28Class]) -> list[str]:
    """The qualitative assessment, one paragraph per Article 3(3) heading, from the year's figures."""
    # Only orders that executed: a time-window run also stores results for orders with no fills.
    orders = tca_order_list(user=user, filters=year_filters(year)).filter(n_fills__gt=0)
    s = tca_summary(orders=orders)
    if not classes or s.orders == 0:
        return [f"No executions of the user's desks were analysed in {year}; there is nothing to report."]
    # Order- and fill-level sums in separate queries: a join would count each order once per fill.
    agg = orders.order_by().aggregate(
        filled=Sum(Cast("filled_quantity", FloatField())), ordered=Sum(Cast("quantity", FloatField()))
    )
    fills = tca_execution_list(user=user, filters=year_filters(year)).order_by()
    agg |= fills.aggregate(
        eff=Avg("effective_spread_bps"), outside=Count("id", filter=Q(outside_quote=True)), fills=Count("id")
    )
    durations = np.fromiter(
        orders.order_by().filter(duration_s__isnull=False).values_list("duration_s", flat=True), dtype=np.float64
    )
    median_min = float(np.median(durations)) / 60.0 if durations.size else None
    fill_rate = _weighted(agg["filled"], agg["ordered"])
    outside = 100.0 * agg["outside"] / agg["fills"] if agg["fills"] else None
    paragraphs = [
        (
            f"Execution factors. In {year} the desks executed {s.orders:,} orders in {s.fills:,} fills. Price and "
            f"costs came first: the average cost against the arrival mid was {_fmt(s.avg_cost_arrival_bps)} "
            f"(notional-weighted {_fmt(s.weighted_cost_arrival_bps)}) and {_fmt(s.avg_cost_vwap_bps)} against "
            f"the interval VWAP; the average effective spread paid was {_fmt(agg['eff'])}, and "
            f"{_fmt(outside, ' %')} of fills printed outside the prevailing quote. Speed: the median order "
            f"worked for {_fmt(median_min, ' minutes')}. Likelihood of execution: "
            f"{_fmt(None if fill_rate is None else 100.0 * fill_rate, ' %')} of the ordered quantity was filled."
        ),
    ]
    for c in classes:
        if not c.venues:
            continue
        top = c.venues[0]
        added = [v.venue for v in c.venues if c.previous_top and v.venue not in c.previous_top]
        removed = [v for v in c.previous_top if v not in {x.venue for x in c.venues}]
        if not c.previous_top:
            change = f"There were no executions in this class in {year - 1} to compare with."
        elif added or removed:
            change = (
                f"Compared with {year - 1}, {', '.join(added) or 'no venue'} entered and "
                f"{', '.join(removed) or 'no venue'} left the top five."
            )
        else:
            change = f"The top five venues are the same as in {year - 1}."
        paragraphs.append(
            f"{c.label}. {top.venue} handled {top.pct_volume:.1f} % of the volume and {top.pct_orders:.1f} % of "
            f"the orders; the top five together handled "
            f"{sum(v.pct_volume for v in c.venues):.1f} % of the volume. {change}"
            + (" Fewer than one trade per business day on average." if c.less_than_one_trade_per_business_day else "")
        )
    paragraphs += [
        (
            "Close links, conflicts of interest and arrangements with venues. Vigil holds no record of close links, "
            "common ownership, payments, discounts, rebates or non-monetary benefits from execution venues; the "
            "firm states any here."
        ),
        (
            "Client categories and directed orders. The figures cover all clients of the desks together; retail "
            "and professional clients are not reported apart, and whether a client directed an order to a venue "
            "is not recorded, so the share of directed orders is n/a."
        ),
        (
            "Passive and aggressive orders are read from each fill's price against the prevailing quote: at the "
            "near touch or better is passive, at the far touch or worse aggressive, fills inside the spread are "
            "neither. Data and tools: every figure comes from Vigil's transaction cost analysis of the firm's own "
            "fills against consolidated quotes and the public tape (docs/tca-methodology.md)."
        ),
    ]
    return paragraphs
