"""Layering detector (surveillance.engine.layering) on hand-built order books.

The positive case follows FINRA Rule 5210 Supplementary Material .03 step by step: layered
limit orders on one side at several prices, an opposite-side order that executes, then the
layered orders are cancelled. Negative cases share some of its features.
"""

from __future__ import annotations

from typing import Any

import pytest

from surveillance.engine import layering
from surveillance.engine.params import ParameterError, params_clean
from surveillance.engine.types import Detection, SurveillanceData
from tests.surveillance.engine import builders as b

LAYERER, LINKED, STRANGER, MAKER = 10, 11, 40, 20
ACCOUNTS = [
    {"account_id": LAYERER, "kind": "proprietary", "group": 5},
    {"account_id": LINKED, "kind": "client", "group": 5},
    {"account_id": STRANGER, "kind": "client", "group": 9},
    {"account_id": MAKER, "kind": "market_maker", "group": 20},
    *({"account_id": a} for a in (31, 32, 33)),
]
QUOTES = b.flat_quotes(bid=99.99, ask=100.01, until_s=900)
BACKGROUND = b.client_flow(accounts_ids=[31, 32, 33], first_order_id=1000, n_orders=60, price=100.0)


def _layer_rows(
    *,
    account: int = LAYERER,
    prices: tuple[float, ...] = (100.02, 100.03, 100.04, 100.05),
    quantity: float = 1_000,
    every_s: float = 0.5,
    buyer: int = LINKED,
    cancel_after_exec_s: float = 1.0,
    first_id: int = 1,
) -> list[dict[str, Any]]:
    """Sell layers from t=100 s, one every ``every_s``; at t=110 s ``buyer`` buys 300 at the
    ask (filled at 110.5 s); the layers are cancelled ``cancel_after_exec_s`` after that."""
    rows: list[dict[str, Any]] = []
    for k, px in enumerate(prices):
        rows += b.order_life(
            first_id + k,
            account=account,
            side="sell",
            at_s=100 + k * every_s,
            price=px,
            quantity=quantity,
            cancel_s=110.5 + cancel_after_exec_s + 0.1 * k,
        )
    rows += b.order_life(
        first_id + 50, account=buyer, side="buy", at_s=110, price=100.01, quantity=300, fills=[(110.5, 100.01, 300)]
    )
    return rows


def _market(rows: list[dict[str, Any]]) -> SurveillanceData:
    events = BACKGROUND + rows
    return b.market(orders=events, trades_rows=b.fills_as_trades(events), quote_rows=QUOTES, account_rows=ACCOUNTS)


def _run(data: SurveillanceData, **params: float) -> list[Detection]:
    return layering.detect(data, params_clean(layering.SPEC, params))


def test_given_four_sell_layers_then_linked_buy_then_cancels_when_detected_then_one_alert() -> None:
    # given four 1,000-share offers at four prices above the ask, a linked account's buy that
    # executes, and the offers cancelled a second later
    found = _run(_market(_layer_rows()))
    # then one episode on the layering account with every layer and the buy as evidence
    assert len(found) == 1
    d = found[0]
    assert (d.scenario, d.account, d.instrument) == ("layering", LAYERER, 1)
    assert {1, 2, 3, 4, 51} <= set(d.order_ids)
    assert len(d.trade_ids) == 1
    assert d.features["layer_orders"] == 4 and d.features["price_levels"] == 4
    assert d.features["layer_quantity"] == 4_000
    assert d.features["book_imbalance"] == pytest.approx(1.0)
    assert d.features["cancel_delay_s"] == pytest.approx(1.15)
    assert d.features["burst_span_s"] == pytest.approx(1.5)
    assert 40.0 <= d.score <= 100.0
    assert "4 sell orders" in d.summary and "4 price levels" in d.summary


def test_given_execution_by_the_same_account_then_alert_too() -> None:
    assert [d.account for d in _run(_market(_layer_rows(buyer=LAYERER)))] == [LAYERER]


def test_given_opposite_execution_by_unrelated_group_then_no_alert() -> None:
    assert _run(_market(_layer_rows(buyer=STRANGER))) == []


