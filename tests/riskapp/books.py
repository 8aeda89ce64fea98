"""A small priced book for risk-run tests: seeded fat-tailed price history, an index, a factor
ETF and one option, on the last 320 business days to 2022-12-28 (covers the 2022 rate-shock
stress window, so one historical scenario replays from these prices)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from portfolios.models import Instrument, Portfolio, PriceBar
from tests.factories import AccountFactory, InstrumentFactory, PortfolioFactory, PositionFactory

LAST_DAY = date(2022, 12, 28)
OPENING_DAY = date(2022, 12, 27)
# (symbol, kind, sector, market beta, daily idiosyncratic vol)
SERIES = [
    ("AAPL", "equity", "Information Technology", 1.2, 0.012),
    ("XOM", "equity", "Energy", 0.8, 0.015),
    ("JPM", "equity", "Financials", 1.0, 0.010),
    ("SPX", "index", "", 1.0, 0.0),
    ("MTUM", "etf", "", 1.05, 0.004),
]


@dataclass
class PricedBook:
    portfolio: Portfolio
    instruments: dict[str, Instrument]
    option: Instrument


def price_history(
    instruments: dict[str, Instrument], *, days: int = 320, end: date = LAST_DAY, seed: int = 7
) -> list[date]:
    """Bulk-create ``days`` business days of closes: one market factor (Student-t, 4 dof) plus
    idiosyncratic noise per series; ``adj_close == close``. Returns the dates."""
    rng = np.random.default_rng(seed)
    dates = [d.date() for d in pd.bdate_range(end=end, periods=days)]
    market = 0.011 * rng.standard_t(4, size=days) / np.sqrt(2.0)
    bars = []
    for k, (sym, _, _, beta, vol) in enumerate(SERIES):
        if sym not in instruments:
            continue
        r = beta * market + vol * rng.standard_normal(days)
        r[0] = 0.0
        prices = (50.0 + 20 * k) * np.cumprod(1.0 + r)
        bars += [
            PriceBar(instrument=instruments[sym], date=d, close=Decimal(f"{p:.4f}"), adj_close=Decimal(f"{p:.4f}"))
            for d, p in zip(dates, prices, strict=True)
        ]
    PriceBar.objects.bulk_create(bars)
    return dates


def priced_book(desk, *, code: str = "RISK-BOOK", days: int = 320) -> PricedBook:
    """Long AAPL and XOM, short JPM, long MTUM, ten AAPL calls; NAV ≈ 1.2 × gross."""
    instruments = {
        sym: InstrumentFactory(symbol=sym, kind=kind, sector=sector, country="US") for sym, kind, sector, _, _ in SERIES
    }
    price_history(instruments, days=days)
    aapl_close = PriceBar.objects.get(instrument=instruments["AAPL"], date=LAST_DAY).close
    strike = Decimal(round(float(aapl_close)))
    option = InstrumentFactory(
        symbol="AAPL230317C",
        kind="option",
        sector="",
        underlying=instruments["AAPL"],
        strike=strike,
        expiry=date(2023, 3, 17),
        option_right="call",
        multiplier=Decimal(100),
    )
    for d, px in ((OPENING_DAY, "5.10"), (LAST_DAY, "5.00")):
        PriceBar.objects.create(instrument=option, date=d, close=Decimal(px), adj_close=Decimal(px))
    portfolio = PortfolioFactory(code=code, name="Risk test book", desk=desk, nav=Decimal("1000000"))
    AccountFactory(code=f"{code}-ACC", desk=desk, portfolio=portfolio)
    for sym, qty in (("AAPL", 2000), ("XOM", 3000), ("JPM", -1500), ("MTUM", 1000)):
        PositionFactory(portfolio=portfolio, instrument=instruments[sym], as_of=OPENING_DAY, quantity=Decimal(qty))
    PositionFactory(portfolio=portfolio, instrument=option, as_of=OPENING_DAY, quantity=Decimal(10))
    return PricedBook(portfolio=portfolio, instruments=instruments, option=option)
