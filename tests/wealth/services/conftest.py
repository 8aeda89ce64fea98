"""A small priced market for the wealth service tests: four stocks in three sectors, two factor
ETFs, the S&P 500 index and a T-bill cash instrument, with seeded daily bars over two years
ending 2022-12-28 (a year-end drawdown so that recent lots sit at a loss), asset profiles,
substitutes and five model portfolios."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from core.roles import Role
from portfolios.models import PriceBar
from tests.factories import AssetProfileFactory, InstrumentFactory, ModelPortfolioFactory
from wealth.models import ModelWeight, Substitute

AS_OF = date(2022, 12, 28)
SECTORS = {
    "AAPL": "Information Technology",
    "MSFT": "Information Technology",
    "JPM": "Financials",
    "XOM": "Energy",
}
MODELS = {
    1: {"USD-TBILL": 0.70, "USMV": 0.20, "JPM": 0.10},
    2: {"USD-TBILL": 0.50, "USMV": 0.25, "AAPL": 0.10, "JPM": 0.15},
    3: {"USD-TBILL": 0.30, "USMV": 0.20, "MTUM": 0.20, "AAPL": 0.15, "JPM": 0.15},
    4: {"USD-TBILL": 0.10, "MTUM": 0.25, "AAPL": 0.25, "MSFT": 0.20, "XOM": 0.20},
    5: {"MTUM": 0.25, "AAPL": 0.25, "MSFT": 0.25, "XOM": 0.25},
}


def _path(rng: np.random.Generator, n: int, vol: float, drift: float, start: float) -> np.ndarray:
    r = rng.normal(drift / 252, vol / np.sqrt(252), n)
    r[-60:] -= 0.0025  # the year-end fall: lots bought in the autumn are at a loss
    return start * np.cumprod(1 + r)


@pytest.fixture
def market(db):
    """Instruments with bars, asset profiles, substitutes and model portfolios (see module doc)."""
    rng = np.random.default_rng(7)
    days = pd.bdate_range(end=AS_OF, periods=520)
    insts = {}
    for sym, sector in SECTORS.items():
        insts[sym] = InstrumentFactory(symbol=sym, sector=sector)
    for sym in ("MTUM", "USMV"):
        insts[sym] = InstrumentFactory(symbol=sym, kind="etf", sector="")
    insts["SPX"] = InstrumentFactory(symbol="SPX", kind="index", sector="")
    insts["USD-TBILL"] = InstrumentFactory(symbol="USD-TBILL", kind="bond", sector="")
    params = {"AAPL": (0.30, 0.45, 150), "MSFT": (0.28, 0.40, 250), "JPM": (0.25, 0.35, 130), "XOM": (0.32, 0.40, 80),
              "MTUM": (0.20, 0.35, 160), "USMV": (0.12, 0.25, 75), "SPX": (0.18, 0.25, 4000)}  # fmt: skip
    bars = []
    for sym, (vol, drift, start) in params.items():
        for d, p in zip(days, _path(rng, len(days), vol, drift, start), strict=True):
            bars.append(
                PriceBar(instrument=insts[sym], date=d.date(), close=Decimal(f"{p:.4f}"), adj_close=Decimal(f"{p:.4f}"))
            )
    tbill = 100 * (1 + 0.0001) ** np.arange(1, len(days) + 1)
    for d, p in zip(days, tbill, strict=True):
        bars.append(
            PriceBar(
                instrument=insts["USD-TBILL"], date=d.date(), close=Decimal(f"{p:.6f}"), adj_close=Decimal(f"{p:.6f}")
            )
        )
    PriceBar.objects.bulk_create(bars)
    for sym, inst in insts.items():
        if sym == "SPX":
            continue
        AssetProfileFactory(
            instrument=inst,
            asset_class="cash" if sym == "USD-TBILL" else "equity",
            esg_score=Decimal({"XOM": "2.50", "AAPL": "7.50"}.get(sym, "6.00")),
        )
    for a, b in (
        ("AAPL", "MSFT"),
        ("MSFT", "AAPL"),
        ("MTUM", "USMV"),
        ("USMV", "MTUM"),
        ("JPM", "USMV"),
        ("XOM", "USMV"),
    ):
        Substitute.objects.create(instrument=insts[a], substitute=insts[b])
    for profile, weights in MODELS.items():
        model = ModelPortfolioFactory(profile=profile, version=1)
        ModelWeight.objects.bulk_create(
            [ModelWeight(model=model, instrument=insts[s], weight=Decimal(str(w))) for s, w in weights.items()]
        )
    return insts


@pytest.fixture
def advisor(make_user):
    return make_user(Role.WEALTH_ADVISOR, username="advisor_a")


@pytest.fixture
def prices(market):
    """Closes on AS_OF by symbol."""
    return {s: float(PriceBar.objects.get(instrument=i, date=AS_OF).close) for s, i in market.items()}
