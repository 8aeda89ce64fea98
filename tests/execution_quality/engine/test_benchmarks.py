"""Benchmarks and slippage on the hand-computed market of ``worked.py``.

Definitions (docs/tca-methodology.md): arrival = mid of the last quote at or before arrival
(Perold 1988; Kissell 2013, §3 "arrival cost"); interval VWAP over prints with arrival ≤ t ≤ end
(Berkowitz, Logue & Noser 1988, "The total cost of transactions on the NYSE", *J. Finance* 43);
TWAP = time average of the mid held until the next quote; PWP = VWAP until the tape traded
filled/participation (Kissell 2013, §3 "participation-weighted price"); cost_bps = side · (p̄ − B)/B · 10⁴.
Every expected number below is worked out by hand from the table in ``worked.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from execution_quality.engine.benchmarks import BENCHMARK_NAMES, cost_bps
from execution_quality.engine.compute import tca_compute
from execution_quality.engine.types import TcaFlag, TcaParams
from tests.execution_quality.engine import worked
from tests.execution_quality.engine.worked import A, B, C, D, E

AVG_A = (100.07 * 300 + 100.12 * 500) / 800  # 100.10125
VWAP_A = (100.01 * 200 + 100.07 * 300 + 100.12 * 500 + 100.10 * 100) / 1100  # 110093 / 1100
TWAP_A = (100.00 * 5 + 100.05 * 20 + 100.10 * 10) / 35  # 3502 / 35


def run(**params: object):
    return tca_compute(**worked.market().tables(), params=TcaParams(min_history_days=1, **params))


def test_given_quotes_when_order_arrives_then_arrival_is_the_last_mid_at_or_before():
    b = run().orders.benchmarks
    assert b.arrival_price[A] == pytest.approx(100.00, abs=1e-12)  # quote at t=0 holds at t=5
    assert b.arrival_price[B] == pytest.approx(100.05, abs=1e-12)  # a quote exactly at arrival counts
    assert b.arrival_price[C] == pytest.approx(50.05, abs=1e-12)
    assert b.arrival_bid[A] == 99.98 and b.arrival_ask[A] == 100.02


def test_given_tape_when_vwap_then_prints_at_both_ends_count_and_outside_ones_do_not():
    b = run().orders.benchmarks
    # t=4 (before arrival) and t=50 (after end) are out; t=5 and t=40 (the ends) are in.
    assert b.vwap[A] == pytest.approx(VWAP_A, rel=1e-14)
    assert b.vwap[A] == pytest.approx(110093 / 1100, rel=1e-14)
    assert b.tape_volume[A] == 1100.0
    assert b.vwap[B] == pytest.approx(100.07, rel=1e-14)  # only the t=12 print in [10, 30]


def test_given_quotes_when_twap_then_each_mid_is_weighted_by_how_long_it_held():
    b = run().orders.benchmarks
    assert b.twap[A] == pytest.approx(TWAP_A, rel=1e-14)
    assert b.twap[A] == pytest.approx(3502 / 35, rel=1e-14)
    # [10, 30]: the t=10 mid holds all the way; the t=30 quote holds for zero time.
    assert b.twap[B] == pytest.approx(100.05, rel=1e-14)


def test_given_participation_half_when_pwp_then_window_holds_exactly_filled_over_rate():
    # Filled 800 at 50% → 1600 shares of tape from t=5: 200+300+500+100 = 1100, then 500 of the
    # 1000 printed at t=50 (past the order's end: PWP is not bounded by it).
    b = run(participation=0.5).orders.benchmarks
    assert b.pwp[A] == pytest.approx((110093 + 100.15 * 500) / 1600, rel=1e-14)
    assert b.pwp[A] == pytest.approx(100.105, rel=1e-14)


def test_given_thin_tape_when_pwp_then_it_uses_what_traded_and_is_flagged_short():
    # 10% of 800 → 8000 shares wanted; only 2100 trade from t=5 to the end of the day.
    r = run(participation=0.10).orders
    assert r.benchmarks.pwp[A] == pytest.approx((110093 + 100150) / 2100, rel=1e-14)
    assert r.flags[A] & TcaFlag.PWP_SHORT


def test_given_participation_when_target_falls_inside_a_print_then_only_part_of_it_counts():
    # Filled 400 (order 8) at 40% → 1000 shares from t=10: 300 (t=12) + 500 (t=35) + 100 (t=40) + 100 of t=50.
    b = run(participation=0.4).orders.benchmarks
    expected = (100.07 * 300 + 100.12 * 500 + 100.10 * 100 + 100.15 * 100) / 1000
    assert b.pwp[B] == pytest.approx(expected, rel=1e-14)


def test_given_daily_bars_when_day_benchmarks_then_previous_close_open_and_close():
    b = run().orders.benchmarks
    assert (b.prev_close[A], b.open[A], b.close[A]) == (99.5, 99.8, 100.4)
    assert np.isnan(b.prev_close[C]) and np.isnan(b.open[C])  # instrument 2 has no bars


def test_given_buy_order_when_slippage_then_matches_hand_computation_for_every_benchmark():
    r = run(participation=0.5).orders
    assert r.avg_price[A] == pytest.approx(AVG_A, rel=1e-15)
    expected = {
        "arrival": (AVG_A - 100.0) / 100.0 * 1e4,  # 10.125 bps
        "vwap": (AVG_A - VWAP_A) / VWAP_A * 1e4,
        "twap": (AVG_A - TWAP_A) / TWAP_A * 1e4,
        "pwp": (AVG_A - 100.105) / 100.105 * 1e4,
        "prev_close": (AVG_A - 99.5) / 99.5 * 1e4,
        "open": (AVG_A - 99.8) / 99.8 * 1e4,
        "close": (AVG_A - 100.4) / 100.4 * 1e4,
    }
    for name, value in expected.items():
        assert r.cost_bps(name)[A] == pytest.approx(value, rel=1e-10, abs=1e-10), name
    assert r.cost_bps("arrival")[A] == pytest.approx(10.125, abs=1e-9)


def test_given_sell_below_benchmarks_when_slippage_then_positive_cost():
    r = run().orders
    # Sold at 100.03 against an arrival mid of 100.05 and a VWAP of 100.07: both are costs.
    assert r.cost_bps("arrival")[B] == pytest.approx(0.02 / 100.05 * 1e4, rel=1e-9)
    assert r.cost_bps("vwap")[B] == pytest.approx(0.04 / 100.07 * 1e4, rel=1e-9)


def test_given_fills_when_order_cost_then_it_is_the_quantity_weighted_mean_of_fill_costs():
    r = run(participation=0.5)
    e = r.executions
    rows = np.flatnonzero(e.order_row == A)
    q = worked.fills().quantity[rows]
    for k, name in enumerate(BENCHMARK_NAMES):
        per_fill = e.costs_bps[rows, k]
        assert r.orders.costs_bps[A, k] == pytest.approx(np.average(per_fill, weights=q), rel=1e-12), name


def test_given_cost_convention_when_side_and_direction_vary_then_sign_is_cost_positive():
    bench = np.array([100.0, 100.0, 100.0, 100.0])
    price = np.array([101.0, 99.0, 101.0, 99.0])
    side = np.array([1, 1, -1, -1])
    np.testing.assert_allclose(cost_bps(side, price, bench), [100.0, -100.0, -100.0, 100.0])


def test_given_order_without_tape_when_vwap_then_nan_and_flagged_without_crashing():
    r = run().orders
    assert np.isnan(r.benchmarks.vwap[C]) and r.flags[C] & TcaFlag.NO_TAPE
    assert np.isnan(r.cost_bps("vwap")[C])
    assert np.isfinite(r.cost_bps("arrival")[C])  # the rest of the order is still measured


def test_given_zero_duration_order_when_benchmarks_then_twap_is_arrival_mid_and_vwap_the_prints_at_that_instant():
    r = run().orders
    assert r.flags[D] & TcaFlag.ZERO_DURATION
    assert r.benchmarks.twap[D] == pytest.approx(100.05, abs=1e-12)
    assert r.benchmarks.vwap[D] == pytest.approx(100.07, abs=1e-12)  # the t=12 print


def test_given_order_without_fills_when_slippage_then_nan_and_flagged():
    r = run().orders
    assert r.n_fills[E] == 0 and r.flags[E] & TcaFlag.NO_FILLS
    assert np.all(np.isnan(r.costs_bps[E]))