def test_given_layers_at_one_price_level_then_no_alert() -> None:
    # three orders at a single price are not "various price levels" (that is spoofing's ground)
    assert _run(_market(_layer_rows(prices=(100.02, 100.02, 100.02)))) == []


def test_given_orders_left_resting_after_the_execution_then_no_alert() -> None:
    # given the layers cancelled ten minutes after the buy: not pulled because of it
    assert _run(_market(_layer_rows(cancel_after_exec_s=600))) == []


def test_given_orders_spread_over_minutes_then_no_burst_and_no_alert() -> None:
    assert _run(_market(_layer_rows(every_s=3.0)), burst_s=5.0) == []
    assert len(_run(_market(_layer_rows(every_s=3.0)), burst_s=10.0)) == 1


def test_given_large_order_cancelled_without_opposite_activity_then_no_alert() -> None:
    order = b.order_life(1, account=31, side="buy", at_s=100, price=99.99, quantity=8_000, cancel_s=105)
    assert _run(_market(order)) == []


def test_given_market_maker_two_sided_quoting_with_high_cancel_rate_then_no_alert() -> None:
    # given a market maker quoting 1–5 lots on both sides every 0.2 s at moving prices, most
    # quotes cancelled within seconds and its fills on both sides
    mm: list[dict[str, Any]] = []
    for k, (bid, ask) in enumerate([(99.99, 100.01), (99.98, 100.00), (100.00, 100.02), (99.97, 99.99)]):
        mm += b.market_maker_flow(
            account=MAKER, first_order_id=5000 + 1000 * k, n_orders=500, bid=bid, ask=ask,
            start_s=k * 100.0, every_s=0.2, fill_every=5, seed=k,
        )  # fmt: skip
    assert sum(r["kind"] == "cancel" for r in mm) / 2000 > 0.75
    assert _run(_market(mm)) == []


def test_given_balanced_two_sided_book_then_no_alert() -> None:
    # given the same layers but equally large bids resting at the same time: no one-sided pressure
    bids = [
        *b.order_life(80, account=LAYERER, side="buy", at_s=99, price=99.98, quantity=2_000, cancel_s=300),
        *b.order_life(81, account=LAYERER, side="buy", at_s=99, price=99.97, quantity=2_000, cancel_s=300),
    ]
    assert _run(_market(_layer_rows() + bids)) == []


def test_given_market_maker_that_layers_then_it_is_caught() -> None:
    # given its normal quoting (about 1,200 shares resting per side) plus four 5,000-share offers
    # layered above the ask: the book it shows is then over 90% one-sided
    mm = b.market_maker_flow(account=MAKER, first_order_id=5000, n_orders=500, bid=99.99, ask=100.01, every_s=0.5)
    assert _run(_market(mm)) == []
    found = _run(_market(mm + _layer_rows(account=MAKER, buyer=MAKER, quantity=5_000)))
    assert [d.account for d in found] == [MAKER]
    assert found[0].features["book_imbalance"] >= 0.9
    # but layers no bigger than its own quoting look like quoting (a documented blind spot)
    assert _run(_market(mm + _layer_rows(account=MAKER, buyer=MAKER, quantity=300))) == []


def test_score_rises_with_layers_and_depth_and_stays_in_range() -> None:
    mild = _run(_market(_layer_rows(prices=(100.02, 100.03, 100.04), quantity=300, cancel_after_exec_s=20)))
    strong = _run(_market(_layer_rows(quantity=1_500, cancel_after_exec_s=3)))
    blatant = _run(
        _market(_layer_rows(prices=tuple(100.02 + 0.01 * k for k in range(8)), quantity=5_000, every_s=0.05))
    )
    assert 0.0 <= mild[0].score < strong[0].score < blatant[0].score <= 100.0
    assert blatant[0].score > 90.0


def test_bad_parameters_are_rejected_field_by_field() -> None:
    with pytest.raises(ParameterError) as err:
        params_clean(layering.SPEC, {"min_orders": 2.5, "min_imbalance": 2.0, "burst_s": "soon"})
    assert set(err.value.errors) == {"min_orders", "min_imbalance", "burst_s"}
    assert params_clean(layering.SPEC, {"min_orders": "4"})["min_orders"] == 4.0


def test_empty_inputs_give_no_alerts() -> None:
    assert _run(SurveillanceData()) == []
