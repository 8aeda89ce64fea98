"""Pre-trade impact models: the square-root law and Kissell's I-Star.

Square-root law cost_bps = Y · σ_daily_bps · √(Q/ADV) (Almgren, Thum, Hauptmann & Li 2005;
Tóth et al. 2011); the least-squares Y and its standard error are checked against statsmodels
OLS without intercept (the textbook s²(XᵀX)⁻¹ formula) and scikit-learn. I-Star
I* = a1 (Q/ADV)^a2 σ^a3, MI = b1 I* POV^a4 + (1 − b1) I* (Kissell, Glantz & Malamut 2004;
Kissell 2013, ch. 5) is checked on a hand-evaluated point and by recovering known parameters.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.linear_model import LinearRegression

from execution_quality.engine.impact import istar_bps, istar_calibrate, sqrt_impact_bps, sqrt_impact_calibrate
from execution_quality.engine.types import IStarParams, TcaInputError


def test_given_sigma_and_size_when_sqrt_law_then_y_sigma_root_size():
    # 2% daily vol (200 bps), 4% of ADV, Y = 0.8 → 0.8 · 200 · 0.2 = 32 bps.
    assert sqrt_impact_bps(sigma_daily_bps=200.0, size_adv=0.04, y=0.8)[0] == pytest.approx(32.0)


def test_given_realised_costs_when_calibrating_sqrt_law_then_matches_statsmodels_and_sklearn():
    rng = np.random.default_rng(5)
    n = 400
    sigma = rng.uniform(80, 300, n)
    size = np.exp(rng.uniform(np.log(1e-4), np.log(0.2), n))
    x = sigma * np.sqrt(size)
    cost = 0.7 * x + rng.normal(0, 8, n)
    fit = sqrt_impact_calibrate(cost_bps=cost, sigma_daily_bps=sigma, size_adv=size)
    ols = sm.OLS(cost, x[:, None]).fit()
    assert fit.y == pytest.approx(float(ols.params[0]), rel=1e-12)
    # statsmodels divides by n − k with k = 1 regressor: the same n − 1 as ours.
    assert fit.y_se == pytest.approx(float(ols.bse[0]), rel=1e-10)
    assert fit.y == pytest.approx(
        float(LinearRegression(fit_intercept=False).fit(x[:, None], cost).coef_[0]), rel=1e-10
    )
    assert abs(fit.y - 0.7) < 4 * fit.y_se
    assert fit.n == n


def test_given_missing_values_when_calibrating_sqrt_law_then_rows_dropped_and_too_few_raise():
    fit = sqrt_impact_calibrate(
        cost_bps=[10.0, np.nan, 20.0, 31.0], sigma_daily_bps=[100, 100, 100, 100], size_adv=[0.01, 0.04, 0.04, 0.09]
    )
    assert fit.n == 3
    with pytest.raises(TcaInputError, match="at least two"):
        sqrt_impact_calibrate(cost_bps=[1.0, np.nan], sigma_daily_bps=[100, 100], size_adv=[0.01, 0.01])


def test_given_default_parameters_when_istar_then_hand_evaluated_point():
    # Q/ADV = 10%, σ = 25% a year, POV = 10%: I* = 708 · 0.1^0.55 · 0.25^0.71 ≈ 74.6 bps,
    # MI = 0.98 · I* · 0.1^0.5 + 0.02 · I* ≈ 24.6 bps.
    i_star, mi = istar_bps(size_adv=0.1, sigma_annual=0.25, pov=0.1)
    expected_i = 708 * 0.1**0.55 * 0.25**0.71
    assert i_star[0] == pytest.approx(expected_i, rel=1e-12)
    assert mi[0] == pytest.approx(0.98 * expected_i * 0.1**0.5 + 0.02 * expected_i, rel=1e-12)
    assert i_star[0] == pytest.approx(74.6, abs=0.1) and mi[0] == pytest.approx(24.6, abs=0.1)


def test_given_full_participation_when_istar_then_market_impact_is_the_instantaneous_impact():
    i_star, mi = istar_bps(size_adv=[0.05, 0.3], sigma_annual=[0.2, 0.5], pov=[1.0, 1.0])
    np.testing.assert_allclose(mi, i_star, rtol=1e-14)


def _istar_sample(rng: np.random.Generator, n: int, truth: IStarParams, noise_bps: float):
    size = np.exp(rng.uniform(np.log(0.005), np.log(0.3), n))
    sigma = rng.uniform(0.1, 0.8, n)
    pov = rng.uniform(0.01, 0.6, n)
    _, mi = istar_bps(size_adv=size, sigma_annual=sigma, pov=pov, params=truth)
    return mi + rng.normal(0, noise_bps, n) if noise_bps else mi, size, sigma, pov


def test_given_noise_free_costs_when_calibrating_istar_then_parameters_recovered():
    truth = IStarParams(a1=600.0, a2=0.6, a3=0.8, a4=0.4, b1=0.9)
    cost, size, sigma, pov = _istar_sample(np.random.default_rng(2004), 300, truth, 0.0)
    fit = istar_calibrate(cost_bps=cost, size_adv=size, sigma_annual=sigma, pov=pov)
    assert fit.success
    for name in ("a1", "a2", "a3", "a4", "b1"):
        assert getattr(fit.params, name) == pytest.approx(getattr(truth, name), rel=1e-5), name
    assert fit.rmse_bps < 1e-6


def test_given_noisy_costs_when_calibrating_istar_then_truth_within_four_standard_errors():
    truth = IStarParams(a1=450.0, a2=0.5, a3=0.7, a4=0.6, b1=0.85)
    cost, size, sigma, pov = _istar_sample(np.random.default_rng(2013), 3000, truth, 5.0)
    fit = istar_calibrate(cost_bps=cost, size_adv=size, sigma_annual=sigma, pov=pov)
    for name in ("a1", "a2", "a3", "a4", "b1"):
        est, se = getattr(fit.params, name), getattr(fit.se, name)
        assert se > 0 and abs(est - getattr(truth, name)) < 4 * se, (name, est, se)
    assert fit.rmse_bps == pytest.approx(5.0, rel=0.1)


def test_given_too_few_orders_when_calibrating_istar_then_clear_error():
    with pytest.raises(TcaInputError, match="six usable"):
        istar_calibrate(cost_bps=[1.0] * 5, size_adv=[0.1] * 5, sigma_annual=[0.2] * 5, pov=[0.1] * 5)
