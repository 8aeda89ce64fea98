"""Markouts after each fill on the worked market.

markout_h = side · (mid(t+h) − p)/p · 10⁴, positive = the price moved the trade's way (good for
the client); the usual post-trade "markout P&L" of e.g. Hasbrouck (2007, ch. 3) and broker TCA
reports. Identity checked: realised spread (Rule 605 form) = −2 · markout(Δ) · p/m.
"""

from __future__ import annotations

import numpy as np
import pytest

from execution_quality.engine.compute import tca_compute
from execution_quality.engine.markouts import markout_bps
from execution_quality.engine.types import TcaFlag, TcaParams
from tests.execution_quality.engine import worked


def run(**params: object):
    return tca_compute(**worked.market().tables(), params=TcaParams(min_history_days=1, **params)).executions


def test_given_buy_when_mid_rises_after_then_markout_positive_and_hand_computed():
    e = run()
    assert e.markout_horizons_s == (1.0, 5.0, 60.0, 300.0)
    # Fill 101: buy 100.07 at t=12. Mid at 13 s and 17 s: 100.05; at 72 s and 312 s: 100.15.
    np.testing.assert_allclose(
        e.markouts_bps[0],
        [-0.02 / 100.07 * 1e4, -0.02 / 100.07 * 1e4, 0.08 / 100.07 * 1e4, 0.08 / 100.07 * 1e4],
        rtol=1e-9,
    )
    assert e.markout_bps(60.0)[0] == pytest.approx(7.9944, abs=1e-4)


def test_given_sell_when_mid_rises_after_then_markout_negative():
    e = run()
    # Fill 103: sell 100.03 at t=20; mid 100.05 at 21 s, 100.15 at 80 s: the market went against it.
    assert e.markout_bps(1.0)[2] == pytest.approx(-0.02 / 100.03 * 1e4, rel=1e-9)
    assert e.markout_bps(60.0)[2] == pytest.approx(-0.12 / 100.03 * 1e4, rel=1e-9)


def test_given_realised_spread_when_compared_then_it_is_minus_two_markouts_rescaled():
    e = run(realised_spread_horizon_s=300.0)
    price, mid = worked.fills().price, e.spreads.mid
    np.testing.assert_allclose(e.spreads.realised_spread_bps, -2.0 * e.markout_bps(300.0) * price / mid, rtol=1e-12)


def test_given_horizon_past_last_quote_when_markouts_then_last_mid_used_and_flagged():
    e = run()
    assert np.all(e.flags & TcaFlag.MARKOUT_BEYOND_DATA)  # 5 min after any fill is past t=60
    short = run(markout_horizons_s=(1.0, 5.0))
    assert not short.flags[0] & TcaFlag.MARKOUT_BEYOND_DATA  # t=12+5 < 60


def test_given_formula_when_evaluated_then_sign_convention_is_gain_positive():
    np.testing.assert_allclose(
        markout_bps(np.array([1, -1, 1, -1]), np.full(4, 100.0), np.array([101.0, 99.0, 99.0, 101.0])),
        [100.0, 100.0, -100.0, -100.0],
    )
