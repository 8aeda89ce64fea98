"""Factor risk: OLS time-series betas and the systematic/idiosyncratic variance split.

References: the linear factor model of Grinold & Kahn, *Active Portfolio Management* (2nd ed.),
ch. 3 (V = X F Xᵀ + Δ), and Euler risk attribution (Tasche 2000, "Risk contributions and
performance measurement").
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from riskapp.engine.factors import factor_exposures
from riskapp.engine.types import RiskInputError


def _factor_world(seed: int, t: int = 2_000, n: int = 5, k: int = 3):
    rng = np.random.default_rng(seed)
    factors = rng.multivariate_normal(np.zeros(k), np.diag([0.0001, 0.00004, 0.00002]) + 0.00001, size=t)
    betas = rng.uniform(-0.5, 1.5, size=(n, k))
    alphas = rng.uniform(-0.0005, 0.0005, size=n)
    noise = rng.normal(0, 0.005, size=(t, n))
    return factors, betas, alphas, alphas + factors @ betas.T + noise


def test_given_returns_generated_from_known_betas_then_regression_recovers_them():
    factors, betas, alphas, returns = _factor_world(1)
    res = factor_exposures(returns, factors, np.ones(5), factor_names=["MKT", "SMB", "HML"])
    assert res.factor_names == ("MKT", "SMB", "HML")
    assert res.betas == pytest.approx(betas, abs=0.06)
    assert res.alphas == pytest.approx(alphas, abs=0.0003)
    assert np.all(res.r_squared > 0.3) and np.all(res.r_squared < 1)
    assert res.residual_var == pytest.approx(np.full(5, 0.005**2), rel=0.1)


def test_given_one_asset_then_coefficients_match_statsmodels_ols():
    factors, _, _, returns = _factor_world(2)
    res = factor_exposures(returns, factors, np.ones(5))
    fit = sm.OLS(returns[:, 0], sm.add_constant(factors)).fit()
    assert res.alphas[0] == pytest.approx(fit.params[0], rel=1e-10)
    assert res.betas[0] == pytest.approx(fit.params[1:], rel=1e-10)
    assert res.r_squared[0] == pytest.approx(fit.rsquared, rel=1e-10)
    # Our residual variance uses ddof = 1 (see the module docstring); statsmodels' uses T − K − 1.
    t, k = factors.shape
    assert res.residual_var[0] == pytest.approx(fit.mse_resid * (t - k - 1) / (t - 1), rel=1e-10)


def test_given_a_single_asset_book_then_the_split_reproduces_its_sample_variance():
    factors, _, _, returns = _factor_world(3)
    value = 2_500_000.0
    res = factor_exposures(returns[:, :1], factors, [value])
    assert res.total_var == pytest.approx(value**2 * returns[:, 0].var(ddof=1), rel=1e-10)


def test_given_a_book_then_factor_contributions_sum_to_the_systematic_variance():
    factors, _, _, returns = _factor_world(4)
    v = np.array([1e6, -5e5, 2e5, 0.0, 3e5])
    res = factor_exposures(returns, factors, v, nav=1e6)
    e = res.betas.T @ v
    assert res.exposures == pytest.approx(e)
    assert res.systematic_var == pytest.approx(e @ np.cov(factors, rowvar=False) @ e, rel=1e-12)
    assert res.contribution_per_factor.sum() == pytest.approx(res.systematic_var, rel=1e-12)
    assert res.idiosyncratic_by_asset.sum() == pytest.approx(res.idiosyncratic_var)
    assert res.portfolio_betas == pytest.approx(e / 1e6)
    assert 0 < res.systematic_share < 1


def test_given_no_nav_then_portfolio_betas_are_per_unit_of_gross_value():
    factors, _, _, returns = _factor_world(5)
    v = np.array([1.0, 1.0, 1.0, 1.0, 1.0]) * 200.0
    res = factor_exposures(returns, factors, v)
    assert res.portfolio_betas == pytest.approx(res.betas.mean(axis=0))


@settings(max_examples=30, deadline=None)
@given(
    st.integers(min_value=0, max_value=10_000),
    st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=4, max_size=4),
)
def test_factor_variance_split_sums_to_total_for_a_factor_model_book(seed, values):
    rng = np.random.default_rng(seed)
    factors = rng.normal(0, 0.01, size=(300, 2))
    returns = factors @ rng.uniform(-1, 2, size=(2, 4)) + rng.normal(0, 0.01, size=(300, 4))
    v = np.array(values)
    res = factor_exposures(returns, factors, v, nav=1.0)
    assert res.contribution_per_factor.sum() == pytest.approx(res.systematic_var, rel=1e-9, abs=1e-9)
    assert res.systematic_var >= -1e-9 and res.idiosyncratic_var >= 0
    assert res.total_var == pytest.approx(res.systematic_var + res.idiosyncratic_var)
    # The model variance equals the sample variance of the book's P&L up to cross-asset residual
    # covariance, which the model sets to zero: add it back and the split is exact.
    resid = returns - (res.alphas + factors @ res.betas.T)
    cross = v @ np.cov(resid, rowvar=False) @ v - res.idiosyncratic_var
    assert res.total_var + cross == pytest.approx(float(np.var(returns @ v, ddof=1)), rel=1e-8, abs=1e-6)


@pytest.mark.parametrize(
    ("asset", "factor", "values", "kwargs", "message"),
    [
        (np.zeros((10, 2)), np.zeros((9, 1)), [1.0, 1.0], {}, "10 days of asset returns but 9"),
        (np.zeros((3, 2)), np.ones((3, 2)), [1.0, 1.0], {}, "more than 3 days"),
        (np.random.default_rng(0).normal(size=(20, 1)), np.ones((20, 1)), [1.0], {}, "collinear"),
        (np.full((20, 1), np.nan), np.zeros((20, 1)), [1.0], {}, "non-finite"),
        (np.zeros((20, 2)), np.random.default_rng(0).normal(size=(20, 1)), [1.0], {}, "1 position values for 2"),
        (
            np.zeros((20, 1)),
            np.random.default_rng(0).normal(size=(20, 1)),
            [1.0],
            {"factor_names": ["A", "B"]},
            "2 factor names",
        ),
        (np.zeros((20, 1)), np.random.default_rng(0).normal(size=(20, 1)), [1.0], {"nav": 0.0}, "NAV"),
    ],
)
def test_given_bad_inputs_then_risk_input_error(asset, factor, values, kwargs, message):
    with pytest.raises(RiskInputError, match=message):
        factor_exposures(asset, factor, values, **kwargs)
