"""Wash trades: internal crosses and near matches between accounts of one beneficial owner.

Definitions: EU MAR Annex I A(c) (no change in beneficial ownership); FINRA Rule 5210
Supplementary Material .02 (self-trades). Scores are checked against the documented closed
form ``100 · E / (1 + E)`` with E the summed match weights.
"""

from __future__ import annotations

from typing import Any

import pytest

from surveillance.engine import wash_trades
from surveillance.engine.params import ParameterError, params_clean
from tests.surveillance.engine import builders as b

# Accounts 10 and 11 share a beneficial owner (group 1); 20 is unrelated; 30 and 31 are a
# market maker's two books, linked as one group.
ACCOUNTS = [
    {"account_id": 10, "group": 1},
    {"account_id": 11, "group": 1},
    {"account_id": 20, "group": 20},
    {"account_id": 30, "group": 3, "kind": "market_maker"},
    {"account_id": 31, "group": 3, "kind": "market_maker"},
]


def _run(trade_rows: list[dict[str, Any]], quote_rows: Any = (), **params: float) -> list[Any]:
    data = b.market(trades_rows=trade_rows, quote_rows=quote_rows, account_rows=ACCOUNTS)
    return wash_trades.detect(data, params_clean(wash_trades.SPEC, params))


def _cross(trade_id: int, buyer: int, seller: int, t: float, price: float = 50.0, qty: float = 1_000.0) -> list[dict]:
    """Both recorded sides of one internal cross."""
    common = {"instrument": 1, "t": t, "price": price, "quantity": qty}
    return [
        {
            "trade_id": trade_id,
            "order_id": 100 + trade_id,
            "account": buyer,
            "counterparty": seller,
            "side": "buy",
            **common,
        },
        {
            "trade_id": trade_id + 1,
            "order_id": 101 + trade_id,
            "account": seller,
            "counterparty": buyer,
            "side": "sell",
            **common,
        },
    ]


def _leg(trade_id: int, account: int, side: str, t: float, price: float = 50.0, qty: float = 1_000.0) -> dict:
    """One leg matched anonymously on a venue (counterparty unknown)."""
    return {"trade_id": trade_id, "account": account, "side": side, "t": t, "price": price, "quantity": qty}


def test_given_linked_accounts_crossing_internally_then_one_detection_at_score_50():
    found = _run(_cross(1, buyer=10, seller=11, t=100.0))
    assert len(found) == 1
    d = found[0]
    assert d.scenario == "wash_trades" and d.account in (10, 11) and d.instrument == 1
    # Both recorded sides are evidence, but the cross counts once: E = 1 → 100·1/2.
    assert d.trade_ids == (1, 2) and d.order_ids == (101, 102)
    assert d.features["exact_crosses"] == 1 and d.features["near_matches"] == 0
    assert d.score == pytest.approx(50.0)
    assert "1 internal cross" in d.summary and "1,000 shares" in d.summary


def test_given_an_account_trading_with_itself_then_it_is_a_wash():
    rows = [{**_leg(1, 10, "buy", 100.0), "counterparty": 10}]
    assert [d.features["exact_crosses"] for d in _run(rows)] == [1.0]


def test_given_unrelated_accounts_crossing_then_no_detection():
    # A cross between two beneficial owners changes ownership: it is ordinary internalisation.
    assert _run(_cross(1, buyer=10, seller=20, t=100.0)) == []


def test_given_simultaneous_legs_at_one_price_and_size_then_a_near_wash_weighs_one():
    found = _run([_leg(1, 10, "buy", 100.0), _leg(2, 11, "sell", 100.0)])
    assert len(found) == 1
    assert found[0].features["near_matches"] == 1 and found[0].features["evidence_weight"] == pytest.approx(1.0)
    assert found[0].trade_ids == (1, 2)


