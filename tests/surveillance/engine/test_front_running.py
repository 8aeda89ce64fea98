"""Front-running detector (surveillance.engine.front_running) on hand-built days.

The positive case is the conduct FINRA Rule 5270 prohibits: trading on knowledge of an
imminent block transaction for an account in which the member or associated person has an
interest, here buying minutes before a large client buy and selling into the price it moved.
ADV is 1,000,000 shares from the daily bars, so the default 2%-of-ADV threshold is 20,000.
"""

from __future__ import annotations

from typing import Any

import pytest

from surveillance.engine import front_running
from surveillance.engine.params import ParameterError, params_clean
from surveillance.engine.types import Detection, SurveillanceData
from tests.surveillance.engine import builders as b

CLIENT, CLIENT_LINK, PROP, EMPLOYEE, SPOUSE, STRANGER, MAKER = 31, 32, 10, 12, 13, 40, 20
ACCOUNTS = [
    {"account_id": CLIENT, "group": 31},
    {"account_id": CLIENT_LINK, "group": 31},
    {"account_id": PROP, "kind": "proprietary", "group": 5},
    {"account_id": EMPLOYEE, "is_employee": True, "group": 6},
    {"account_id": SPOUSE, "group": 6},
    {"account_id": STRANGER, "group": 9},
    {"account_id": MAKER, "kind": "market_maker", "group": 20},
    *({"account_id": a} for a in (51, 52, 53)),
]
BARS = [{"day": -d, "close": 100.0, "volume": 1_000_000} for d in range(1, 21)]
BACKGROUND = b.client_flow(accounts_ids=[51, 52, 53], first_order_id=1000, n_orders=60, price=100.0, every_s=20)


def _block(quantity: float = 30_000, at_s: float = 600.0) -> list[dict[str, Any]]:
    """A client buy worked over five minutes in four fills, pushing the price from 100.05 to 100.30."""
    fills = [(at_s + 60 * (k + 1), 100.05 + 0.08 * k + (0.01 if k == 3 else 0.0), quantity / 4) for k in range(4)]
    return b.order_life(1, account=CLIENT, side="buy", at_s=at_s, price=None, quantity=quantity, fills=fills)


def _round_trip(
    account: int,
    *,
    buy_s: float = 420.0,
    sell_s: float | None = 1_000.0,
    quantity: float = 1_000,
    side: str = "buy",
    sell_price: float = 100.30,
    first_id: int = 100,
) -> list[dict[str, Any]]:
    """``account`` trades ``quantity`` on ``side`` at 100.00 at ``buy_s`` and reverses it at
    ``sell_price`` at ``sell_s`` (no reversal when None)."""
    rows = b.order_life(
        first_id, account=account, side=side, at_s=buy_s - 1, price=None, quantity=quantity,
        fills=[(buy_s, 100.0, quantity)],
    )  # fmt: skip
    if sell_s is not None:
        back = "sell" if side == "buy" else "buy"
        rows += b.order_life(
            first_id + 1, account=account, side=back, at_s=sell_s - 1, price=None, quantity=quantity,
            fills=[(sell_s, sell_price, quantity)],
        )  # fmt: skip
    return rows


def _market(*parts: list[dict[str, Any]]) -> SurveillanceData:
    events = [r for p in (BACKGROUND, *parts) for r in p]
    return b.market(orders=events, trades_rows=b.fills_as_trades(events), bar_rows=BARS, account_rows=ACCOUNTS)


def _run(data: SurveillanceData, **params: float) -> list[Detection]:
    return front_running.detect(data, params_clean(front_running.SPEC, params))


def test_given_prop_buys_before_client_block_and_sells_after_when_detected_then_one_alert() -> None:
    # given a proprietary account buying 1,000 three minutes before a 30,000-share client buy
    # (3% of ADV) and selling them at 100.30 once the block has lifted the price
    found = _run(_market(_block(), _round_trip(PROP)))
    # then one alert on the proprietary account, with the client order and both trades as evidence
    assert len(found) == 1
    d = found[0]
    assert (d.scenario, d.account, d.instrument) == ("front_running", PROP, 1)
    assert {1, 100, 101} <= set(d.order_ids)
    assert len(d.trade_ids) == 2
    assert d.features["ahead_quantity"] == 1_000
    assert d.features["ahead_gap_s"] == pytest.approx(180.0)
    assert d.features["unwind_share"] == 1.0
    assert d.features["profit_bps"] == pytest.approx(30.0)
    assert d.features["client_adv_pct"] == pytest.approx(3.0)
    assert 40.0 <= d.score <= 100.0
    assert "3.0 min before" in d.summary and "30,000" in d.summary


def test_given_employee_spouse_account_trades_ahead_then_alert_on_that_account() -> None:
    found = _run(_market(_block(), _round_trip(SPOUSE)))
    assert [d.account for d in found] == [SPOUSE]


def test_given_same_round_trip_by_unrelated_group_then_no_alert() -> None:
    assert _run(_market(_block(), _round_trip(STRANGER))) == []


