"""Extreme value theory: peaks over threshold with a generalised Pareto tail.

Sources: McNeil & Frey (2000), "Estimation of tail-related risk measures for heteroscedastic
financial time series: an extreme value approach", Journal of Empirical Finance 7, eqs. 9–10;
McNeil, Frey & Embrechts, *Quantitative Risk Management* (2005), §7.2.3 (eqs. 7.18–7.19) and
the GPD mean-excess function e(v) = (β + ξv)/(1 − ξ) (§7.2.1); Balkema–de Haan/Pickands
threshold stability: excesses of a GPD(ξ, β) over u are GPD(ξ, β + ξu).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from riskapp.engine import evt
from riskapp.engine.types import RiskInputError


@pytest.mark.parametrize("xi", [-0.2, 0.0, 0.2, 0.5])
def test_gpd_var_es_agree_with_scipy_quantile_and_mean_excess(xi):
    """VaR = u + GPD⁻¹(1 − (n/N_u)(1 − α)) and ES = VaR + e(VaR − u): the same numbers from
    scipy's GPD quantile and a numerical integral of the tail, independently of the closed form."""
    u, beta, n, n_u, alpha = 1.5, 0.6, 1000, 50, 0.99
    var, es = evt.gpd_var_es(threshold=u, xi=xi, beta=beta, n=n, n_exceed=n_u, confidence=alpha)
    tail_prob = (n / n_u) * (1 - alpha)  # P(Y > VaR − u | L > u)
    assert var == pytest.approx(u + stats.genpareto.ppf(1 - tail_prob, xi, scale=beta), rel=1e-10)
    conditional_mean = stats.genpareto.expect(
        lambda y: y, args=(xi,), scale=beta, lb=var - u, conditional=True
    )  # E[Y | Y > VaR − u]
    assert es == pytest.approx(u + conditional_mean, rel=1e-6)
    assert es > var > u


def test_exponential_limit_is_continuous():
    kw = {"threshold": 2.0, "beta": 1.0, "n": 500, "n_exceed": 40, "confidence": 0.995}
    var0, es0 = evt.gpd_var_es(xi=0.0, **kw)
    var_small, es_small = evt.gpd_var_es(xi=1e-7, **kw)
    assert var0 == pytest.approx(2.0 - math.log(500 / 40 * 0.005))
    assert es0 == pytest.approx(var0 + 1.0)
    assert var_small == pytest.approx(var0, rel=1e-5)
    assert es_small == pytest.approx(es0, rel=1e-5)


def test_gpd_sample_var_matches_true_and_empirical_quantiles():
    """Given 100,000 draws of GPD(ξ = 0.25, β = 1), POT at the 90% threshold recovers ξ and the
    99.9% quantile (true 18.49; by threshold stability the excesses are GPD(0.25, 1 + 0.25u))."""
    rng = np.random.default_rng(42)
    losses = stats.genpareto.rvs(0.25, scale=1.0, size=100_000, random_state=rng)
    res = evt.pot_var_es(losses[:, None], [-1.0], confidence=0.999, threshold_quantile=0.9)
    assert res.method == "evt"
    assert res.details["n_exceed"] == 10_000
    assert res.details["xi"] == pytest.approx(0.25, abs=0.03)
    assert res.details["beta"] == pytest.approx(1 + 0.25 * res.details["threshold"], rel=0.05)
    true_var = stats.genpareto.ppf(0.999, 0.25)
    assert res.var == pytest.approx(true_var, rel=0.05)
    assert res.var == pytest.approx(np.quantile(losses, 0.999), rel=0.05)
    true_es = stats.genpareto.expect(lambda y: y, args=(0.25,), lb=true_var, conditional=True)
    assert res.es == pytest.approx(true_es, rel=0.08)


def test_evt_beats_the_normal_for_student_t_tails():
    """Given Student-t(3) losses, the EVT 99.5% VaR is near the true t quantile; a fitted normal
    badly misses it (property: heavy tails are what EVT is for)."""
    rng = np.random.default_rng(3)
    returns = stats.t.rvs(3, size=20_000, random_state=rng) * 0.01
    res = evt.pot_var_es(returns[:, None], [1.0], confidence=0.995)
    true_var = stats.t.ppf(0.995, 3) * 0.01
    normal_var = stats.norm.ppf(0.995) * returns.std()
    assert res.var == pytest.approx(true_var, rel=0.08)
    assert abs(normal_var / true_var - 1) > 0.2
    assert 0.15 < res.details["xi"] < 0.55  # t(3) has tail index ξ = 1/3


def test_infinite_es_is_a_clear_error_but_var_is_still_available():
    """ξ ≥ 1: the tail has no mean, so ES is infinite (QRM §7.2.3 needs ξ < 1)."""
    with pytest.raises(RiskInputError, match="infinite"):
        evt.gpd_es(var=5.0, threshold=1.0, xi=1.2, beta=1.0)
    rng = np.random.default_rng(0)
    losses = stats.genpareto.rvs(1.5, size=5000, random_state=rng)
    with pytest.raises(RiskInputError, match="ξ"):
        evt.pot_var_es(losses[:, None], [-1.0], confidence=0.99)
    var = evt.pot_var(losses[:, None], [-1.0], confidence=0.99)
    assert np.isfinite(var) and var > 0.0


def test_conditional_evt_and_horizon():
    """McNeil & Frey's conditional EVT: the GPD is fitted to EWMA-standardised losses and scaled
    by the volatility forecast; h-day figures scale by √h."""
    rng = np.random.default_rng(5)
    returns = stats.t.rvs(4, size=(1500, 2), random_state=rng) * 0.01
    values = [1e6, 5e5]
    one = evt.pot_var_es(returns, values, confidence=0.99, vol_model="ewma")
    ten = evt.pot_var_es(returns, values, confidence=0.99, vol_model="ewma", horizon_days=10)
    assert one.method == "evt_ewma"
    assert one.es >= one.var > 0.0
    assert one.details["sigma_forecast"] > 0.0
    assert ten.var == pytest.approx(math.sqrt(10) * one.var)
    assert evt.pot_var(returns, values, confidence=0.99, vol_model="ewma") == pytest.approx(one.var)


def test_too_few_exceedances_and_too_low_confidence_are_errors():
    returns = np.random.default_rng(1).normal(0, 0.01, size=(100, 1))
    with pytest.raises(RiskInputError, match="exceed"):
        evt.pot_var_es(returns, [1.0], confidence=0.99)  # 5 exceedances of the 95% threshold
    returns = np.random.default_rng(1).normal(0, 0.01, size=(1000, 1))
    with pytest.raises(RiskInputError, match="threshold"):
        evt.pot_var_es(returns, [1.0], confidence=0.9, threshold_quantile=0.95)
    with pytest.raises(RiskInputError):
        evt.pot_var_es(returns, [1.0], confidence=0.99, vol_model="figarch")  # type: ignore[arg-type]
    with pytest.raises(RiskInputError, match="equal"):
        evt.gpd_fit(np.ones(20))


def test_flat_book_has_zero_var():
    res = evt.pot_var_es(np.zeros((500, 1)), [1.0], confidence=0.99)
    assert (res.var, res.es) == (0.0, 0.0)