def test_given_looser_near_matches_then_their_weights_add_up_to_the_closed_form():
    """w = (q_small/q_large)·(1 − ½·Δt/window)·(1 − ½·Δp/tolerance): 30 s apart in a 60 s
    window at one price and size weighs 0.75; one such pair is below one cross's evidence,
    two make E = 1.5 and a score of 100·1.5/2.5 = 60."""
    one = [_leg(1, 10, "buy", 100.0), _leg(2, 11, "sell", 130.0)]
    assert _run(one) == []
    assert _run(one, min_evidence=0.5)[0].features["evidence_weight"] == pytest.approx(0.75)
    two = [*one, _leg(3, 11, "buy", 400.0), _leg(4, 10, "sell", 430.0)]
    found = _run(two)
    assert len(found) == 1
    assert found[0].features["evidence_weight"] == pytest.approx(1.5)
    assert found[0].score == pytest.approx(60.0)


@pytest.mark.parametrize(
    ("second_leg", "why"),
    [
        (_leg(2, 11, "sell", 161.0), "61 s apart, beyond the 60 s window"),
        (_leg(2, 11, "sell", 100.0, price=50.02), "4 bps apart, beyond the 1 bp tolerance"),
        (_leg(2, 11, "sell", 100.0, qty=700.0), "30% smaller, beyond the 20% tolerance"),
        (_leg(2, 11, "buy", 100.0), "same side: no round trip"),
        (_leg(2, 20, "sell", 100.0), "an unrelated account"),
    ],
)
def test_given_legs_that_do_not_match_then_no_near_wash(second_leg, why):
    assert _run([_leg(1, 10, "buy", 100.0), second_leg], min_evidence=0.1) == [], why


def test_given_a_market_maker_buying_the_bid_and_selling_the_ask_all_day_then_no_wash():
    quotes = b.flat_quotes(bid=50.00, ask=50.01, until_s=23_400.0, every_s=60.0)
    events = b.market_maker_flow(account=30, first_order_id=1, n_orders=2_000, bid=50.00, ask=50.01, every_s=10.0)
    fills = b.fills_as_trades(events)
    assert {r["side"] for r in fills} == {"buy", "sell"} and len(fills) > 250
    # One book: round trips against outside counterparties change ownership each time.
    assert _run(fills, quotes, price_tolerance_bps=5.0, min_evidence=0.1) == []
    # Two linked books, bids in one and offers in the other: buys at the bid and sells at the
    # offer a spread apart (2 bps, inside a loosened 5 bp tolerance) are still not washes.
    split = [{**r, "account": 31 if r["side"] == "sell" else 30} for r in fills]
    assert _run(split, quotes, price_tolerance_bps=5.0, min_evidence=0.1) == []
    # The same two books trading at one price within seconds are.
    cross = [
        _leg(9_001, 30, "buy", 5_000.0, price=50.005, qty=300.0),
        _leg(9_002, 31, "sell", 5_000.0, price=50.005, qty=300.0),
    ]
    assert [d.account for d in _run(split + cross, quotes)] in ([30], [31])


def test_given_crosses_hours_apart_then_separate_episodes():
    found = _run([*_cross(1, 10, 11, t=100.0), *_cross(3, 10, 11, t=100.0 + 7_200.0)])
    assert len(found) == 2


def test_given_more_crosses_then_the_score_rises_within_bounds():
    scores = []
    for n in (1, 2, 4, 9):
        rows = [r for k in range(n) for r in _cross(1 + 2 * k, 10, 11, t=100.0 + 60.0 * k)]
        (d,) = _run(rows)
        scores.append(d.score)
    assert scores == pytest.approx([50.0, 100 * 2 / 3, 80.0, 90.0], abs=0.01)
    assert all(0.0 <= s <= 100.0 for s in scores)


def test_given_bad_parameters_then_they_are_rejected_by_name():
    with pytest.raises(ParameterError) as bad:
        params_clean(wash_trades.SPEC, {"near_window_s": -1, "price_tolerance_bps": "wide", "nonsense": 1})
    assert set(bad.value.errors) == {"near_window_s", "price_tolerance_bps", "nonsense"}
    with pytest.raises(ParameterError):
        wash_trades.detect(b.market(), {"min_evidence": 0.0})


def test_given_no_trades_then_nothing():
    assert wash_trades.detect(b.market(), wash_trades.SPEC.defaults()) == []
