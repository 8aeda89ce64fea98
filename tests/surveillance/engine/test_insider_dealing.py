"""Insider dealing: an unusual one-way position before price-sensitive news that then pays off.

Definition: EU MAR Art. 8 and 14. The abnormal return comes from the market-adjusted model
(checked by hand in ``test_event_study``); here the market has a known ADV (100,000 shares a
day on the tape) and the price-sensitive news lifts instrument 1 by a hand-computed 6.2σ.
"""

from __future__ import annotations

from typing import Any

import pytest

from surveillance.engine import insider_dealing
from surveillance.engine.params import ParameterError, params_clean
from tests.surveillance.engine import builders as b

SESSION_S = 6.5 * 3600
EVENT_S = 2 * 3600
ADV = 100_000.0

ACCOUNTS = [
    {"account_id": 10},
    {"account_id": 11, "is_employee": True},
    {"account_id": 12, "kind": "proprietary"},
]


def _bars(day0_close: float = 106.0) -> list[dict]:
    rows = [{"instrument": 1, "day": d, "close": 100.0 if d % 2 == 0 else 101.0} for d in range(-15, 0)]
    rows.append({"instrument": 1, "day": 0, "close": day0_close})
    for inst, last in ((2, 50.5), (3, 49.5), (4, 50.25)):
        rows += [{"instrument": inst, "day": d, "close": 50.0} for d in range(-15, 0)]
        rows.append({"instrument": inst, "day": 0, "close": last})
    return rows


def _tape(after: float = 106.0) -> list[dict]:
    """Instrument 1 prints 10 × 10,000 shares on days −2 and −1 (ADV 100,000); on day 0 it
    trades at 100 before the news and at ``after`` at the close; the others as in the
    event-study test."""
    rows = [
        {"instrument": 1, "t": 600.0 * k + 30.0, "day": d, "price": 100.0, "quantity": 10_000.0}
        for d in (-2, -1)
        for k in range(10)
    ]
    rows.append({"instrument": 1, "t": EVENT_S - 60.0, "price": 100.0, "quantity": 100.0})
    rows.append({"instrument": 1, "t": SESSION_S, "price": after, "quantity": 100.0})
    for inst, last in ((2, 50.5), (3, 49.5), (4, 50.25)):
        rows.append({"instrument": inst, "t": EVENT_S - 60.0, "price": 50.0, "quantity": 100.0})
        rows.append({"instrument": inst, "t": SESSION_S, "price": last, "quantity": 100.0})
    return rows


def _buys(account: int, qty: float, *, side: str = "buy", first_id: int = 1, day: int = -1) -> list[dict[str, Any]]:
    """Three equal trades in instrument 1 during ``day``."""
    return [
        {"trade_id": first_id + k, "order_id": 500 + first_id + k, "account": account, "instrument": 1, "side": side,
         "t": 3_600.0 * (k + 1), "day": day, "price": 100.0, "quantity": qty / 3}
        for k in range(3)
    ]  # fmt: skip


def _run(trades: list[dict], *, sensitive: bool = True, after: float = 106.0, **params: float) -> list[Any]:
    data = b.market(
        trades_rows=trades,
        tape_rows=_tape(after),
        bar_rows=_bars(after),
        news_rows=[{"event_id": 7, "instrument": 1, "t": EVENT_S, "price_sensitive": sensitive}],
        account_rows=ACCOUNTS,
    )
    return insider_dealing.detect(data, params_clean(insider_dealing.SPEC, params))


def test_given_a_large_one_way_position_before_price_sensitive_news_then_detected():
    (d,) = _run(_buys(10, 3_000.0))
    assert d.scenario == "insider_dealing" and d.account == 10 and d.instrument == 1
    assert d.features["adv_share_pct"] == pytest.approx(3.0)
    assert d.features["concentration_pct"] == pytest.approx(100.0)
    assert d.features["abnormal_return_sigma"] == pytest.approx(6.202, abs=2e-3)
    # odds = (3% / 1%) · (100% / 50%) · (6.202 / 1.5)
    odds = 3.0 * 2.0 * (d.features["abnormal_return_sigma"] / 1.5)
    assert d.score == pytest.approx(100 * odds / (1 + odds), abs=0.01)
    assert d.trade_ids == (1, 2, 3) and d.order_ids == (501, 502, 503)
    assert d.end_us == b.at(EVENT_S) and d.extra == {"event_id": 7}
    assert "before a price-sensitive announcement" in d.summary


def test_given_a_short_position_before_bad_news_then_detected():
    (d,) = _run(_buys(10, 3_000.0, side="sell"), after=94.0)
    assert d.features["net_quantity_shares"] == -3_000 and d.features["abnormal_return_sigma"] < -2


def test_given_the_same_position_before_news_that_is_not_price_sensitive_then_nothing():
    assert _run(_buys(10, 3_000.0), sensitive=False) == []


def test_given_the_price_moving_against_the_position_then_nothing():
    assert _run(_buys(10, 3_000.0), after=94.0) == []


def test_given_a_move_within_ordinary_volatility_then_nothing():
    # +0.6% over 4.5 hours is about 0.1σ after the benchmark: nothing abnormal to profit from.
    assert _run(_buys(10, 3_000.0), after=100.6) == []


def test_given_ordinary_small_positioning_then_nothing():
    # 400 shares: 0.4% of ADV, under the 1% threshold.
    assert _run(_buys(10, 400.0)) == []


def test_given_trades_after_the_announcement_then_they_do_not_count():
    late = [{**r, "day": 0, "t": EVENT_S + 600.0 * (k + 1)} for k, r in enumerate(_buys(10, 3_000.0))]
    assert _run(late) == []


def test_given_a_diversified_two_way_book_then_the_position_is_not_unusual_for_it():
    # The proprietary account trades 60,000 shares both ways in instrument 2 the same day: the
    # 3,000 bought in instrument 1 is 2.6% of what it did.
    book = [
        {"trade_id": 100 + k, "account": 12, "instrument": 2, "side": "buy" if k % 2 else "sell",
         "t": 600.0 * k + 100.0, "day": -1, "price": 50.0, "quantity": 3_000.0}
        for k in range(40)
    ]  # fmt: skip
    assert _run(_buys(12, 3_000.0) + book) == []
    assert len(_run(_buys(12, 3_000.0))) == 1


def test_given_an_employee_then_a_smaller_position_weighs_enough():
    # 0.6% of ADV: below the client threshold of 1%, above an employee's, which is halved.
    assert _run(_buys(10, 600.0)) == []
    (d,) = _run(_buys(11, 600.0))
    assert d.features["is_employee"] == 1.0 and d.summary.startswith("Employee account bought")


def test_given_positions_outside_the_lookback_then_nothing():
    assert _run(_buys(10, 3_000.0, day=-1), lookback_days=0.5) == []


def test_given_larger_positions_then_higher_scores_within_bounds():
    scores = [_run(_buys(10, q))[0].score for q in (1_000.0, 3_000.0, 9_000.0)]
    assert scores == sorted(scores) and len(set(scores)) == 3
    assert all(0.0 <= s <= 100.0 for s in scores)


def test_given_bad_parameters_then_they_are_rejected_by_name():
    with pytest.raises(ParameterError) as bad:
        params_clean(insider_dealing.SPEC, {"min_abnormal_z": 0, "horizon_days": 1.5, "employee_factor": None})
    assert set(bad.value.errors) == {"min_abnormal_z", "horizon_days", "employee_factor"}
