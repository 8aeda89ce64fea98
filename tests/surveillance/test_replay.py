"""The market replay of an alert: consolidated best bid/offer across venues, the account's orders
and executions around the window, row caps with a note; and how the chart draws an order's life."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from portfolios.models import MarketTrade, OrderEvent, Quote
from surveillance import replay as replay_module
from surveillance.charts import _order_segments, replay_chart
from surveillance.replay import OrderPath, OrderStep, replay_for
from tests.factories import AccountFactory, AlertFactory, InstrumentFactory, OrderFactory, TradeFactory

pytestmark = pytest.mark.django_db

W0 = datetime(2024, 5, 2, 15, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def _quote(instrument, ts, venue, bid, ask):
    return Quote.objects.create(
        instrument=instrument, ts=ts, venue=venue, bid=Decimal(bid), ask=Decimal(ask), bid_size=1, ask_size=1
    )


@pytest.fixture
def world(desk):
    instrument = InstrumentFactory(symbol="XYZ")
    account = AccountFactory(code="ACC-R", desk=desk)
    alert = AlertFactory(account=account, instrument=instrument, window_start=W0, window_end=W0 + 60 * S)
    return alert


def test_given_two_venues_then_best_bid_is_highest_and_best_ask_lowest_seeded_from_before_the_replay(world):
    """Worked example: A quotes 10.00/10.04 before the replay; B 10.01/10.05 at t1 → 10.01/10.04;
    A 9.99/10.02 at t2 → 10.01/10.02 (B's bid, A's ask)."""
    inst = world.instrument
    _quote(inst, W0 - 10 * 60 * S, "A", "10.00", "10.04")  # in force when the replay starts (W0 − 5 min)
    _quote(inst, W0 + 1 * S, "B", "10.01", "10.05")
    _quote(inst, W0 + 2 * S, "A", "9.99", "10.02")

    replay = replay_for(world)

    assert replay.bbo == [
        (W0 - 5 * 60 * S, 10.00, 10.04),
        (W0 + 1 * S, 10.01, 10.04),
        (W0 + 2 * S, 10.01, 10.02),
        (W0 + 60 * S + 5 * 60 * S, 10.01, 10.02),  # held to the end of the replay
    ]
    assert replay.notes == []


def test_given_orders_and_fills_then_replay_keeps_the_accounts_rows_in_the_instrument_only(world):
    inst, account = world.instrument, world.account
    inside = OrderFactory(account=account, instrument=inst, arrival_ts=W0 + 3 * S, limit_price=Decimal("10.10"))
    OrderEvent.objects.create(order=inside, sequence=0, event_type="new", ts=W0 + 3 * S, price=Decimal("10.10"))
    OrderEvent.objects.create(order=inside, sequence=1, event_type="cancel", ts=W0 + 9 * S)
    early = OrderFactory(account=account, instrument=inst, arrival_ts=W0 - 3600 * S)  # named by the alert
    OrderFactory(account=account, instrument=InstrumentFactory(symbol="OTHER"), arrival_ts=W0)
    OrderFactory(account=AccountFactory(code="ACC-Z", desk=world.desk), instrument=inst, arrival_ts=W0)
    fill = TradeFactory(account=account, instrument=inst, ts=W0 + 4 * S, order=None)
    world.order_ids = [early.pk]
    world.save()

    replay = replay_for(world)

    assert [o.pk for o in replay.orders] == [early.pk, inside.pk]
    assert [o.in_evidence for o in replay.orders] == [True, False]
    assert [s.kind for s in replay.orders[1].steps] == ["new", "cancel"]
    assert [e.pk for e in replay.executions] == [fill.pk]


def test_given_more_prints_than_the_cap_then_capped_with_a_note(world, monkeypatch):
    monkeypatch.setattr(replay_module, "MAX_TAPE", 3)
    for k in range(5):
        MarketTrade.objects.create(
            instrument=world.instrument, ts=W0 + k * S, venue="X", tape_id=str(k), price=10, quantity=100
        )

    replay = replay_for(world)

    assert len(replay.tape) == 3
    assert replay.notes == ["Tape capped at 3 prints (to 15:00:02.000 UTC)."]


def test_given_alert_without_instrument_or_data_then_no_replay_chart(world):
    assert replay_chart(replay_for(world)) == ""  # nothing happened around the window
    world.instrument = None
    assert replay_for(world) is None


def test_given_replace_then_order_drawn_in_two_pieces_ending_at_the_cancel():
    t = [W0 + k * S for k in range(4)]
    order = OrderPath(
        pk=1, client_order_id="O1", side="sell", order_type="limit", limit_price=10.0, quantity=100,
        arrival_ts=t[0], in_evidence=True,
        steps=(
            OrderStep(t[0], "new", 10.0, 100), OrderStep(t[1], "replace", 10.2, 100),
            OrderStep(t[2], "cancel", None, 100), OrderStep(t[3], "fill", 10.2, 100),
        ),
    )  # fmt: skip

    assert _order_segments(order, end=W0 + 60 * S) == [(t[0], t[1], 10.0), (t[1], t[2], 10.2)]


def test_given_open_market_order_then_no_segment_and_open_limit_order_rests_to_the_end():
    base = {"pk": 1, "client_order_id": "O", "side": "buy", "quantity": 1, "arrival_ts": W0, "in_evidence": False}
    market = OrderPath(order_type="market", limit_price=None, steps=(OrderStep(W0, "new", None, 1),), **base)
    resting = OrderPath(order_type="limit", limit_price=9.5, steps=(OrderStep(W0, "new", 9.5, 1),), **base)

    assert _order_segments(market, end=W0 + 60 * S) == []
    assert _order_segments(resting, end=W0 + 60 * S) == [(W0, W0 + 60 * S, 9.5)]
