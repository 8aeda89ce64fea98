"""Behaviour features (surveillance.engine.features) against hand computation on a tiny market.

Definitions: module docstring of ``surveillance.engine.features``; the order-to-trade ratio
follows MiFID II RTS 9 (Delegated Regulation (EU) 2017/566) Art. 3 (order messages per
transaction). Every expected number below is worked out in the comments from the rows listed.
"""

from __future__ import annotations

import numpy as np
import pytest

from surveillance.engine.features import FEATURE_NAMES, behaviour_features, feature_value_text
from surveillance.engine.types import SurveillanceData, SurveillanceInputError
from tests.surveillance.engine import builders as b

A, B = 10, 20  # accounts
SESSION_S = 23_400.0  # 14:30–21:00 UTC, the default session
CLOSE_S = SESSION_S  # the close, in seconds after the open


def tiny_market() -> SurveillanceData:
    """Two accounts, two instruments, two days (day 0 = builders.DAY).

    Instrument 1 has 20 bars of 10,000 shares before day 0 and 30,000 on day 0, so ADV is
    10,000 on day 0 and (19 × 10,000 + 30,000) / 20 = 11,000 on day 1 (last 20 bars strictly
    before the day). Instrument 2 has no bars: its ADV falls back to its mean daily tape
    quantity, 1,000. A price-sensitive event hits instrument 1 one minute after day 1's open;
    a routine one hits instrument 2 (ignored).
    """
    orders = [
        # Account A, instrument 1, day 0.
        *b.order_life(1, account=A, side="buy", at_s=0, quantity=1_000, price=10.0, cancel_s=2),
        {
            "order_id": 2,
            "account": A,
            "side": "buy",
            "kind": "new",
            "t": 10,
            "price": 10.0,
            "quantity": 500,
            "order_quantity": 500,
        },
        {"order_id": 2, "account": A, "side": "buy", "kind": "replace", "t": 20, "price": 10.0, "quantity": 600},
        {"order_id": 2, "account": A, "side": "buy", "kind": "cancel", "t": 30, "price": 10.0, "quantity": 600},
        *b.order_life(3, account=A, side="sell", at_s=100, quantity=300, price=10.0, fills=[(101, 10.0, 300)]),
        *b.order_life(
            4, account=A, side="buy", at_s=CLOSE_S - 400, quantity=200, price=10.0, fills=[(CLOSE_S - 300, 10.0, 200)]
        ),
        # Account A, instrument 1, day 1: one buy before the event, one sell after it.
        *b.order_life(5, account=A, side="buy", at_s=30, quantity=1_000, price=10.0, fills=[(31, 10.0, 1_000)], day=1),
        *b.order_life(6, account=A, side="sell", at_s=120, quantity=400, price=10.0, fills=[(121, 10.0, 400)], day=1),
        # Account A, instrument 2, day 0.
        *b.order_life(7, account=A, side="buy", at_s=50, quantity=50, price=5.0, instrument=2, fills=[(51, 5.0, 50)]),
        # Account B, instrument 1, day 1: one order cancelled after 1 s, nothing traded.
        *b.order_life(8, account=B, side="sell", at_s=10, quantity=100, price=10.0, cancel_s=11, day=1),
    ]
    trades = b.fills_as_trades(orders)
    # Account B, day 0: an execution without an order (e.g. a give-up), buy 100.
    trades.append({"trade_id": 99, "account": B, "side": "buy", "t": 500, "price": 10.0, "quantity": 100})
    tape = [
        {"t": 1_000, "price": 10.0, "quantity": 5_000},  # instrument 1, day 0: 5,000 in all
        {"t": 1_000, "day": 1, "price": 10.0, "quantity": 7_000},  # instrument 1, day 1: 7,000
        {"instrument": 2, "t": 60, "price": 5.0, "quantity": 1_000},  # instrument 2, day 0: 1,000
    ]
    bars = [{"day": d, "close": 10.0, "volume": 10_000.0} for d in range(-20, 0)]
    bars.append({"day": 0, "close": 10.0, "volume": 30_000.0})
    news = [
        {"event_id": 1, "t": 60, "day": 1, "price_sensitive": True},
        {"event_id": 2, "instrument": 2, "t": 60, "day": 1, "price_sensitive": False},
    ]
    return b.market(orders=orders, trades_rows=trades, tape_rows=tape, bar_rows=bars, news_rows=news)