def test_given_client_own_linked_account_trading_ahead_then_no_alert() -> None:
    assert _run(_market(_block(), _round_trip(CLIENT_LINK))) == []


def test_given_prop_sells_before_a_client_buy_then_no_alert() -> None:
    assert _run(_market(_block(), _round_trip(PROP, side="sell", sell_price=100.0))) == []


def test_given_no_unwind_then_no_alert_by_default_but_found_when_unwind_not_required() -> None:
    data = _market(_block(), _round_trip(PROP, sell_s=None))
    assert _run(data) == []
    found = _run(data, min_unwind_share=0.0)
    # then the profit is marked at the client's VWAP: (100.05 + 100.13 + 100.21 + 100.30) / 4 = 100.1725
    assert len(found) == 1 and found[0].features["profit_bps"] == pytest.approx(17.25)
    assert found[0].features["unwind_share"] == 0.0


def test_given_ordinary_small_client_order_then_no_alert() -> None:
    assert _run(_market(_block(quantity=400), _round_trip(PROP))) == []


def test_given_trade_long_before_the_client_order_then_no_alert() -> None:
    # given the buy 6 minutes before the block: outside the 5-minute lookback
    assert _run(_market(_block(), _round_trip(PROP, buy_s=240))) == []
    assert len(_run(_market(_block(), _round_trip(PROP, buy_s=240)), lookback_s=600)) == 1


def test_given_an_active_trader_whose_usual_flow_is_as_large_then_no_alert() -> None:
    # given a proprietary account that moves 1,000 shares one way or the other every five
    # minutes all day: 1,000 ahead of the block is its ordinary flow (position_z ≈ 1)
    busy: list[dict[str, Any]] = []
    for k in range(70):
        t = 1_000.0 + 300.0 * k
        busy += b.order_life(
            2_000 + k, account=PROP, side="buy" if k % 3 else "sell", at_s=t - 1, price=None, quantity=1_000,
            fills=[(t, 100.0, 1_000)],
        )  # fmt: skip
    found = _run(_market(_block(), _round_trip(PROP), busy))
    assert found == []
    assert _run(_market(_block(), _round_trip(PROP), busy), min_position_z=0.5)[0].features["position_z"] < 2


def test_given_an_employee_holding_a_large_position_then_alert_without_unwind() -> None:
    # given an employee (who never trades otherwise) buying 3,000 two minutes before the block and
    # keeping them: ten times an ordinary order, reported although not unwound
    found = _run(_market(_block(), _round_trip(EMPLOYEE, quantity=3_000, buy_s=480, sell_s=None)))
    assert [d.account for d in found] == [EMPLOYEE]
    assert found[0].features["unwind_share"] == 0.0 and found[0].features["position_z"] >= 10


def test_given_market_maker_two_sided_quoting_around_the_block_then_no_alert() -> None:
    mm = b.market_maker_flow(account=MAKER, first_order_id=5000, n_orders=600, bid=99.99, ask=100.01, every_s=2.0)
    assert _run(_market(_block(), mm)) == []


def test_parent_and_child_orders_give_one_alert() -> None:
    # given the block also sent as a 30,000-share child order of the same client a second later
    child = [{**r, "order_id": 2, "t": r["t"] + 1} for r in _block()]
    found = _run(_market(_block(), child, _round_trip(PROP)))
    assert len(found) == 1
    assert found[0].extra["client_order_ids"] == [1, 2]


def test_score_rises_with_position_closeness_and_profit() -> None:
    mild = _run(_market(_block(), _round_trip(PROP, quantity=1_000, buy_s=320, sell_price=100.05)))
    strong = _run(_market(_block(), _round_trip(PROP, quantity=2_000, buy_s=450, sell_price=100.20)))
    blatant = _run(_market(_block(), _round_trip(PROP, quantity=4_000, buy_s=595, sell_price=100.60)))
    assert 0.0 <= mild[0].score < strong[0].score < blatant[0].score <= 100.0
    assert blatant[0].score > 85.0


def test_adv_falls_back_to_the_tape() -> None:
    # given no daily bars but two days of tape with 500,000 shares each: ADV 500,000
    tape = [{"t": 10, "day": d, "price": 100.0, "quantity": 250_000} for d in (-1, -2)]
    tape += [{"t": 20, "day": d, "price": 100.0, "quantity": 250_000} for d in (-1, -2)]
    data = b.market(tape_rows=tape)
    adv = front_running.average_daily_volume(data, data.tape.instrument[:1])
    assert adv[0] == pytest.approx(500_000)


def test_bad_parameters_are_rejected_field_by_field() -> None:
    with pytest.raises(ParameterError) as err:
        params_clean(front_running.SPEC, {"lookback_s": 0, "min_unwind_share": 1.5, "min_adv_pct": None})
    assert set(err.value.errors) == {"lookback_s", "min_unwind_share", "min_adv_pct"}


def test_empty_inputs_give_no_alerts() -> None:
    assert _run(SurveillanceData()) == []
