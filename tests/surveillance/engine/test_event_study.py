"""Abnormal returns around news: the market-adjusted model against a hand computation.

Model (MacKinlay 1997, "Event studies in economics and finance", J. Econ. Lit. 35(1)): the
abnormal return is the instrument's log return minus the median log return of the other
instruments over the same interval; it is standardised by the sample standard deviation of the
instrument's daily abnormal returns before the event, scaled by √(share of a session left).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from surveillance.engine.event_study import abnormal_returns, event_outcome
from surveillance.engine.evidence import median_of_others
from tests.surveillance.engine import builders as b

SESSION_S = 6.5 * 3600
EVENT_S = 2 * 3600  # two hours after the open of day 0: 4.5 of 6.5 hours left


def _bars() -> list[dict]:
    """Instrument 1 alternates 100/101 on days −14..−1 (14 returns of ±ln(1.01) around an
    exactly zero mean) and closes at 106 on day 0; instruments 2–4 are flat at 50, then close
    day 0 at 50.5, 49.5 and 50.25."""
    rows = [{"instrument": 1, "day": d, "close": 100.0 if d % 2 == 0 else 101.0} for d in range(-15, 0)]
    rows.append({"instrument": 1, "day": 0, "close": 106.0})
    for inst, last in ((2, 50.5), (3, 49.5), (4, 50.25)):
        rows += [{"instrument": inst, "day": d, "close": 50.0} for d in range(-15, 0)]
        rows.append({"instrument": inst, "day": 0, "close": last})
    return rows


def _tape() -> list[dict]:
    """One print before the event and one at the close of day 0 for every instrument."""
    rows = []
    for inst, before, after in ((1, 100.0, 106.0), (2, 50.0, 50.5), (3, 50.0, 49.5), (4, 50.0, 50.25)):
        rows.append({"instrument": inst, "t": EVENT_S - 60.0, "price": before, "quantity": 100.0})
        rows.append({"instrument": inst, "t": SESSION_S, "price": after, "quantity": 100.0})
    return rows


SIGMA = math.log(1.01) * math.sqrt(14 / 13)


def test_given_tape_around_the_event_then_the_abnormal_return_matches_the_hand_computation():
    """AR = ln(106/100) − median(ln 1.01, ln 0.99, ln 1.005) = 0.058269 − 0.004988 = 0.053282;
    σ_AR = ln(1.01)·√(14/13) = 0.010326; z = AR / (σ_AR·√(4.5/6.5)) = 6.202."""
    data = b.market(bar_rows=_bars(), tape_rows=_tape(), news_rows=[{"event_id": 1, "instrument": 1, "t": EVENT_S}])
    ar, sigma, z = event_outcome(data, np.array([1]), np.array([b.at(EVENT_S)]), horizon_days=1, vol_window_days=60)
    expected_ar = math.log(1.06) - math.log(1.005)
    assert ar[0] == pytest.approx(expected_ar, abs=1e-9)
    assert expected_ar == pytest.approx(0.053282, abs=1e-6)
    assert sigma[0] == pytest.approx(SIGMA, abs=1e-12)
    assert z[0] == pytest.approx(expected_ar / (SIGMA * math.sqrt(4.5 / 6.5)), abs=1e-9)
    assert z[0] == pytest.approx(6.202, abs=1e-3)


def test_given_no_tape_then_the_daily_bars_abnormal_return_is_used():
    """Day 0: ln(106/101) minus the median of the others' ln(50.5/50), ln(49.5/50), ln(50.25/50);
    a whole session of variance."""
    data = b.market(bar_rows=_bars())
    ar, _, z = event_outcome(data, np.array([1]), np.array([b.at(EVENT_S)]), horizon_days=1, vol_window_days=60)
    expected = math.log(106 / 101) - math.log(1.005)
    assert ar[0] == pytest.approx(expected, abs=1e-12)
    assert z[0] == pytest.approx(expected / SIGMA, abs=1e-9)


def test_given_news_after_the_close_then_it_belongs_to_the_next_session():
    data = b.market(bar_rows=_bars())
    after_close = b.at(SESSION_S + 3_600, day=-1)  # day −1, an hour after its close
    ar, _, _ = event_outcome(data, np.array([1]), np.array([after_close]), horizon_days=1, vol_window_days=60)
    assert ar[0] == pytest.approx(math.log(106 / 101) - math.log(1.005), abs=1e-12)


def test_given_another_name_with_its_own_news_then_it_is_left_out_of_the_benchmark():
    """Instrument 3's own price-sensitive news the same day removes it: the benchmark becomes
    the median of ln 1.01 and ln 1.005 (their mean, for two values)."""
    news = [{"event_id": 1, "instrument": 1, "t": EVENT_S}, {"event_id": 2, "instrument": 3, "t": EVENT_S + 60.0}]
    data = b.market(bar_rows=_bars(), tape_rows=_tape(), news_rows=news)
    ar, _, _ = event_outcome(data, np.array([1]), np.array([b.at(EVENT_S)]), horizon_days=1, vol_window_days=60)
    assert ar[0] == pytest.approx(math.log(1.06) - (math.log(1.01) + math.log(1.005)) / 2, abs=1e-12)


def test_given_too_little_history_then_no_outcome():
    rows = [r for r in _bars() if r["day"] >= -5]
    data = b.market(bar_rows=rows, tape_rows=_tape())
    _, sigma, z = event_outcome(data, np.array([1]), np.array([b.at(EVENT_S)]), horizon_days=1, vol_window_days=60)
    assert math.isnan(sigma[0]) and math.isnan(z[0])


def test_given_a_day_grid_then_each_bar_is_adjusted_by_the_median_of_the_others():
    data = b.market(bar_rows=_bars())
    ar, own_news = abnormal_returns(data.bars, np.array([1]), np.array([b.DAY]))
    day0_inst2 = int(np.flatnonzero((data.bars.instrument == 2) & (data.bars.day == b.DAY))[0])
    # Instrument 2's benchmark on day 0 leaves out instrument 1 (its own news): median of
    # ln 0.99 and ln 1.005.
    assert ar[day0_inst2] == pytest.approx(math.log(1.01) - (math.log(0.99) + math.log(1.005)) / 2, abs=1e-12)
    assert own_news.sum() == 1


def test_given_random_rows_then_the_median_of_others_matches_a_direct_computation():
    rng = np.random.default_rng(7)
    for _ in range(100):
        m = rng.normal(size=(3, int(rng.integers(1, 7))))
        m[rng.random(m.shape) < 0.3] = np.nan
        got = median_of_others(m)
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                others = np.delete(m[i], j)
                others = others[np.isfinite(others)]
                if len(others) >= 2:
                    assert got[i, j] == pytest.approx(float(np.median(others)), abs=1e-12)
                else:
                    assert math.isnan(got[i, j])
