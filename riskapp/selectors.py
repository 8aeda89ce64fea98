"""Reads shared by risk services, views and the API: valuations, runs, limits, breaches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Max, OuterRef, QuerySet, Subquery

from portfolios import selectors as book_selectors
from portfolios.models import Instrument, Portfolio, PriceBar
from portfolios.services import portfolio_book
from riskapp.models import Limit, LimitBreach, RiskRun, Scenario


@dataclass
class Valuation:
    """A book valued at the latest closes on or before ``as_of`` (base currency = USD here).

    ``values`` and the other maps are keyed by instrument symbol. ``prev_values`` values the same
    quantities at the previous close (for the day's P&L). Positions without any price are listed
    in ``unpriced`` and left out of ``values``.
    """

    portfolio: Portfolio
    as_of: date
    quantities: dict[str, Decimal] = field(default_factory=dict)
    prices: dict[str, float] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)
    prev_values: dict[str, float] = field(default_factory=dict)
    sectors: dict[str, str] = field(default_factory=dict)
    countries: dict[str, str] = field(default_factory=dict)
    instruments: dict[str, Instrument] = field(default_factory=dict)
    unpriced: list[str] = field(default_factory=list)

    @property
    def nav(self) -> float:
        return float(self.portfolio.nav)

    @property
    def day_pnl(self) -> float:
        return sum(self.values.values()) - sum(self.prev_values.get(k, v) for k, v in self.values.items())


def latest_price_date(*, as_of: date | None = None) -> date | None:
    """The latest day with any close (on or before ``as_of``): the demo data ends in 2022."""
    qs = PriceBar.objects.all()
    if as_of is not None:
        qs = qs.filter(date__lte=as_of)
    latest: date | None = qs.aggregate(d=Max("date"))["d"]
    return latest


def portfolio_valuation(*, portfolio: Portfolio, as_of: date) -> Valuation:
    """Quantities from the book (opening + fills) valued at the last two closes up to ``as_of``."""
    book = portfolio_book(portfolio=portfolio, as_of=as_of)
    val = Valuation(portfolio=portfolio, as_of=as_of)
    if not book:
        return val
    instruments = Instrument.objects.select_related("underlying").in_bulk(list(book))
    last_two: dict[int, list[float]] = {}
    for iid, close in (
        PriceBar.objects.filter(instrument_id__in=list(book), date__lte=as_of)
        .order_by("instrument_id", "-date")
        .values_list("instrument_id", "close")
        .iterator()
    ):
        closes = last_two.setdefault(iid, [])
        if len(closes) < 2:
            closes.append(float(close))
    for iid, qty in book.items():
        inst = instruments[iid]
        sym = inst.symbol
        val.quantities[sym] = qty
        val.instruments[sym] = inst
        val.sectors[sym] = inst.sector or (inst.underlying.sector if inst.underlying_id and inst.underlying else "")
        val.countries[sym] = inst.country
        priced = last_two.get(iid)
        if not priced:
            val.unpriced.append(sym)
            continue
        mult = float(inst.multiplier)
        val.prices[sym] = priced[0]
        val.values[sym] = float(qty) * priced[0] * mult
        val.prev_values[sym] = float(qty) * (priced[1] if len(priced) > 1 else priced[0]) * mult
    return val


def run_list(*, user: Any) -> QuerySet[RiskRun]:
    return RiskRun.objects.filter(portfolio__in=book_selectors.portfolio_list(user=user)).select_related(
        "portfolio", "calculation"
    )


def latest_runs(*, user: Any) -> QuerySet[Portfolio]:
    """The user's portfolios annotated with their latest succeeded risk run id."""
    latest = (
        RiskRun.objects.filter(portfolio=OuterRef("pk"), calculation__status="succeeded")
        .order_by("-as_of", "-id")
        .values("id")[:1]
    )
    return book_selectors.portfolio_list(user=user).annotate(latest_run_id=Subquery(latest))


def limit_list(*, user: Any) -> QuerySet[Limit]:
    return Limit.objects.filter(portfolio__in=book_selectors.portfolio_list(user=user)).select_related("portfolio")


def breach_list(*, user: Any) -> QuerySet[LimitBreach]:
    return LimitBreach.objects.filter(portfolio__in=book_selectors.portfolio_list(user=user)).select_related(
        "limit", "portfolio"
    )


def scenario_list() -> QuerySet[Scenario]:
    return Scenario.objects.filter(is_active=True)
