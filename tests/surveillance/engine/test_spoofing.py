"""Spoofing detector (surveillance.engine.spoofing) on hand-built order books.

The positive case is the pattern of the CFTC's 2013 guidance (78 FR 31890: "bidding or offering
with the intent to cancel the bid or offer before execution") and of Delegated Regulation (EU)
2016/522 Annex II Section 1 (a large order on one side, a trade on the other, then the order is
removed). Negative cases are the ordinary activity that shares some of its features.
"""

from __future__ import annotations

from typing import Any

import pytest

from surveillance.engine import spoofing
from surveillance.engine.params import ParameterError, params_clean
from surveillance.engine.types import SurveillanceData
from tests.surveillance.engine import builders as b

SPOOFER, LINKED, STRANGER, MAKER = 10, 11, 40, 20
ACCOUNTS = [
    {"account_id": SPOOFER, "kind": "proprietary", "group": 5},
    {"account_id": LINKED, "kind": "client", "group": 5},
    {"account_id": STRANGER, "kind": "client", "group": 9},
    {"account_id": MAKER, "kind": "market_maker", "group": 20},
    *({"account_id": a} for a in (31, 32, 33)),
]
# A 100.00 stock quoted 99.99 / 100.01: one cent is one basis point of the mid.
QUOTES = b.flat_quotes(bid=99.99, ask=100.01, until_s=400)
BACKGROUND = b.client_flow(accounts_ids=[31, 32, 33], first_order_id=1000, n_orders=30, price=100.0)


def _run(data: SurveillanceData, **params: float) -> list[Any]:
    return spoofing.detect(data, params_clean(spoofing.SPEC, params))


def _spoof_rows(
    *,
    quantity: float = 5_000,
    price: float = 99.99,
    life_s: float = 2.0,
    other_side_account: int = LINKED,
    filled: float = 0.0,
    account: int = SPOOFER,
    genuine_at_s: float = 99.5,
    fill_s: float | None = None,
) -> list[dict[str, Any]]:
    """A 300-share offer at 100.01 by ``other_side_account`` resting from ``genuine_at_s``; a buy
    of ``quantity`` at ``price`` placed at t=100 s and cancelled ``life_s`` later (``filled``
    executed first); the offer lifted at ``fill_s`` (default: one second before the cancel)."""
    fill_s = 100 + max(life_s - 1.0, 0.5) if fill_s is None else fill_s
    fills = [(100.2, price, filled)] if filled else []
    rows = b.order_life(
        1, account=account, side="buy", at_s=100, price=price, quantity=quantity, fills=fills, cancel_s=100 + life_s
    )
    rows += b.order_life(
        2, account=other_side_account, side="sell", at_s=genuine_at_s, price=100.01, quantity=300,
        fills=[(fill_s, 100.01, 300)],
    )  # fmt: skip
    return rows


def _with_background(rows: list[dict[str, Any]]) -> SurveillanceData:
    events = BACKGROUND + rows
    return b.market(orders=events, trades_rows=b.fills_as_trades(events), quote_rows=QUOTES, account_rows=ACCOUNTS)


def _spoof(**change: Any) -> SurveillanceData:
    return _with_background(_spoof_rows(**change))


def test_given_large_bid_cancelled_after_linked_sell_when_detected_then_one_alert_on_the_spoofer() -> None:
    # given a 5,000-share bid at the touch (≈20× the 100–300-share flow, 16.7× the 300 shown),
    # placed while a linked account's 300-share offer rested, the offer lifted after 1 s and
    # the bid cancelled a second later
    data = _spoof()
    # when
    found = _run(data)
    # then
    assert len(found) == 1
    d = found[0]
    assert (d.scenario, d.account, d.instrument) == ("spoofing", SPOOFER, 1)
    assert d.order_ids[0] == 1 and 2 in d.order_ids
    assert len(d.trade_ids) == 1
    assert d.features["size_ratio_x"] > 15
    assert d.features["life_s"] == pytest.approx(2.0)
    assert d.features["opposite_quantity"] == 300
    assert d.features["touch_size_ratio_x"] == pytest.approx(5_000 / 300, rel=1e-3)
    assert d.features["cancel_to_opposite_gap_s"] == pytest.approx(1.0)
    assert d.features["opposite_resting_before"] == 1.0
    assert 40.0 <= d.score <= 100.0
    assert "5,000" in d.summary and "2.0 s" in d.summary


def test_given_own_opposite_trade_then_alert_too() -> None:
    assert len(_run(_spoof(other_side_account=SPOOFER))) == 1


def test_given_opposite_trade_by_unrelated_group_then_no_alert() -> None:
    # given the same order book, but the sell was by someone with no link to the bidder
    assert _run(_spoof(other_side_account=STRANGER)) == []


def test_given_large_order_cancelled_without_any_opposite_activity_then_no_alert() -> None:
    # given an ordinary large client bid, cancelled after 5 s, with nothing done on the other side
    order = b.order_life(1, account=31, side="buy", at_s=100, price=99.99, quantity=8_000, cancel_s=105)
    assert _run(_with_background(order)) == []


def test_given_market_maker_two_sided_quoting_with_high_cancel_rate_then_no_alert() -> None:
    # given 400 alternating bids and offers of 1–5 lots, ~85% cancelled, fills on both sides
    mm = b.market_maker_flow(account=MAKER, first_order_id=5000, n_orders=400, bid=99.99, ask=100.01, every_s=0.5)
    cancels = sum(1 for r in mm if r["kind"] == "cancel")
    assert cancels / 400 > 0.8
    assert _run(_with_background(mm)) == []


