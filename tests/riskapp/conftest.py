"""A small priced book on the test desk: 1,000 AAPL at 100 and 500 XOM at 50, NAV 1,000,000."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from portfolios.models import PriceBar
from tests.factories import AccountFactory, InstrumentFactory, PortfolioFactory, PositionFactory


@pytest.fixture
def book(desk):
    portfolio = PortfolioFactory(code="RB-1", desk=desk, nav=Decimal("1000000"))
    account = AccountFactory(code="RB-ACC", desk=desk, portfolio=portfolio)
    aapl = InstrumentFactory(symbol="AAPL", sector="Information Technology")
    xom = InstrumentFactory(symbol="XOM", sector="Energy")
    for inst, prev, last in ((aapl, "98", "100"), (xom, "50", "50")):
        PriceBar.objects.create(instrument=inst, date=date(2022, 12, 27), close=Decimal(prev), adj_close=Decimal(prev))
        PriceBar.objects.create(instrument=inst, date=date(2022, 12, 28), close=Decimal(last), adj_close=Decimal(last))
    PositionFactory(portfolio=portfolio, instrument=aapl, as_of=date(2022, 12, 27), quantity=Decimal("1000"))
    PositionFactory(portfolio=portfolio, instrument=xom, as_of=date(2022, 12, 27), quantity=Decimal("500"))
    return {"portfolio": portfolio, "account": account, "aapl": aapl, "xom": xom}


@pytest.fixture
def priced(desk):
    """A priced book with 320 days of seeded history, an index, a factor ETF and an option."""
    from tests.riskapp.books import priced_book

    return priced_book(desk)


@pytest.fixture
def fast_parameters():
    """Run parameters that keep tests quick: fewer Monte Carlo scenarios."""
    return {"n_scenarios": 2000}
