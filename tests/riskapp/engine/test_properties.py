"""Property tests (hypothesis) of the risk engine core: covariance, VaR/ES, decomposition.

Properties and their sources:
- ES ≥ VaR ≥ 0 for every method (ES is the mean of losses beyond VaR; Acerbi & Tasche 2002).
- Euler components sum to the total (Tasche 1999; McNeil, Frey & Embrechts, *QRM*, Euler capital allocation).
- Monte Carlo converges to the parametric normal answer for a normal linear book, within a
  tolerance from the asymptotic standard errors: quantile √(c(1−c)/n)/f(q) (e.g. Serfling 1980,
  §2.3) and ES √(Var(L | L ≥ q) + c·(ES − q)²)/√(n(1−c)) (Manistre & Hancock 2005).
- Historical VaR is numpy's default linear quantile of losses, ES the mean of the ceil(n(1−c))
  largest (ARCHITECTURE.md conventions).
- The PSD repair is symmetric, PSD and at Higham's (1988) minimal Frobenius distance.
- VaR_h = VaR_1·√h (square root of time, the documented default).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from riskapp.engine import var as V
from riskapp.engine.covariance import nearest_psd
from riskapp.engine.decomposition import component_es, component_var
from riskapp.engine.tail import tail_count, var_es_columns

SETTINGS = settings(max_examples=25, deadline=None)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
confidences = st.floats(min_value=0.9, max_value=0.995)
n_assets = st.integers(min_value=1, max_value=6)


def _random_book(seed: int, n: int, t: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Correlated returns with random vols and fat-ish tails, and signed position values."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(n, n)) * rng.uniform(0.002, 0.03, size=n)[:, None]
    returns = (rng.standard_t(5, size=(t, n)) * math.sqrt(3 / 5)) @ mix.T
    values = rng.uniform(-1e6, 1e6, size=n)
    return returns, values


@SETTINGS
@given(seed=seeds, n=n_assets, c=confidences)
def test_es_is_at_least_var_and_both_are_non_negative(seed: int, n: int, c: float) -> None:
    returns, values = _random_book(seed, n)
    results = V.var_all(returns, values, confidences=(c,), horizons=(1, 10), n_scenarios=5_000, seed=seed)
    for res in results:
        assert 0.0 <= res.var <= res.es, res


@SETTINGS
@given(seed=seeds, n=st.integers(min_value=1, max_value=12), c=confidences, h=st.integers(1, 20))
def test_euler_components_sum_to_the_total(seed: int, n: int, c: float, h: int) -> None:
    returns, values = _random_book(seed, n)
    cov = np.cov(returns, rowvar=False).reshape(n, n)
    total = V.parametric_normal(returns, values, confidence=c, horizon_days=h, cov=cov)
    assert math.isclose(component_var(cov, values, confidence=c, horizon_days=h).sum(), total.var, rel_tol=1e-9)
    assert math.isclose(component_es(cov, values, confidence=c, horizon_days=h).sum(), total.es, rel_tol=1e-9)


@settings(max_examples=10, deadline=None)
@given(seed=seeds, n=n_assets, c=st.sampled_from([0.95, 0.975, 0.99]))
def test_monte_carlo_converges_to_the_parametric_normal_answer(seed: int, n: int, c: float) -> None:
    """100,000 scenarios: |MC − closed form| < 5 standard errors for VaR and for ES.

    For a normal P&L with σ: SE(VaR) = σ·√(c(1−c)/n)/φ(z); with λ = φ(z)/(1−c) the tail
    variance Var(Z | Z ≥ z) = 1 + zλ − λ², so SE(ES) = σ·√((1 + zλ − λ²) + c(λ − z)²)/√(n(1−c)).
    Five SE keeps a false alarm below 1 in a million per example.
    """
    returns, values = _random_book(seed, n)
    exact = V.parametric_normal(returns, values, confidence=c)
    mc = V.monte_carlo(returns, values, confidence=c, seed=seed)
    sigma, size = exact.details["sigma_1d"], 100_000
    z = stats.norm.ppf(c)
    lam = stats.norm.pdf(z) / (1 - c)
    se_var = sigma * math.sqrt(c * (1 - c) / size) / stats.norm.pdf(z)
    se_es = sigma * math.sqrt((1 + z * lam - lam**2) + c * (lam - z) ** 2) / math.sqrt(size * (1 - c))
    assert abs(mc.var - exact.var) < 5 * se_var
    assert abs(mc.es - exact.es) < 5 * se_es


@settings(max_examples=10, deadline=None)
@given(seed=seeds, n=n_assets, nu=st.sampled_from([3.0, 5.0, 8.0]))
def test_monte_carlo_t_converges_to_the_parametric_t_answer(seed: int, n: int, nu: float) -> None:
    """A linear book of a multivariate t (ν) has a univariate t P&L with the same ν and variance
    vᵀΣv (QRM, multivariate t as a normal variance mixture), so its 99% VaR is the parametric t
    one within 5 quantile SEs."""
    returns, values = _random_book(seed, n)
    exact = V.parametric_t(returns, values, confidence=0.99, dof=nu)
    mc = V.monte_carlo(returns, values, confidence=0.99, dist="t", dof=nu, seed=seed)
    scale = exact.details["sigma_1d"] * math.sqrt((nu - 2) / nu)
    q = stats.t.ppf(0.99, nu)
    se_var = scale * math.sqrt(0.99 * 0.01 / 100_000) / stats.t.pdf(q, nu)
    assert abs(mc.var - exact.var) < 5 * se_var


@SETTINGS
@given(seed=seeds, n=n_assets, c=confidences, t=st.integers(min_value=2, max_value=600))
def test_historical_var_is_the_numpy_linear_quantile_of_losses(seed: int, n: int, c: float, t: int) -> None:
    returns, values = _random_book(seed, n, t=t)
    losses = -(returns @ values)
    res = V.historical(returns, values, confidence=c)
    k = tail_count(t, c)
    assert math.isclose(res.var, max(float(np.quantile(losses, c, method="linear")), 0.0), rel_tol=1e-12, abs_tol=1e-9)
    expected_es = max(float(np.sort(losses)[-k:].mean()), res.var)
    assert math.isclose(res.es, expected_es, rel_tol=1e-12, abs_tol=1e-9)


@SETTINGS
@given(seed=seeds, n=n_assets, c=confidences, p=st.integers(min_value=1, max_value=40))
def test_historical_many_equals_tail_var_es_columns(seed: int, n: int, c: float, p: int) -> None:
    returns, _ = _random_book(seed, n)
    books = np.random.default_rng(seed).uniform(-1e6, 1e6, size=(n, p))
    var, es = V.historical_many(returns, books, confidence=c)
    ref_var, ref_es = var_es_columns(-(returns @ books), c)
    np.testing.assert_allclose(var, ref_var, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(es, ref_es, rtol=1e-12, atol=1e-9)


@SETTINGS
@given(seed=seeds, n=st.integers(min_value=1, max_value=10))
def test_nearest_psd_is_symmetric_psd_and_nearest(seed: int, n: int) -> None:
    """Higham (1988) Thm 2.1: ‖A − X‖²_F = Σ_{λ_i(B)<0} λ_i² + ‖(A − Aᵀ)/2‖²_F, B = (A + Aᵀ)/2;
    and no other PSD matrix tried (random ones, or B shifted to PSD) is closer."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    x = nearest_psd(a)
    assert np.array_equal(x, x.T)
    scale = max(1.0, float(np.abs(np.linalg.eigvalsh(x)).max()))
    assert np.linalg.eigvalsh(x).min() >= -1e-12 * scale
    sym = (a + a.T) / 2
    eig = np.linalg.eigvalsh(sym)
    distance = math.sqrt(float(np.sum(eig[eig < 0] ** 2)) + float(np.linalg.norm((a - a.T) / 2) ** 2))
    assert math.isclose(float(np.linalg.norm(a - x)), distance, rel_tol=1e-9, abs_tol=1e-12)
    shifted = sym + max(0.0, -eig.min()) * np.eye(n)
    for candidate in [shifted, np.zeros((n, n)), *(g @ g.T for g in rng.normal(size=(5, n, n)))]:
        assert np.linalg.norm(a - candidate) >= distance - 1e-9


@SETTINGS
@given(seed=seeds, n=n_assets, c=confidences, h=st.integers(min_value=1, max_value=250))
def test_var_scales_with_the_square_root_of_time(seed: int, n: int, c: float, h: int) -> None:
    returns, values = _random_book(seed, n)
    for method in (V.parametric_normal, V.parametric_t, V.cornish_fisher, V.historical):
        one = method(returns, values, confidence=c)
        many = method(returns, values, confidence=c, horizon_days=h)
        assert math.isclose(many.var, one.var * math.sqrt(h), rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(many.es, one.es * math.sqrt(h), rel_tol=1e-9, abs_tol=1e-9)
    mc1 = V.monte_carlo(returns, values, confidence=c, n_scenarios=2_000, seed=seed)
    mch = V.monte_carlo(returns, values, confidence=c, n_scenarios=2_000, seed=seed, horizon_days=h)
    assert math.isclose(mch.var, mc1.var * math.sqrt(h), rel_tol=1e-12)
