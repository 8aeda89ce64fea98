"""Pre-trade estimates against the engine's formulas on the hand-built book.

Square-root law cost = Y · σ_daily_bps · √(Q/ADV) (Almgren et al. 2005); I-Star
MI = b1 · a1 (Q/ADV)^a2 σ^a3 · POV^a4 + (1 − b1) · I* (Kissell 2013, ch. 5); the schedule is
Almgren–Chriss (2000) with the paper's §4 calibration from the spread and ADV.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.errors import ValidationFailed
from execution_quality.engine.impact import istar_bps, sqrt_impact_bps
from execution_quality.engine.schedule import almgren_chriss_schedule
from execution_quality.engine.types import IStarParams
from execution_quality.services import pretrade_estimate
from tests.execution_quality.book import DAY, at, market_build

pytestmark = pytest.mark.django_db

ADV = 1_000_000.0  # every history bar trades 1,000,000


@pytest.fixture
def instrument(db):
    return market_build("TCA1")


def _sigma_daily() -> float:
    closes = np.array([100.0 if k % 2 == 0 else 101.0 for k in range(30)])
    return float(np.std(np.diff(np.log(closes)), ddof=1))


def test_given_an_order_then_estimates_match_the_engine_functions(instrument):
    est = pretrade_estimate(
        instrument="TCA1", side="buy", quantity=10_000, user=None, arrival=at(14, 36), risk_aversion=1e-6
    )
    # the quote in force at 14:36 is 100.08/100.12: price 100.10, spread 0.04/100.10
    assert est["price"] == pytest.approx(100.10) and est["notional"] == pytest.approx(10_000 * 100.10)
    assert est["market"]["arrival_spread_bps"] == pytest.approx(0.04 / 100.10 * 1e4)
    size, sigma = 10_000 / ADV, _sigma_daily()
    assert est["market"]["size_adv"] == pytest.approx(size)
    assert est["market"]["volatility_daily_bps"] == pytest.approx(sigma * 1e4)

    sqrt = float(sqrt_impact_bps(sigma_daily_bps=sigma * 1e4, size_adv=size)[0])
    assert est["sqrt_law"]["cost_bps"] == pytest.approx(sqrt)
    assert sqrt == pytest.approx(sigma * 1e4 * math.sqrt(size))  # Y = 1
    assert est["sqrt_law"]["cost"] == pytest.approx(sqrt * 10_000 * 100.10 / 1e4)
    _, mi = istar_bps(size_adv=size, sigma_annual=sigma * math.sqrt(252), pov=0.10, params=IStarParams())
    assert est["istar"]["cost_bps"] == pytest.approx(float(mi[0]))
    assert est["model"] is None  # no cost model trained yet

    # Almgren–Chriss over the time the order needs at 10 % of volume: 0.01/0.10 of 390 minutes
    sch = est["schedule"]
    assert sch["horizon_minutes"] == pytest.approx(39.0)
    spread = 0.04
    expected = almgren_chriss_schedule(
        shares=10_000,
        horizon=39.0,
        periods=20,
        volatility=sigma * 100.10 / math.sqrt(390),
        eta=spread / (0.01 * ADV / 390),
        gamma=spread / (0.1 * ADV),
        risk_aversion=1e-6,
        epsilon=spread / 2,
    )
    np.testing.assert_allclose(sch["holdings"], expected.holdings, rtol=1e-9)
    assert sch["holdings"][0] == 10_000 and sch["holdings"][-1] == 0
    assert sum(sch["trades"]) == pytest.approx(10_000)
    assert sch["expected_cost"] == pytest.approx(expected.expected_cost)


def test_given_more_risk_aversion_then_the_schedule_trades_earlier(instrument):
    order = {"instrument": "TCA1", "side": "sell", "quantity": 50_000, "user": None, "arrival": at(14, 36)}
    calm = pretrade_estimate(**order, risk_aversion=0)
    keen = pretrade_estimate(**order, risk_aversion=1e-3)
    # λ = 0 is the straight line (TWAP); a risk-averse trader front-loads
    np.testing.assert_allclose(np.diff(calm["schedule"]["holdings"]), -50_000 / 20, rtol=1e-9)
    assert keen["schedule"]["trades"][0] > calm["schedule"]["trades"][0]


def test_given_bad_input_then_field_errors(instrument):
    cases = [
        ({"side": "hold"}, "side"),
        ({"quantity": -5}, "quantity"),
        ({"quantity": float("nan")}, "quantity"),
        ({"risk_aversion": 2.0}, "risk_aversion"),
        ({"horizon_minutes": 1.0}, "horizon_minutes"),
        ({"instrument": "NOPE"}, "instrument"),
        ({"arrival": at(14, 36).replace(tzinfo=None)}, "arrival"),
        ({"arrival": at(14, 36, day=DAY.replace(year=2000))}, "instrument"),  # no history before that day
    ]
    for override, field in cases:
        kwargs = {"instrument": "TCA1", "side": "buy", "quantity": 100, "user": None, "arrival": at(14, 36), **override}
        with pytest.raises(ValidationFailed) as exc:
            pretrade_estimate(**kwargs)
        assert field in exc.value.extra["fields"], override
