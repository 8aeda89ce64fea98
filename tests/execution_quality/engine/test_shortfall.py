"""Implementation shortfall: Perold (1988) paper-minus-real, split as in Kissell (2013, §3,
"expanded implementation shortfall", after Wagner 1991) into delay, trading, opportunity and fees.

Worked example (order 7 of ``worked.py``): buy X = 1000, decision P_d = 99.90, arrival mid
P_0 = 100.00, fills 300 @ 100.07 and 500 @ 100.12 (X_f = 800, Σxp = 80 081), fees 4.00,
cancelled at t=40 with mid P_N = 100.10, unfilled X_u = 200:

    delay       = 800 · (100.00 − 99.90)      =  80.00
    trading     = 80 081 − 800 · 100.00       =  81.00
    opportunity = 200 · (100.10 − 99.90)      =  40.00
    fees                                      =   4.00
    total                                     = 205.00  = 205/99 900 · 10⁴ = 20.5205 bps

Paper minus real: paper = 1000 · (100.10 − 99.90) = 200; real = 800·100.10 − 80 081 − 4 = −5;
200 − (−5) = 205 ✓.
"""

from __future__ import annotations

import numpy as np
import pytest

from execution_quality.engine.compute import tca_compute
from execution_quality.engine.shortfall import shortfall_compute
from execution_quality.engine.types import TcaFlag, TcaParams
from tests.execution_quality.engine import worked
from tests.execution_quality.engine.worked import A, B, E


def run(**params: object):
    return tca_compute(**worked.market().tables(), params=TcaParams(min_history_days=1, **params)).orders


def test_given_partial_buy_when_shortfall_then_perold_split_matches_worked_example():
    s = run().shortfall
    assert s.delay[A] == pytest.approx(80.0, abs=1e-9)
    assert s.trading[A] == pytest.approx(81.0, abs=1e-9)
    assert s.opportunity[A] == pytest.approx(40.0, abs=1e-9)
    assert s.fees[A] == pytest.approx(4.0, abs=1e-12)
    assert s.total[A] == pytest.approx(205.0, abs=1e-9)
    assert s.paper_value[A] == pytest.approx(99_900.0)
    assert s.total_bps[A] == pytest.approx(205.0 / 99_900.0 * 1e4, rel=1e-12)
    parts = s.delay_bps + s.trading_bps + s.opportunity_bps + s.fees_bps
    assert parts[A] == pytest.approx(s.total_bps[A], rel=1e-12)


def test_given_complete_sell_without_decision_price_when_shortfall_then_arrival_stands_in():
    r = run()
    s = r.shortfall
    # Sell 400 @ 100.03 vs arrival 100.05: trading = −(40 012 − 400·100.05) = 8.00; fee 1.00.
    assert r.flags[B] & TcaFlag.DECISION_IS_ARRIVAL
    assert s.decision_price[B] == pytest.approx(100.05)
    assert s.delay[B] == 0.0 and s.opportunity[B] == 0.0
    assert s.trading[B] == pytest.approx(8.0, abs=1e-9)
    assert s.total[B] == pytest.approx(9.0, abs=1e-9)
    assert s.total_bps[B] == pytest.approx(9.0 / (400 * 100.05) * 1e4, rel=1e-12)


def test_given_cancelled_order_without_fills_when_shortfall_then_only_opportunity_cost():
    s = run().shortfall
    # 500 unfilled, decision 100.00, mid when cancelled (t=50) 100.10: 500 · 0.10 = 50 = 10 bps.
    assert s.opportunity[E] == pytest.approx(50.0, abs=1e-9)
    assert s.delay[E] == 0.0 and s.trading[E] == 0.0 and s.fees[E] == 0.0
    assert s.total_bps[E] == pytest.approx(10.0, abs=1e-9)


def test_given_close_as_final_price_when_opportunity_then_unfilled_priced_at_the_close():
    s = run(opportunity_price="close").shortfall
    assert s.opportunity[A] == pytest.approx(200 * (100.40 - 99.90), abs=1e-9)
    assert s.total[A] == pytest.approx(80 + 81 + 100 + 4, abs=1e-9)


def test_given_mirrored_sell_when_shortfall_then_same_components_as_the_buy():
    """A sell in a market reflected around K (every price p → 2K − p) is the buy's mirror image:
    every currency component is equal (Perold's definition is linear in side · price)."""
    k = 100.0
    common = {"quantity": np.array([1000.0]), "filled_quantity": np.array([800.0]), "fees": np.array([4.0])}
    buy = shortfall_compute(
        side=np.array([1]),
        filled_notional=np.array([80_081.0]),
        decision_price=np.array([99.90]),
        arrival_price=np.array([100.00]),
        final_price=np.array([100.10]),
        **common,
    )
    sell = shortfall_compute(
        side=np.array([-1]),
        filled_notional=np.array([300 * (2 * k - 100.07) + 500 * (2 * k - 100.12)]),
        decision_price=np.array([2 * k - 99.90]),
        arrival_price=np.array([2 * k - 100.00]),
        final_price=np.array([2 * k - 100.10]),
        **common,
    )
    for name in ("delay", "trading", "opportunity", "fees", "total"):
        assert getattr(sell, name)[0] == pytest.approx(getattr(buy, name)[0], abs=1e-8), name


def test_given_random_orders_when_shortfall_then_components_add_up_to_paper_minus_real():
    rng = np.random.default_rng(1988)
    n = 500
    quantity = rng.integers(1, 50, n) * 100.0
    filled = np.floor(quantity * rng.uniform(0, 1.2, n))
    avg = 100 * np.exp(rng.normal(0, 0.01, n))
    s = shortfall_compute(
        side=rng.choice([-1, 1], n),
        quantity=quantity,
        filled_quantity=filled,
        filled_notional=filled * avg,
        fees=rng.uniform(0, 5, n),
        decision_price=np.where(rng.random(n) < 0.3, np.nan, 100 * np.exp(rng.normal(0, 0.01, n))),
        arrival_price=100 * np.exp(rng.normal(0, 0.01, n)),
        final_price=100 * np.exp(rng.normal(0, 0.01, n)),
    )
    np.testing.assert_allclose(s.delay + s.trading + s.opportunity + s.fees, s.total, rtol=1e-9, atol=1e-6)
    assert np.all(s.unfilled_quantity >= 0)
    assert np.all(s.paper_quantity >= filled)  # an overfill is measured against what was filled
