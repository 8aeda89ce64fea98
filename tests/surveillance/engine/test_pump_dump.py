"""Pump and dump: accumulate, then sell most of it into a price and volume surge.

Definition: Commission Delegated Regulation (EU) 2016/522 Annex II Section 1 point 4(c). The
market: instrument 1 prints 20 × 5,000 shares a day (typical volume 100,000) at 10.00, with
daily closes alternating 10.0/10.1 (σ ≈ 1%); on day 0 a surge prints 400,000 shares at 11.00
between one and two hours after the open.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from surveillance.engine import pump_dump
from surveillance.engine.params import ParameterError, params_clean
from tests.surveillance.engine import builders as b

SESSION_S = 6.5 * 3600
SURGE = (3_600.0, 7_200.0)


def _tape(*, surge: bool = True) -> list[dict]:
    rows = [
        {"t": 1_170.0 * k + 15.0, "day": d, "price": 10.0, "quantity": 5_000.0} for d in range(-7, 1) for k in range(20)
    ]
    if surge:
        rows += [{"t": SURGE[0] + 90.0 * k + 7.0, "day": 0, "price": 11.0, "quantity": 10_000.0} for k in range(40)]
    return rows


def _bars(*, surge: bool = True) -> list[dict]:
    rows = [{"day": d, "close": 10.0 if d % 2 == 0 else 10.1} for d in range(-30, 0)]
    rows.append({"day": 0, "close": 11.0 if surge else 10.0})
    return rows


def _buys(account: int, per_day: float, days: range) -> list[dict[str, Any]]:
    return [
        {"trade_id": 1 + k, "order_id": 100 + k, "account": account, "side": "buy", "t": 5_000.0, "day": d,
         "price": 10.0, "quantity": per_day}
        for k, d in enumerate(days)
    ]  # fmt: skip


def _sells(account: int, total: float, *, price: float = 11.0, n: int = 4) -> list[dict[str, Any]]:
    """Sales spread over the surge hour of day 0."""
    return [
        {"trade_id": 1_000 + k, "order_id": 2_000 + k, "account": account, "side": "sell",
         "t": SURGE[0] + 600.0 + 600.0 * k, "day": 0, "price": price, "quantity": total / n}
        for k in range(n)
    ]  # fmt: skip


def _run(trades: list[dict], *, surge: bool = True, **params: float) -> list[Any]:
    prints = _tape(surge=surge) + [
        {"t": r["t"], "day": r["day"], "price": r["price"], "quantity": r["quantity"]} for r in trades
    ]
    data = b.market(
        trades_rows=trades, tape_rows=prints, bar_rows=_bars(surge=surge), account_rows=[{"account_id": 10}]
    )
    return pump_dump.detect(data, params_clean(pump_dump.SPEC, params))


ACCUMULATE = _buys(10, 2_000.0, range(-5, 0))  # 10,000 shares: 10% of the typical day


def test_given_accumulation_then_a_dump_into_a_surge_then_detected():
    (d,) = _run(ACCUMULATE + _sells(10, 8_000.0))
    assert d.scenario == "pump_dump" and d.account == 10 and d.instrument == 1
    # The typical day is the median of the other sessions: 100,000 printed plus our 2,000.
    assert d.features["accumulated_shares"] == 10_000
    assert d.features["accumulation_adv_pct"] == pytest.approx(100 * 10_000 / 102_000, abs=1e-4)
    assert d.features["sold_fraction_pct"] == pytest.approx(80.0)
    # Sales from 4,200 s to 6,000 s after the open, widened to the hour [3,300 s, 6,900 s]: 37
    # surge prints of 10,000 (3,607 s + 90 s·k), our 8,000 and 3 ordinary prints of 5,000.
    rate_ratio = (370_000 + 8_000 + 15_000) / 3_600 / (102_000 / SESSION_S)
    assert d.features["surge_volume_ratio"] == pytest.approx(rate_ratio, abs=1e-4)
    # Sold at 11.00 against a previous close of 10.1: ln(11/10.1)/σ, σ = ln(10.1/10)·√(20/19).
    sigma = math.log(1.01) * math.sqrt(20 / 19)
    assert d.features["surge_price_sigma"] == pytest.approx(math.log(11 / 10.1) / sigma, abs=1e-3)
    assert d.trade_ids == (1, 2, 3, 4, 5, 1_000, 1_001, 1_002, 1_003)
    assert 0.0 <= d.score <= 100.0 and d.score > 99.0


def test_given_a_steady_accumulator_that_never_sells_then_nothing():
    assert _run(_buys(10, 2_000.0, range(-7, 1))) == []


def test_given_a_sale_on_an_ordinary_day_then_nothing():
    assert _run(ACCUMULATE + _sells(10, 8_000.0, price=10.0), surge=False) == []


def test_given_a_surge_but_a_small_sale_then_nothing():
    # 2,000 of 10,000: 20%, under the 50% threshold.
    assert _run(ACCUMULATE + _sells(10, 2_000.0)) == []


def test_given_a_sale_into_the_surge_without_accumulation_then_nothing():
    assert _run(_sells(10, 8_000.0)) == []


def test_given_a_small_accumulation_then_nothing():
    # 1,000 shares is 1% of the typical day, under the 3% threshold.
    assert _run(_buys(10, 200.0, range(-5, 0)) + _sells(10, 800.0)) == []


def test_given_purchases_before_the_accumulation_window_then_they_do_not_count():
    assert _run(_buys(10, 5_000.0, range(-7, -5)) + _sells(10, 8_000.0), accumulation_days=4) == []


def test_given_more_of_the_position_dumped_then_a_higher_score_within_bounds():
    # A high volume threshold keeps the odds away from 100 so that the scores can differ.
    scores = [_run(ACCUMULATE + _sells(10, q), min_volume_ratio=40.0)[0].score for q in (6_000.0, 8_000.0, 10_000.0)]
    assert scores == sorted(scores) and len(set(scores)) == 3
    assert all(0.0 <= s <= 100.0 for s in scores)


def test_given_bad_parameters_then_they_are_rejected_by_name():
    with pytest.raises(ParameterError) as bad:
        params_clean(pump_dump.SPEC, {"min_volume_ratio": 0.5, "accumulation_days": 2.5})
    assert set(bad.value.errors) == {"min_volume_ratio", "accumulation_days"}