def test_given_market_maker_that_spoofs_then_it_is_caught() -> None:
    # given the market maker's normal quoting (no alert on its own) plus one large bid it
    # cancels right after its own offer traded
    mm = b.market_maker_flow(account=MAKER, first_order_id=5000, n_orders=400, bid=99.99, ask=100.01, every_s=0.5)
    assert _run(_with_background(mm)) == []
    found = _run(_with_background(mm + _spoof_rows(account=MAKER, other_side_account=MAKER)))
    assert [(d.account, d.order_ids[0]) for d in found] == [(MAKER, 1)]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"price": 98.00}, "199 bps behind the touch: not near it"),
        ({"life_s": 120.0}, "lived two minutes: not cancelled quickly"),
        ({"filled": 2_500}, "half of it executed: a genuine order"),
        ({"quantity": 600}, "600 shares is ordinary size here"),
        ({"genuine_at_s": 100.5}, "the opposite order came after the large one (not resting when it arrived)"),
        ({"life_s": 25.0, "fill_s": 101.0}, "pulled 24 s after the trade: not tied to it"),
        ({"fill_s": 106.0}, "the opposite trade came 4 s after the cancel, beyond after_s"),
    ],
)
def test_given_one_feature_outside_the_definition_then_no_alert(change: dict[str, float], why: str) -> None:
    assert _run(_spoof(**change)) == [], why


def test_given_large_bid_two_ticks_behind_the_touch_then_near_enough() -> None:
    # given the 5,000-share bid at 99.85: 14 bps of the 100.00 mid behind the 99.99 touch, i.e.
    # "near the touch" under the 20 bps default (a few ticks); at 99.70 (29 bps) it is not
    assert len(_run(_spoof(price=99.85))) == 1
    assert _run(_spoof(price=99.70)) == []
    # and a stricter desk can require the order at the touch itself
    assert _run(_spoof(price=99.85), max_distance_bps=10.0) == []


def test_thresholds_are_parameters() -> None:
    # given a 600-share order (≈2.5× typical, 2× the touch): not an alert by default, one with
    # the size thresholds lowered
    data = _spoof(quantity=600)
    assert _run(data) == []
    assert len(_run(data, min_size_ratio=2.0, min_touch_ratio=2.0)) == 1
    # and a two-minute life is caught once max_life_s allows it
    assert len(_run(_spoof(life_s=120.0), max_life_s=300.0)) == 1
    # the aggressive variant (opposite order sent after the large one) once resting is not required
    assert len(_run(_spoof(genuine_at_s=100.5), require_resting_opposite=0)) == 1


def test_given_a_deep_touch_the_order_does_not_dominate_it_then_no_alert() -> None:
    # given 2,000 shares displayed at the bid: 5,000 more is 2.5× what is shown, under min_touch_ratio 4
    events = BACKGROUND + _spoof_rows()
    deep = b.flat_quotes(bid=99.99, ask=100.01, until_s=400, size=2_000)
    data = b.market(orders=events, trades_rows=b.fills_as_trades(events), quote_rows=deep, account_rows=ACCOUNTS)
    assert _run(data) == []
    assert len(_run(data, min_touch_ratio=2.0)) == 1


def test_given_trade_right_after_the_cancel_then_alert() -> None:
    # given the genuine offer lifted one second after the bid was pulled (within after_s = 2 s)
    found = _run(_spoof(fill_s=103.0))
    assert len(found) == 1 and found[0].features["cancel_to_opposite_gap_s"] == pytest.approx(1.0)


def test_given_large_orders_on_several_price_levels_then_left_to_layering() -> None:
    # given the same bid plus two more large bids one and two ticks lower, resting together
    more = [
        *b.order_life(3, account=SPOOFER, side="buy", at_s=100.1, price=99.98, quantity=5_000, cancel_s=102),
        *b.order_life(4, account=SPOOFER, side="buy", at_s=100.2, price=99.97, quantity=5_000, cancel_s=102),
    ]
    assert _run(_with_background(_spoof_rows() + more)) == []
    assert len(_run(_with_background(_spoof_rows() + more), max_levels=3)) >= 1


def test_score_rises_with_size_and_speed_and_stays_in_range() -> None:
    # given ever larger and faster spoofs, then scores never fall and stay within [0, 100]
    mild = _run(_spoof(quantity=1_500, life_s=25.0, fill_s=118.0))[0].score
    middle = _run(_spoof(quantity=5_000, life_s=10.0))[0].score
    blatant = _run(_spoof(quantity=50_000, life_s=0.6, fill_s=100.5))[0].score
    assert 0.0 <= mild < middle < blatant <= 100.0
    assert blatant > 85.0


def test_bad_parameters_are_rejected_field_by_field() -> None:
    with pytest.raises(ParameterError) as err:
        params_clean(spoofing.SPEC, {"max_life_s": -1, "min_size_ratio": "big", "colour": 3})
    assert set(err.value.errors) == {"max_life_s", "min_size_ratio", "colour"}
    assert params_clean(spoofing.SPEC, None) == spoofing.SPEC.defaults()


def test_empty_inputs_give_no_alerts() -> None:
    assert _run(SurveillanceData()) == []
