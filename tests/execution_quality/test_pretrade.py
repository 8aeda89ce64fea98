"""Pre-trade estimates against the engine's formulas on the hand-built book.

Square-root law cost = Y · σ_daily_bps · √(Q/ADV) (Almgren et al. 2005); I-Star
MI = b1 · a1 (Q/ADV)^a2 σ^a3 · POV^a4 + (1 − b1) · I* (Kissell 2013, ch. 5); the schedule is
Almgren–Chriss (2000), whose uniform schedule costs ½γX² + εX + η̃X²/T (paper §2.2), with γ and
η̃ calibrated so that this impact equals the square-root law's (docs/tca-methodology.md).
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest

from core.errors import ValidationFailed
from execution_quality.engine.impact import istar_bps, sqrt_impact_bps
from execution_quality.engine.schedule import almgren_chriss_schedule
from execution_quality.engine.types import IStarParams
from execution_quality.services import pretrade_estimate
from execution_quality.services.pretrade import almgren_chriss_calibrate
from portfolios import models as m
from tests.execution_quality.book import DAY, at, market_build
from tests.factories import InstrumentFactory

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

    # Almgren–Chriss over the time the order needs at 10 % of volume: 0.01/0.10 of 390 minutes,
    # impact calibrated to the square-root law: C = σ·√(Q/ADV)·X·P, φ = 1 − b1 = 0.02 permanent
    sch = est["schedule"]
    assert sch["horizon_minutes"] == pytest.approx(39.0)
    spread, value = 0.04, 10_000 * 100.10
    impact = sigma * math.sqrt(size) * value
    gamma, eta_tilde = 2 * 0.02 * impact / 10_000**2, 0.98 * impact * 39.0 / 10_000**2
    expected = almgren_chriss_schedule(
        shares=10_000,
        horizon=39.0,
        periods=20,
        volatility=sigma * 100.10 / math.sqrt(390),
        eta=eta_tilde + gamma * (39.0 / 20) / 2,
        gamma=gamma,
        risk_aversion=1e-6,
        epsilon=spread / 2,
    )
    np.testing.assert_allclose(sch["holdings"], expected.holdings, rtol=1e-9)
    assert sch["holdings"][0] == 10_000 and sch["holdings"][-1] == 0
    assert sum(sch["trades"]) == pytest.approx(10_000)
    assert sch["expected_cost"] == pytest.approx(expected.expected_cost)
    assert sch["spread_cost_bps"] == pytest.approx(spread / 2 / 100.10 * 1e4)
    assert sch["impact_cost_bps"] + sch["spread_cost_bps"] == pytest.approx(sch["expected_cost_bps"])


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


def test_given_no_risk_aversion_then_the_schedule_costs_the_calibrated_uniform_impact():
    """λ → 0 is the uniform schedule, whose expected cost ½γX² + εX + η̃X²/T (Almgren & Chriss
    2000, §2.2) the calibration sets to εX + C, C = Y·σ_d·√(X/ADV)·X·P the square-root law."""
    shares, price, adv, sigma_d = 30_000.0, 42.0, 2_000_000.0, 0.018
    impact = 0.9 * sigma_d * math.sqrt(shares / adv) * shares * price
    for horizon, periods in ((39.0, 20), (390.0, 7), (5.0, 1)):
        cal = almgren_chriss_calibrate(
            shares=shares,
            price=price,
            adv=adv,
            volatility_daily=sigma_d,
            spread_bps=6.0,
            horizon_minutes=horizon,
            periods=periods,
            sqrt_impact_y=0.9,
            permanent_share=0.1,
        )
        assert cal.impact_cost == pytest.approx(impact)
        assert 0.5 * cal.gamma * shares**2 == pytest.approx(0.1 * impact)  # the permanent share
        assert cal.eta_tilde * shares**2 / horizon == pytest.approx(0.9 * impact)  # temporary, at rate X/T
        assert cal.eta - cal.gamma * horizon / periods / 2 == pytest.approx(cal.eta_tilde)
        assert cal.epsilon == pytest.approx(6.0e-4 * price / 2)
        for lam in (0.0, 1e-12):
            ac = almgren_chriss_schedule(
                shares=shares,
                horizon=horizon,
                periods=periods,
                volatility=cal.sigma,
                eta=cal.eta,
                gamma=cal.gamma,
                risk_aversion=lam,
                epsilon=cal.epsilon,
            )
            assert ac.expected_cost == pytest.approx(cal.epsilon * shares + impact, rel=1e-6), (horizon, lam)


@pytest.fixture
def typical():
    """An instrument at 100 with ADV 1,000,000, daily closes alternating 100 and 100·e^0.02 (log
    returns ±2 %: a daily volatility of 2.03 % with ddof = 1 over 29 returns) and a 5 bps quote."""
    inst = InstrumentFactory(symbol="TYP")
    high = Decimal(str(round(100 * math.exp(0.02), 6)))
    m.PriceBar.objects.bulk_create(
        m.PriceBar(
            instrument=inst,
            date=DAY - timedelta(days=30 - k),
            open=Decimal(100),
            close=Decimal(100) if k % 2 == 0 else high,
            adj_close=Decimal(100) if k % 2 == 0 else high,
            volume=1_000_000,
        )
        for k in range(30)
    )
    m.Quote.objects.create(
        instrument=inst, ts=at(14, 30), bid=Decimal("99.975"), ask=Decimal("100.025"), bid_size=100, ask_size=100
    )
    return inst


def test_given_a_typical_order_then_the_schedule_agrees_with_the_square_root_law(typical):
    """1 % of ADV with 2 % daily volatility: the square-root law (Y = 1) prices the impact at
    2.03 % · √0.01 ≈ 20 bps. The Almgren–Chriss schedule at the default λ = 10⁻⁶ trades nearly
    evenly (κT ≈ 0.14) and must cost about the same, not the ~50 bps (and ~300 bps at a 30 bps
    spread) of a calibration where trading 1 % of daily volume per day costs one spread."""
    order = {"instrument": "TYP", "side": "buy", "quantity": 10_000, "user": None, "arrival": at(14, 36)}
    est = pretrade_estimate(**order)
    calm = pretrade_estimate(**order, risk_aversion=0.0)

    sqrt_bps = est["sqrt_law"]["cost_bps"]
    assert est["market"]["size_adv"] == pytest.approx(0.01)
    assert est["market"]["volatility_daily_bps"] == pytest.approx(200 * math.sqrt(30 / 29), rel=1e-3)
    assert sqrt_bps == pytest.approx(20.3, abs=0.1)
    # λ = 0: exactly the square-root law plus half the spread
    assert calm["schedule"]["impact_cost_bps"] == pytest.approx(sqrt_bps, rel=1e-9)
    assert calm["schedule"]["expected_cost_bps"] == pytest.approx(sqrt_bps + 2.5, rel=1e-6)
    # the default risk aversion: within a factor of 2 of the square-root law (here within 1 %)
    sch = est["schedule"]
    assert sqrt_bps / 2 <= sch["impact_cost_bps"] <= 2 * sqrt_bps
    assert sqrt_bps / 2 <= sch["expected_cost_bps"] <= 2 * sqrt_bps
    assert sch["impact_cost_bps"] == pytest.approx(sqrt_bps, rel=0.01)
    assert sch["impact_cost_bps"] >= calm["schedule"]["impact_cost_bps"]  # front-loading costs impact
    assert sch["kappa_per_minute"] * sch["horizon_minutes"] == pytest.approx(0.14, abs=0.01)
