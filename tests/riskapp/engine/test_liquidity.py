"""Liquidity: days to liquidate, square-root impact, Bangia et al. (1999) liquidity-adjusted VaR.

References: Bangia, Diebold, Schuermann & Stroughair (1999), "Modeling liquidity risk, with
implications for traditional market risk measurement and management" (LVaR = VaR + ½·P·(μ + aσ)
on the relative spread); Tóth et al. (2011), Phys. Rev. X 1, 021006 and Almgren et al. (2005),
Risk 18(7) for the square-root impact law.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from riskapp.engine.liquidity import (
    days_to_liquidate,
    empirical_spread_factor,
    liquidity_profile,
    lvar_bangia,
    sqrt_impact_cost,
)
from riskapp.engine.types import RiskInputError


def test_given_quantity_and_adv_then_days_at_ten_percent_participation():
    days = days_to_liquidate([1_000_000.0, -200_000.0, 0.0, 50.0], [2_000_000.0, 100_000.0, 0.0, 0.0])
    assert days[:3] == pytest.approx([5.0, 20.0, 0.0])
    assert math.isinf(days[3])  # a name that does not trade cannot be sold
    assert days_to_liquidate([1_000_000.0], 2_000_000.0, participation=0.2) == pytest.approx([2.5])


def test_given_a_book_then_the_liquidity_profile_rises_to_one():
    profile = liquidity_profile([100_000.0, 1_000_000.0], [1_000_000.0, 1_000_000.0], [10.0, 10.0], days=(1, 5, 10, 20))
    # First name: 1 day; second: 10 days. After d days the second has sold min(1, d/10).
    assert profile == pytest.approx({1: (1 + 10 * 0.1) / 11, 5: (1 + 10 * 0.5) / 11, 10: 1.0, 20: 1.0})


def test_given_one_percent_of_adv_then_sqrt_law_costs_a_tenth_of_daily_vol():
    """Square-root law: Q/ADV = 1%, σ = 2% → impact 2% · √0.01 = 20 bp of the traded value."""
    cost = sqrt_impact_cost(10_000.0, 1_000_000.0, 0.02, 50.0)
    assert cost == pytest.approx(0.0020 * 10_000 * 50)
    assert sqrt_impact_cost(-10_000.0, 1_000_000.0, 0.02, 50.0, coefficient=0.5) == pytest.approx(cost / 2)
    costs = sqrt_impact_cost([0.0, 40_000.0], 1_000_000.0, 0.02, 50.0)
    assert isinstance(costs, np.ndarray)
    # Quadrupling the size doubles the cost per share (√4 = 2): total cost × 8 versus 10,000 shares × 4.
    assert costs == pytest.approx([0.0, 8 * cost])
    assert sqrt_impact_cost(10_000.0, 1_000_000.0, 0.02, 50.0, exponent=0.6) == pytest.approx(
        0.02 * 0.01**0.6 * 500_000
    )


def test_given_spread_statistics_then_bangia_lvar_adds_half_the_stressed_spread():
    """LVaR = VaR + ½ Σ|v|(μ + 3σ): 1,000,000 at μ = 20 bp, σ = 10 bp adds ½·1e6·0.005 = 2,500."""
    assert lvar_bangia(50_000.0, [1_000_000.0], 0.002, 0.001) == pytest.approx(52_500.0)
    both = lvar_bangia(50_000.0, [600_000.0, -400_000.0], [0.002, 0.004], [0.001, 0.002], z=[3.0, 2.0])
    assert both == pytest.approx(50_000 + 0.5 * (600_000 * 0.005 + 400_000 * 0.008))


def test_given_normal_spreads_then_the_empirical_factor_is_the_normal_quantile():
    rng = np.random.default_rng(0)
    spreads = np.abs(rng.normal(0.01, 0.001, size=(200_000, 2)))
    assert empirical_spread_factor(spreads, confidence=0.99) == pytest.approx([norm.ppf(0.99)] * 2, abs=0.03)
    assert empirical_spread_factor(np.full((10, 1), 0.01)) == pytest.approx([0.0])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: days_to_liquidate([1.0], [-1.0]), "ADV"),
        (lambda: days_to_liquidate([1.0], [1.0], participation=0.0), "participation"),
        (lambda: days_to_liquidate([1.0, 2.0], [1.0, 2.0, 3.0]), "3 ADV figures for 2"),
        (lambda: sqrt_impact_cost(1.0, 1.0, -0.01, 1.0), "volatility"),
        (lambda: sqrt_impact_cost([1.0, 2.0], [1.0, 2.0, 3.0], 0.01, 1.0), "shapes"),
        (lambda: lvar_bangia(-1.0, [1.0], 0.0, 0.0), "VaR"),
        (lambda: lvar_bangia(1.0, [1.0, 2.0], [0.1, 0.1, 0.1], 0.0), "one value per position"),
        (lambda: empirical_spread_factor([0.01]), "two observations"),
        (lambda: liquidity_profile([0.0], [1.0], [1.0]), "no exposure"),
    ],
)
def test_given_bad_inputs_then_risk_input_error(call, message):
    with pytest.raises(RiskInputError, match=message):
        call()
