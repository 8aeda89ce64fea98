"""Context features and the pre-trade estimates attached to each order.

ADV = mean volume of the bars before the order's day; daily volatility = std (ddof = 1) of the
close-to-close log returns before the day (checked against ``numpy.std``); no bar of the order's
own day is used (no look-ahead). Pre-trade: square-root law and I-Star (Kissell 2013, ch. 5)
with σ_annual = σ_daily · √252.
"""

from __future__ import annotations

import numpy as np
import pytest

from execution_quality.engine.compute import tca_compute
from execution_quality.engine.features import main_code_by_quantity
from execution_quality.engine.impact import istar_bps
from execution_quality.engine.types import US_PER_DAY, US_PER_MINUTE, DailyBars, TcaFlag, TcaParams
from tests.execution_quality.engine import worked
from tests.execution_quality.engine.worked import A, B, C, D

CLOSES = np.array([100.0, 102.0, 99.0, 101.0, 103.0, 100.4])
VOLUMES = np.array([1e6, 2e6, 3e6, 4e6, 5e6, 9e9])  # the order's own day (last) must never count


def bars_with_history(open_us: int | None = None) -> DailyBars:
    days = np.arange(worked.DAY - 5, worked.DAY + 1)
    # Every day opens at the same time of day as ``open_us`` does on the order's day.
    extra = {} if open_us is None else {"session_open_us": (days - worked.DAY) * US_PER_DAY + open_us}
    return DailyBars(
        instrument=np.ones(6, dtype=np.int64), day=days, open=CLOSES, close=CLOSES, volume=VOLUMES, **extra
    )


def run(bars: DailyBars | None = None, **params: object):
    tables = worked.market().tables()
    if bars is not None:
        tables["bars"] = bars
    return tca_compute(**tables, params=TcaParams(**params)).orders


def test_given_history_when_adv_and_volatility_then_windows_end_the_day_before():
    r = run(bars_with_history(), adv_window_days=3, volatility_window_days=3, min_history_days=3)
    f = r.features
    assert f.adv[A] == pytest.approx((3e6 + 4e6 + 5e6) / 3)
    returns = np.diff(np.log(CLOSES[:5]))[-3:]
    assert f.volatility_daily_bps[A] == pytest.approx(np.std(returns, ddof=1) * 1e4, rel=1e-12)
    assert f.size_adv[A] == pytest.approx(1000 / 4e6)
    assert not r.flags[A] & TcaFlag.NO_HISTORY


def test_given_too_little_history_when_features_then_nan_and_flagged():
    r = run(bars_with_history(), min_history_days=5)  # only 5 bars before the day → 4 returns
    assert np.isfinite(r.features.adv[A])
    assert np.isfinite(r.features.volatility_daily_bps[A])
    short = run(worked.bars(), min_history_days=5)  # 2 bars before the day
    assert np.isnan(short.features.adv[A]) and short.flags[A] & TcaFlag.NO_HISTORY
    assert np.isnan(short.features.adv[C]) and short.flags[C] & TcaFlag.NO_HISTORY  # no bars at all


def test_given_worked_orders_when_features_then_hand_computed_values():
    f = run(min_history_days=1).features
    assert f.arrival_spread_bps[A] == pytest.approx(0.04 / 100.0 * 1e4)
    assert f.duration_s[A] == 35.0 and f.duration_s[D] == 0.0
    assert f.pov[A] == pytest.approx(800 / 1100)
    assert f.venue[A] == 4 and f.broker[A] == 1  # 500 shares at venue 4 beat 300 at venue 3
    assert f.venue[4] == -1  # order 11 has no fills
    assert f.order_type[B] == 1
    # Sell limit 100.00 and buy limit 100.10 around an arrival mid of 100.05: equally aggressive.
    assert f.limit_aggressiveness_bps[B] == pytest.approx(0.05 / 100.05 * 1e4, rel=1e-9)
    assert f.limit_aggressiveness_bps[D] == pytest.approx(0.05 / 100.05 * 1e4, rel=1e-9)
    assert np.isnan(f.limit_aggressiveness_bps[A])  # market order


def test_given_session_open_when_time_of_day_then_minutes_since_that_open_else_the_default():
    assert run(min_history_days=1).features.minutes_since_open[A] == pytest.approx(5 / 60)  # default 14:30 UTC
    opened = worked.T0 - 30 * US_PER_MINUTE
    f = run(bars_with_history(open_us=opened), min_history_days=1).features
    assert f.minutes_since_open[A] == pytest.approx(30 + 5 / 60)


def test_given_fills_at_several_venues_when_main_venue_then_largest_quantity_and_ties_to_smaller_code():
    rows = np.array([0, 0, 0, 1, 1, 2])
    codes = np.array([5, 3, 5, 7, 2, 9])
    qty = np.array([100.0, 300, 200, 50, 50, 10])
    np.testing.assert_array_equal(main_code_by_quantity(rows, codes, qty, 4), [3, 2, 9, -1])


def test_given_history_when_pretrade_then_sqrt_law_and_istar_use_the_features():
    p = TcaParams(adv_window_days=3, volatility_window_days=3, min_history_days=3, sqrt_impact_y=0.9, pretrade_pov=0.2)
    r = tca_compute(**{**worked.market().tables(), "bars": bars_with_history()}, params=p).orders
    f = r.features
    assert r.pretrade_sqrt_bps[A] == pytest.approx(0.9 * f.volatility_daily_bps[A] * np.sqrt(f.size_adv[A]))
    sigma_annual = f.volatility_daily_bps[A] / 1e4 * np.sqrt(252)
    _, mi = istar_bps(size_adv=f.size_adv[A], sigma_annual=sigma_annual, pov=0.2)
    assert r.pretrade_istar_bps[A] == pytest.approx(mi[0], rel=1e-12)