def row(table, account: int, instrument: int, day: int) -> dict[str, float]:
    hit = np.flatnonzero((table.account == account) & (table.instrument == instrument) & (table.day == b.DAY + day))
    assert hit.size == 1
    return dict(zip(table.names, table.X[hit[0]].tolist(), strict=True))


def test_given_a_tiny_market_when_features_computed_then_each_row_matches_the_hand_computation():
    table = behaviour_features(tiny_market())
    assert table.names == FEATURE_NAMES
    # One row per (account, instrument, day) with activity, sorted by those keys.
    assert list(zip(table.account.tolist(), table.instrument.tolist(), (table.day - b.DAY).tolist(), strict=True)) == [
        (A, 1, 0),
        (A, 1, 1),
        (A, 2, 0),
        (B, 1, 0),
        (B, 1, 1),
    ]
    # A/1/day 0: 4 new orders, 1 replace, 2 cancels = 7 messages over 2 executions → 3.5.
    # Cancelled 2 of 4 (after 2 s and 20 s: median 11 s); mean new-order size 2,000 / 4 = 500
    # = 5% of ADV 10,000. Executed: sold 300, bought 200 (the buy 5 min before the close):
    # gross 500 = 10% of the 5,000 tape and 5% of ADV; closing window 200 / 500; net/gross
    # 100 / 500. Pre-event: the event on day 1 sees −300 + 200 (day 0) + 1,000 (day 1, before
    # it) = +900 within 48 h → 900 / 10,000.
    assert row(table, A, 1, 0) == pytest.approx(
        {
            "orders_count": 4,
            "trades_count": 2,
            "order_to_trade_ratio": 3.5,
            "cancel_rate": 0.5,
            "replace_rate": 0.25,
            "median_time_to_cancel_s": 11.0,
            "mean_order_size_vs_adv": 0.05,
            "share_of_volume": 0.1,
            "traded_qty_vs_adv": 0.05,
            "closing_window_share": 0.4,
            "net_gross_ratio": 0.2,
            "pre_event_position": 0.09,
        }
    )
    # A/1/day 1: ADV 11,000; bought 1,000 and sold 400 (gross 1,400 of a 7,000 tape); no cancel
    # → time to cancel filled with the session length; same event, +900 / 11,000.
    assert row(table, A, 1, 1) == pytest.approx(
        {
            "orders_count": 2,
            "trades_count": 2,
            "order_to_trade_ratio": 1.0,
            "cancel_rate": 0.0,
            "replace_rate": 0.0,
            "median_time_to_cancel_s": SESSION_S,
            "mean_order_size_vs_adv": 700 / 11_000,
            "share_of_volume": 0.2,
            "traded_qty_vs_adv": 1_400 / 11_000,
            "closing_window_share": 0.0,
            "net_gross_ratio": 600 / 1_400,
            "pre_event_position": 900 / 11_000,
        }
    )
    # A/2/day 0: no bars, ADV = mean daily tape 1,000; the routine news is not price-sensitive.
    assert row(table, A, 2, 0) == pytest.approx(
        {
            "orders_count": 1,
            "trades_count": 1,
            "order_to_trade_ratio": 1.0,
            "cancel_rate": 0.0,
            "replace_rate": 0.0,
            "median_time_to_cancel_s": SESSION_S,
            "mean_order_size_vs_adv": 0.05,
            "share_of_volume": 0.05,
            "traded_qty_vs_adv": 0.05,
            "closing_window_share": 0.0,
            "net_gross_ratio": 1.0,
            "pre_event_position": 0.0,
        }
    )
    # B/1/day 0: an execution without orders: no messages (ratio 0 / 1), one-sided.
    assert row(table, B, 1, 0) == pytest.approx(
        {
            "orders_count": 0,
            "trades_count": 1,
            "order_to_trade_ratio": 0.0,
            "cancel_rate": 0.0,
            "replace_rate": 0.0,
            "median_time_to_cancel_s": SESSION_S,
            "mean_order_size_vs_adv": 0.0,
            "share_of_volume": 0.02,
            "traded_qty_vs_adv": 0.01,
            "closing_window_share": 0.0,
            "net_gross_ratio": 1.0,
            "pre_event_position": 0.01,
        }
    )
    # B/1/day 1: 2 messages and no execution (denominator floored at 1); nothing traded, so
    # net/gross is filled with 1; B's pre-event position is its +100 of day 0.
    assert row(table, B, 1, 1) == pytest.approx(
        {
            "orders_count": 1,
            "trades_count": 0,
            "order_to_trade_ratio": 2.0,
            "cancel_rate": 1.0,
            "replace_rate": 0.0,
            "median_time_to_cancel_s": 1.0,
            "mean_order_size_vs_adv": 100 / 11_000,
            "share_of_volume": 0.0,
            "traded_qty_vs_adv": 0.0,
            "closing_window_share": 0.0,
            "net_gross_ratio": 1.0,
            "pre_event_position": 100 / 11_000,
        }
    )
    assert table.column("cancel_rate").tolist() == [0.5, 0.0, 0.0, 0.0, 1.0]


