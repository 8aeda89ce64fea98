"""A small wealth world for the API tests: three priced instruments with their wealth profiles,
model portfolios for the five risk profiles, and two advisors on different desks, each with one
client (a taxable account holding one lot bought well above today's price), a goal, a plan and an
open recommendation. The auditor shares advisor A's desk, so sees A's clients and not B's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pytest

from core.roles import Role
from portfolios.models import Instrument, PriceBar
from tests.factories import InstrumentFactory
from wealth.models import (
    AssetProfile,
    Client,
    Goal,
    GoalPlan,
    ModelPortfolio,
    ModelWeight,
    Recommendation,
    Substitute,
    TaxLot,
    WealthAccount,
)

AS_OF = dt.date(2024, 6, 28)
DAYS = 300
# (symbol, sector, asset class, annual drift, annual volatility) of the simulated prices.
UNIVERSE = [
    ("EQA", "Information Technology", "equity", 0.08, 0.20),
    ("EQB", "Health Care", "equity", 0.07, 0.18),
    ("BND", "Fixed Income", "bond", 0.03, 0.05),
]
# Model portfolio weights per risk profile (EQA, EQB, BND).
MODELS = {
    1: (0.10, 0.10, 0.80),
    2: (0.20, 0.20, 0.60),
    3: (0.30, 0.30, 0.40),
    4: (0.40, 0.40, 0.20),
    5: (0.45, 0.45, 0.10),
}


@dataclass
class Side:
    """One advisor's book."""

    client: Client
    account: WealthAccount
    lot: TaxLot
    goal: Goal
    plan: GoalPlan
    recommendation: Recommendation


@dataclass
class World:
    instruments: dict[str, Instrument]
    prices: dict[str, Decimal]  # the close on AS_OF
    a: Side
    b: Side


def _business_days(end: dt.date, n: int) -> list[dt.date]:
    days: list[dt.date] = []
    day = end
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day -= dt.timedelta(days=1)
    return days[::-1]


def market_build() -> tuple[dict[str, Instrument], dict[str, Decimal]]:
    rng = np.random.default_rng(20240628)
    days = _business_days(AS_OF, DAYS)
    instruments, last = {}, {}
    for symbol, sector, asset_class, mu, sigma in UNIVERSE:
        instrument = InstrumentFactory(symbol=symbol, sector=sector)
        AssetProfile.objects.create(instrument=instrument, asset_class=asset_class, esg_score=Decimal("6"))
        steps = rng.normal((mu - sigma**2 / 2) / 252, sigma / np.sqrt(252), size=len(days))
        path = 100 * np.exp(np.cumsum(steps))
        bars = [
            PriceBar(instrument=instrument, date=d, close=Decimal(f"{p:.4f}"), adj_close=Decimal(f"{p:.4f}"))
            for d, p in zip(days, path, strict=True)
        ]
        PriceBar.objects.bulk_create(bars)
        instruments[symbol], last[symbol] = instrument, bars[-1].close
    for profile, weights in MODELS.items():
        model = ModelPortfolio.objects.create(profile=profile, name=f"Model {profile}")
        for (symbol, *_), w in zip(UNIVERSE, weights, strict=True):
            ModelWeight.objects.create(model=model, instrument=instruments[symbol], weight=Decimal(str(w)))
    Substitute.objects.create(instrument=instruments["EQA"], substitute=instruments["EQB"])
    Substitute.objects.create(instrument=instruments["EQB"], substitute=instruments["EQA"])
    return instruments, last


def side_build(advisor, code: str, instruments: dict[str, Instrument], prices: dict[str, Decimal]) -> Side:
    client = Client.objects.create(code=code, name=f"Client {code}", advisor=advisor, birth_date=dt.date(1975, 5, 1))
    account = WealthAccount.objects.create(client=client, code=f"{code}-TX", kind="taxable", cash=Decimal("10000"))
    # 100 EQA bought 200 days ago at 1.5 × today's price: a short-term loss of a third of the basis.
    bought = AS_OF - dt.timedelta(days=200)
    lot = TaxLot.objects.create(
        account=account,
        instrument=instruments["EQA"],
        acquired_on=bought,
        holding_start=bought,
        quantity=Decimal("100"),
        cost_basis=(prices["EQA"] * Decimal("150")).quantize(Decimal("0.01")),
    )
    goal = Goal.objects.create(
        client=client, kind="home", name="Home", target_amount=Decimal("200000"), horizon_years=10
    )
    plan = GoalPlan.objects.create(
        goal=goal,
        success_probability=0.4,
        median_outcome=Decimal("150000"),
        fan={"months": [0, 12], "p50": [0, 1]},
        seed=7,
        paths=10_000,
    )
    recommendation = Recommendation.objects.create(
        client=client,
        kind="rebalance",
        title="Rebalance",
        reason="Drift 20 % is above the 5 % band.",
        explanation={"as_of": AS_OF.isoformat(), "drift_before": 0.2},
    )
    return Side(client, account, lot, goal, plan, recommendation)


@pytest.fixture
def advisor(make_user):
    return make_user(Role.WEALTH_ADVISOR, username="advisor_a")


@pytest.fixture
def other_advisor(make_user, other_desk):
    return make_user(Role.WEALTH_ADVISOR, username="advisor_b", desks=[other_desk])


@pytest.fixture
def world(advisor, other_advisor) -> World:
    instruments, prices = market_build()
    return World(
        instruments=instruments,
        prices=prices,
        a=side_build(advisor, "CA", instruments, prices),
        b=side_build(other_advisor, "CB", instruments, prices),
    )


@pytest.fixture
def api_a(advisor, api_client_for):
    return api_client_for(advisor)


@pytest.fixture
def api_b(other_advisor, api_client_for):
    return api_client_for(other_advisor)


@pytest.fixture
def api_auditor(make_user, api_client_for):
    return api_client_for(make_user(Role.AUDITOR))
