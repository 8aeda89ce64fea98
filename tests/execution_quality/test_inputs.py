"""Loading TCA inputs from PostgreSQL: conventions of ``execution_quality.services.inputs``."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest

from execution_quality.engine.types import US_PER_DAY
from execution_quality.services.inputs import quotes_load, tca_inputs_load
from portfolios import models as m
from tests.execution_quality.book import at, book_build, epoch_us

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(desk):
    return book_build(desk)


def test_given_parent_with_children_when_loaded_then_fills_aggregate_under_the_parent(book):
    # when the three parents (and, to be ignored, a child id) are loaded
    inputs = tca_inputs_load(order_ids=[*book.parent_ids, book.buy_children[0].pk])
    # then there is one row per parent, and the children's trades belong to their parent
    assert inputs.orders.order_id.tolist() == sorted(book.parent_ids)
    fm = inputs.fill_meta.set_index("trade_id")
    t1, t2 = book.trades["buy1"].pk, book.trades["buy2"].pk
    assert fm.loc[t1, "order_id"] == book.buy.pk and fm.loc[t1, "child_order_id"] == book.buy_children[0].pk
    assert fm.loc[t2, "order_id"] == book.buy.pk and fm.loc[t2, "child_order_id"] == book.buy_children[1].pk
    assert fm.loc[book.trades["sell"].pk, "child_order_id"] == book.sell.pk
    # venue: the trade's (XNAS), else the child's (XNYS); broker: inherited from the parent
    assert fm.loc[t1, "venue"] == "XNYS" and fm.loc[t2, "venue"] == "XNAS"
    assert fm.loc[t1, "broker"] == "BRK1" and fm.loc[t2, "broker"] == "BRK1"
    # and exact decimals are kept for writing back; fees are the commissions
    assert fm.loc[t1, "price"] == "100.06000000" and fm.loc[t1, "quantity"] == "600.000000"
    row = inputs.fills.execution_id == t1
    assert inputs.fills.fee[row][0] == 3.0
    assert inputs.venues.label(int(inputs.fills.venue[row][0])) == "XNYS"


def test_given_microsecond_timestamps_when_loaded_then_int64_us_are_exact(book):
    inputs = tca_inputs_load(order_ids=book.parent_ids)
    o, f = inputs.orders, inputs.fills
    buy = o.order_id == book.buy.pk
    # then arrival keeps its microseconds and the order ends at its last fill
    assert o.arrival_us[buy][0] == epoch_us(at(14, 30, 10, 123456))
    assert o.end_us[buy][0] == epoch_us(at(14, 33, 0, 500000))
    assert f.ts_us[f.execution_id == book.trades["buy1"].pk][0] == epoch_us(at(14, 31, 30, 1))
    # sides are signed, order types coded
    assert o.side[o.order_id == book.sell.pk][0] == -1 and o.side[buy][0] == 1
    assert o.order_type[buy][0] == 0 and np.isnan(o.limit_price[buy][0])


def test_given_a_cancel_after_the_last_fill_then_the_order_ends_at_the_cancel(book):
    # given child 2 is cancelled at 14:40 (after its fill)
    m.OrderEvent.objects.create(order=book.buy_children[1], sequence=5, event_type="cancel", ts=at(14, 40))
    inputs = tca_inputs_load(order_ids=[book.buy.pk])
    assert inputs.orders.end_us[0] == epoch_us(at(14, 40))


def test_market_data_covers_the_order_days_and_bars_reach_back(book):
    inputs = tca_inputs_load(order_ids=book.parent_ids)
    # quotes and prints of the order's whole UTC day, sorted by (instrument, time)
    assert len(inputs.quotes) == 3 and len(inputs.tape) == 5
    assert np.all(np.diff(inputs.quotes.ts_us) > 0)
    assert inputs.quotes.bid.tolist() == [99.98, 100.03, 100.08]
    # 30 bars of history plus the order day, as days since the epoch
    assert len(inputs.bars) == 31
    assert inputs.bars.day[-1] == epoch_us(at(0, 0)) // US_PER_DAY
    assert inputs.bars.open[-1] == 100.0 and inputs.bars.close[-1] == 100.2


def test_given_quotes_of_two_venues_then_the_best_bid_and_offer_is_consolidated(book):
    # given a second venue quoting a better bid at 14:30:20 and a worse offer
    m.Quote.objects.create(
        instrument=book.instrument,
        ts=at(14, 30, 20),
        venue="XNAS",
        bid=Decimal("99.99"),
        ask=Decimal("100.05"),
        bid_size=1,
        ask_size=1,
    )
    start = at(0, 0)
    quotes = quotes_load(windows=[(book.instrument.pk, start, start + timedelta(days=1))])
    # then after each update the highest bid and lowest ask in force across venues are kept (the
    # stale XNAS offer makes the 14:35 book crossed: the engine flags such quotes where used)
    assert quotes.bid.tolist() == [99.98, 99.99, 100.03, 100.08]
    assert quotes.ask.tolist() == [100.02, 100.02, 100.05, 100.05]


def test_given_no_orders_then_inputs_are_empty(db):
    inputs = tca_inputs_load(order_ids=[])
    assert len(inputs.orders) == 0 and len(inputs.fills) == 0 and len(inputs.quotes) == 0
