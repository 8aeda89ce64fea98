"""Property (hypothesis): the book is always the opening position plus the fills.

The rule under test (portfolios/services.py, ``portfolio_book``; docs/data-model.md): the book
at the end of ``as_of`` (UTC) is the latest opening position dated on or before ``as_of``,
taken as of that day's close, plus every fill of the portfolio's accounts after that day and up
to the end of ``as_of``; with no opening position it starts empty; instruments netting to zero
are left out. The end-of-day snapshot (``positions_snapshot``) writes that book.

The expected book is computed here from first principles, independently of the code: random
openings on several dates, random buys and sells (whole and fractional quantities) around them,
including fills exactly at UTC midnight, a microsecond before it, stamped in other time zones,
and fills of an account of another portfolio or of no portfolio (never in this book). Each
example runs in a savepoint rolled back at its end.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from portfolios.models import Position, Trade
from portfolios.services import portfolio_book, positions_snapshot
from tests.factories import AccountFactory, InstrumentFactory, PortfolioFactory

pytestmark = pytest.mark.django_db

DAY0 = date(2023, 3, 1)
DAYS = 8
INSTRUMENTS = 3

quantities = st.one_of(
    st.integers(min_value=1, max_value=10_000).map(Decimal),
    st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("999.999999"), places=6),
)
# Seconds into the day: the edges (midnight, a microsecond before the next) and anything between.
instants = st.one_of(
    st.just(timedelta(0)),
    st.just(timedelta(days=1) - timedelta(microseconds=1)),
    st.integers(min_value=0, max_value=86_400 * 10**6 - 1).map(lambda us: timedelta(microseconds=us)),
)
offsets = st.sampled_from([0, -5, 2, 9, 14]).map(lambda h: timezone(timedelta(hours=h)))

openings = st.dictionaries(
    st.integers(min_value=0, max_value=DAYS - 1),  # opening day
    st.dictionaries(
        st.integers(min_value=0, max_value=INSTRUMENTS - 1),
        st.one_of(st.just(Decimal(0)), quantities, quantities.map(lambda q: -q)),
        # An opening date exists only through its rows; a flat book is opened with zero rows.
        min_size=1,
        max_size=INSTRUMENTS,
    ),
    max_size=3,
)
fills = st.lists(
    st.tuples(
        st.sampled_from(["own", "own2", "other", "none"]),  # account: this book's two, another book's, no book
        st.integers(min_value=0, max_value=INSTRUMENTS - 1),
        st.sampled_from(["buy", "sell"]),
        quantities,
        st.integers(min_value=-1, max_value=DAYS),  # UTC day of the fill, around the openings
        instants,
        offsets,
    ),
    max_size=25,
)


@pytest.fixture
def setting(desk):
    portfolio = PortfolioFactory(code="BOOK-PF", desk=desk)
    other = PortfolioFactory(code="BOOK-OTHER", desk=desk)
    accounts = {
        "own": AccountFactory(code="BOOK-A1", desk=desk, portfolio=portfolio),
        "own2": AccountFactory(code="BOOK-A2", desk=desk, portfolio=portfolio),
        "other": AccountFactory(code="BOOK-B", desk=desk, portfolio=other),
        "none": AccountFactory(code="BOOK-C", desk=desk, portfolio=None),
    }
    instruments = [InstrumentFactory(symbol=f"BOOK{i}") for i in range(INSTRUMENTS)]
    return portfolio, accounts, instruments


def expected_book(opening_rows, fill_rows, as_of: date) -> dict[int, Decimal]:
    """The book by its definition, written without the code under test."""
    start = max((d for d in opening_rows if DAY0 + timedelta(days=d) <= as_of), default=None)
    end = datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=UTC)
    begin = None if start is None else datetime.combine(DAY0 + timedelta(days=start + 1), time.min, tzinfo=UTC)
    book: dict[int, Decimal] = defaultdict(Decimal)
    if start is not None:
        for inst, qty in opening_rows[start].items():
            book[inst] += qty
    for account, inst, side, qty, ts in fill_rows:
        if account not in {"own", "own2"} or ts >= end or (begin is not None and ts < begin):
            continue
        book[inst] += qty if side == "buy" else -qty
    return {inst: q for inst, q in book.items() if q != 0}


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(openings=openings, fills=fills, as_of_day=st.integers(min_value=-1, max_value=DAYS))
def test_given_openings_and_fills_then_book_and_snapshot_are_opening_plus_signed_fills(
    setting, openings, fills, as_of_day
):
    portfolio, accounts, instruments = setting
    as_of = DAY0 + timedelta(days=as_of_day)
    fill_rows = []
    with transaction.atomic():
        # Given the openings and the fills (timestamps written in assorted offsets)
        Position.objects.bulk_create(
            Position(
                portfolio=portfolio,
                instrument=instruments[inst],
                as_of=DAY0 + timedelta(days=day),
                kind=Position.Kind.OPENING,
                quantity=qty,
            )
            for day, rows in openings.items()
            for inst, qty in rows.items()
        )
        trades = []
        for n, (account, inst, side, qty, day, instant, tz) in enumerate(fills):
            ts = datetime.combine(DAY0 + timedelta(days=day), time.min, tzinfo=UTC) + instant
            fill_rows.append((account, inst, side, qty, ts))
            trades.append(
                Trade(
                    trade_id=f"BOOK-T{n}",
                    account=accounts[account],
                    instrument=instruments[inst],
                    side=side,
                    price=Decimal("10"),
                    quantity=qty,
                    ts=ts.astimezone(tz),
                )
            )
        Trade.objects.bulk_create(trades)

        # When the book is derived and snapshotted
        book = portfolio_book(portfolio=portfolio, as_of=as_of)
        positions_snapshot(portfolio=portfolio, as_of=as_of)
        snapshot = dict(
            Position.objects.filter(portfolio=portfolio, as_of=as_of, kind=Position.Kind.SNAPSHOT).values_list(
                "instrument_id", "quantity"
            )
        )
        transaction.set_rollback(True)

    # Then both are exactly opening + Σ signed fills per instrument (Decimal: no rounding)
    note(f"openings={openings} fills={fill_rows} as_of={as_of}")
    want = {instruments[i].pk: q for i, q in expected_book(openings, fill_rows, as_of).items()}
    assert book == want
    assert snapshot == want
