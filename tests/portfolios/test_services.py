"""The book: positions = opening + fills after the opening day; snapshots of it, audited."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from core.errors import ValidationFailed
from portfolios import models as m
from portfolios.engine.book import book_positions, signed_quantity
from portfolios.services import opening_date, portfolio_book, positions_snapshot
from tests.factories import AccountFactory, InstrumentFactory, PortfolioFactory, PositionFactory, TradeFactory

OPEN_DAY = date(2022, 12, 27)
DAY = date(2022, 12, 28)


def _at(day: date, hh: int = 14, mm: int = 30, us: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC) + timedelta(microseconds=us)


# ---------------------------------------------------------------------------- engine (no DB)


def test_signed_quantity_buy_adds_sell_subtracts():
    assert signed_quantity("buy", Decimal(3)) == Decimal(3)
    assert signed_quantity("sell", Decimal(3)) == Decimal(-3)
    with pytest.raises(ValueError, match="unknown side"):
        signed_quantity("short", Decimal(1))


def test_book_positions_adds_fills_to_opening_and_drops_flat_lines():
    book = book_positions(
        {1: Decimal(100), 2: Decimal(-50)},
        [(1, "buy", Decimal(10)), (2, "buy", Decimal(50)), (3, "sell", Decimal("0.5"))],
    )

    assert book == {1: Decimal(110), 3: Decimal("-0.5")}


# ---------------------------------------------------------------------------- services


@pytest.fixture
def book(desk):
    portfolio = PortfolioFactory(code="PF1", desk=desk)
    account = AccountFactory(code="ACC1", desk=desk, portfolio=portfolio)
    aapl, msft, nvda = (InstrumentFactory(symbol=s) for s in ("AAPL", "MSFT", "NVDA"))
    PositionFactory(portfolio=portfolio, instrument=aapl, as_of=OPEN_DAY, quantity=Decimal(100))
    PositionFactory(portfolio=portfolio, instrument=msft, as_of=OPEN_DAY, quantity=Decimal(-20))

    def fill(instrument, side, qty, ts, acc=account):
        TradeFactory(account=acc, instrument=instrument, side=side, quantity=Decimal(qty), ts=ts)

    # Before and at the close of the opening day: already in the opening position, ignored.
    fill(aapl, "buy", 1000, _at(OPEN_DAY, 9))
    fill(aapl, "buy", 1000, _at(OPEN_DAY, 23, 59, us=999_999))
    # After the opening day, up to the end of DAY: counted.
    fill(aapl, "buy", 30, _at(DAY, 0, 0))
    fill(aapl, "sell", "12.5", _at(DAY, 15))
    fill(msft, "buy", 20, _at(DAY, 16))  # flat: dropped from the book
    fill(nvda, "sell", 7, _at(DAY, 23, 59, us=999_999))
    # After DAY: not yet in DAY's book.
    fill(aapl, "sell", 1000, _at(DAY + timedelta(days=1), 0, 0))
    # Another portfolio's account and an account in no portfolio: never in this book.
    other = AccountFactory(code="ACC-X", desk=desk, portfolio=PortfolioFactory(code="PF2", desk=desk))
    fill(aapl, "buy", 1000, _at(DAY, 12), acc=other)
    fill(aapl, "buy", 1000, _at(DAY, 12), acc=AccountFactory(code="ACC-NOPF", desk=desk))
    return {"portfolio": portfolio, "aapl": aapl, "msft": msft, "nvda": nvda}


@pytest.mark.django_db
def test_given_opening_and_fills_then_book_is_opening_plus_fills_after_the_opening_day(book):
    result = portfolio_book(portfolio=book["portfolio"], as_of=DAY)

    assert result == {book["aapl"].pk: Decimal("117.5"), book["nvda"].pk: Decimal(-7)}


@pytest.mark.django_db
def test_given_as_of_the_opening_day_then_book_is_the_opening(book):
    result = portfolio_book(portfolio=book["portfolio"], as_of=OPEN_DAY)

    assert result == {book["aapl"].pk: Decimal(100), book["msft"].pk: Decimal(-20)}


@pytest.mark.django_db
def test_given_no_opening_then_book_is_every_fill_up_to_as_of(desk):
    portfolio = PortfolioFactory(code="PF9", desk=desk)
    account = AccountFactory(code="ACC9", desk=desk, portfolio=portfolio)
    aapl = InstrumentFactory(symbol="AAPL")
    TradeFactory(account=account, instrument=aapl, side="buy", quantity=Decimal(5), ts=_at(OPEN_DAY))
    TradeFactory(account=account, instrument=aapl, side="sell", quantity=Decimal(2), ts=_at(DAY))

    assert opening_date(portfolio=portfolio, as_of=DAY) is None
    assert portfolio_book(portfolio=portfolio, as_of=DAY) == {aapl.pk: Decimal(3)}
    assert portfolio_book(portfolio=portfolio, as_of=OPEN_DAY) == {aapl.pk: Decimal(5)}


@pytest.mark.django_db
def test_given_a_later_opening_then_it_replaces_the_earlier_one(book):
    PositionFactory(portfolio=book["portfolio"], instrument=book["aapl"], as_of=DAY, quantity=Decimal(1))

    assert opening_date(portfolio=book["portfolio"], as_of=DAY) == DAY
    assert portfolio_book(portfolio=book["portfolio"], as_of=DAY) == {book["aapl"].pk: Decimal(1)}
    # The day before still starts from the earlier opening.
    assert opening_date(portfolio=book["portfolio"], as_of=OPEN_DAY) == OPEN_DAY


@pytest.mark.django_db
def test_given_snapshots_in_the_table_then_they_do_not_feed_the_book(book):
    m.Position.objects.create(
        portfolio=book["portfolio"], instrument=book["aapl"], as_of=DAY, kind="snapshot", quantity=Decimal(999)
    )

    assert portfolio_book(portfolio=book["portfolio"], as_of=DAY)[book["aapl"].pk] == Decimal("117.5")


@pytest.mark.django_db
def test_given_snapshot_then_rows_written_and_rerun_replaces_them_and_each_run_is_audited(book, oms_user):
    portfolio = book["portfolio"]

    first = positions_snapshot(portfolio=portfolio, as_of=DAY, user=oms_user)
    TradeFactory(
        account=portfolio.accounts.get(), instrument=book["msft"], side="buy", quantity=Decimal(4), ts=_at(DAY, 20)
    )
    second = positions_snapshot(portfolio=portfolio, as_of=DAY, user=oms_user)

    rows = dict(
        m.Position.objects.filter(portfolio=portfolio, as_of=DAY, kind="snapshot").values_list(
            "instrument__symbol", "quantity"
        )
    )
    assert rows == {"AAPL": Decimal("117.5"), "MSFT": Decimal(4), "NVDA": Decimal(-7)}
    assert first["positions"] == 2 and first["replaced"] == 0
    assert second["positions"] == 3 and second["replaced"] == 2
    assert Decimal(second["gross_quantity"]) == Decimal("128.5")
    # Openings are untouched by snapshots.
    assert m.Position.objects.filter(portfolio=portfolio, kind="opening").count() == 2
    events = AuditEvent.objects.filter(action="positions.snapshot").order_by("id")
    assert events.count() == 2
    assert events.last().after == second
    assert events.last().actor_id == oms_user.pk


@pytest.mark.django_db
def test_given_future_day_then_snapshot_is_refused_and_nothing_written(book):
    with pytest.raises(ValidationFailed, match="future"):
        positions_snapshot(portfolio=book["portfolio"], as_of=date.today() + timedelta(days=2))

    assert not m.Position.objects.filter(kind="snapshot").exists()
    assert not AuditEvent.objects.filter(action="positions.snapshot").exists()