def test_given_parameters_when_changed_then_windows_follow_them():
    """A 2-minute closing window excludes the buy 5 minutes before the close. With a 12-hour
    look-back the event (day 1, 14:31 UTC) keeps only day 1's +1,000, B's day-0 trade drops out,
    and day 0's rows no longer reach the event (it is more than 12 h after day 0 ends)."""
    table = behaviour_features(tiny_market(), closing_window_min=2.0, pre_event_days=0.5)
    assert row(table, A, 1, 0)["closing_window_share"] == 0.0
    assert row(table, A, 1, 0)["pre_event_position"] == 0.0
    assert row(table, A, 1, 1)["pre_event_position"] == pytest.approx(1_000 / 11_000)
    assert row(table, B, 1, 1)["pre_event_position"] == 0.0


def test_given_no_events_when_features_computed_then_the_table_is_empty():
    table = behaviour_features(SurveillanceData())
    assert len(table) == 0
    assert table.X.shape == (0, len(FEATURE_NAMES))


def test_given_bad_windows_when_features_computed_then_a_clear_error():
    with pytest.raises(SurveillanceInputError, match="adv_days"):
        behaviour_features(tiny_market(), adv_days=0)


def test_given_many_events_when_features_computed_then_the_features_are_finite_and_bounded():
    """Given the builders' background flow for 12 accounts and a market maker, every value is
    finite and the shares stay in [0, 1]."""
    flow = [
        *b.client_flow(accounts_ids=list(range(100, 112)), first_order_id=1_000, n_orders=240, price=10.0),
        *b.market_maker_flow(account=50, first_order_id=5_000, n_orders=400, bid=9.99, ask=10.01),
    ]
    data = b.market(
        orders=flow, trades_rows=b.fills_as_trades(flow), tape_rows=[{"t": 1, "price": 10, "quantity": 1e5}]
    )
    table = behaviour_features(data)
    assert len(table) == 13
    assert np.isfinite(table.X).all()
    for name in ("cancel_rate", "share_of_volume", "closing_window_share", "net_gross_ratio"):
        assert ((table.column(name) >= 0) & (table.column(name) <= 1)).all()
    maker = np.flatnonzero(table.account == 50)[0]
    # 6 of every 7 market-maker orders are cancelled (builders.market_maker_flow).
    assert table.column("cancel_rate")[maker] == pytest.approx(1 - 57 / 400)


def test_feature_values_read_as_an_analyst_expects():
    assert feature_value_text("cancel_rate", 0.97) == "97.0%"
    assert feature_value_text("median_time_to_cancel_s", 0.4) == "0.4 s"
    assert feature_value_text("orders_count", 1234) == "1,234"
    assert feature_value_text("pre_event_position", -0.05) == "-5.0% of ADV"
    assert feature_value_text("order_to_trade_ratio", 3.5) == "3.50"
