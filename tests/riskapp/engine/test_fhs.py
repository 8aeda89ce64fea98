"""Filtered historical simulation with EWMA and GARCH(1,1) volatility.

Sources: J.P. Morgan/Reuters, *RiskMetrics — Technical Document* (4th ed., 1996), §5.2 (EWMA
variance, λ = 0.94 for daily data); Bollerslev (1986), GARCH(1,1); Barone-Adesi, Giannopoulos
& Vosper (1999), "VaR without correlations for portfolios of derivative securities", Journal
of Futures Markets 19(5) (filtered historical simulation); the ``arch`` package as the GARCH
reference implementation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from riskapp.engine import fhs
from riskapp.engine.tail import var_es_from_losses
from riskapp.engine.types import RiskInputError


def simulate_garch(n: int, *, omega: float, alpha: float, beta: float, seed: int) -> tuple[np.ndarray, float]:
    """Zero-mean normal GARCH(1,1) returns (in percent) and the true next-day volatility."""
    rng = np.random.default_rng(seed)
    sigma2 = omega / (1.0 - alpha - beta)
    x = np.empty(n)
    for t in range(n):
        x[t] = math.sqrt(sigma2) * rng.standard_normal()
        sigma2 = omega + alpha * x[t] ** 2 + beta * sigma2
    return x, math.sqrt(sigma2)


def test_ewma_volatility_is_the_riskmetrics_recursion():
    """RiskMetrics 1996 §5.2: σ²_t = λ σ²_{t−1} + (1−λ) r²_{t−1}; seeded with the mean square."""
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.01, 300)
    sigma, nxt = fhs.ewma_volatility(x, lam=0.94)
    s2 = np.mean(x**2)
    expected = []
    for t in range(300):
        expected.append(math.sqrt(s2))
        s2 = 0.94 * s2 + 0.06 * x[t] ** 2
    np.testing.assert_allclose(sigma, expected, rtol=1e-12)
    assert nxt == pytest.approx(math.sqrt(s2), rel=1e-12)


def test_garch_filter_reproduces_arch_conditional_volatility_and_forecast():
    """Cross-check with arch: the same parameters give the same σ_t path and 1-day forecast."""
    from arch import arch_model

    x, _ = simulate_garch(1500, omega=0.05, alpha=0.08, beta=0.9, seed=1)
    returns = x / 100.0
    params = fhs.garch_fit(returns)
    res = arch_model(x, mean="Zero", vol="GARCH", p=1, q=1, dist="normal", rescale=False).fit(disp="off")
    assert params.scale == 100.0
    assert [params.omega, params.alpha, params.beta] == pytest.approx(list(res.params), rel=1e-4)
    sigma, nxt = fhs.garch_volatility(returns, params)
    np.testing.assert_allclose(sigma, res.conditional_volatility / 100.0, rtol=1e-6)
    forecast = math.sqrt(res.forecast(horizon=1, reindex=False).variance.to_numpy()[-1, 0]) / 100.0
    assert nxt == pytest.approx(forecast, rel=1e-6)


def test_garch_fit_recovers_simulated_parameters():
    """Given 4,000 days simulated from ω = 0.05, α = 0.08, β = 0.90 (percent units), MLE is close."""
    x, _ = simulate_garch(4000, omega=0.05, alpha=0.08, beta=0.9, seed=2)
    p = fhs.garch_fit(x / 100.0)
    assert p.converged
    assert p.alpha == pytest.approx(0.08, abs=0.03)
    assert p.beta == pytest.approx(0.90, abs=0.04)
    assert p.persistence == pytest.approx(0.98, abs=0.02)


def test_fhs_garch_var_tracks_the_true_conditional_var():
    """Given simulated GARCH data with normal shocks, the FHS-GARCH 99% VaR is close to the true
    conditional VaR z₀.₉₉·σ_{T+1}, while unfiltered historical VaR is not (it ignores today's
    volatility). Checked at several end dates so both calm and turbulent days are covered."""
    x, _ = simulate_garch(3000, omega=0.05, alpha=0.1, beta=0.85, seed=5)
    returns = x / 100.0
    omega, alpha, beta = 0.05, 0.1, 0.85
    sigma2 = np.empty(3001)
    sigma2[0] = omega / (1 - alpha - beta)
    for t in range(3000):
        sigma2[t + 1] = omega + alpha * x[t] ** 2 + beta * sigma2[t]
    for end in (1500, 2400, 2700):  # one turbulent and two calm days (seeded path)
        true_var = stats.norm.ppf(0.99) * math.sqrt(sigma2[end]) / 100.0
        res = fhs.filtered_historical(returns[:end, None], [1.0], confidence=0.99, vol_model="garch")
        assert res.method == "fhs_garch"
        assert res.var == pytest.approx(true_var, rel=0.05)
        assert res.details["sigma_forecast"] == pytest.approx(math.sqrt(sigma2[end]) / 100.0, rel=0.05)
        unfiltered, _ = var_es_from_losses(-returns[end - 250 : end], 0.99)
        assert abs(unfiltered / true_var - 1.0) > 0.25


def test_fhs_ewma_on_iid_normal_returns_is_close_to_the_normal_var():
    rng = np.random.default_rng(8)
    returns = rng.normal(0, 0.01, size=(2000, 1))
    res = fhs.filtered_historical(returns, [1e6], confidence=0.99)
    assert res.method == "fhs_ewma" and res.details["lambda"] == 0.94
    # EWMA's effective sample is ~1/(1−λ) ≈ 17 days, so the forecast volatility is noisy (±20%).
    assert res.var == pytest.approx(stats.norm.ppf(0.99) * 0.01 * 1e6, rel=0.25)
    assert res.es >= res.var


def test_fhs_properties_horizon_scale_and_sign():
    """√h scaling; VaR(k·v) = k·VaR(v) for k > 0 (also for GARCH: the fit is on % of gross
    exposure, independent of the book's size); a short book measures the other tail."""
    rng = np.random.default_rng(9)
    returns = rng.standard_t(4, size=(600, 2)) * 0.01
    values = np.array([2e6, 1e6])
    for vol_model in ("ewma", "garch"):
        one = fhs.filtered_historical(returns, values, confidence=0.975, vol_model=vol_model)
        ten = fhs.filtered_historical(returns, values, confidence=0.975, horizon_days=10, vol_model=vol_model)
        big = fhs.filtered_historical(returns, 1000.0 * values, confidence=0.975, vol_model=vol_model)
        assert ten.var == pytest.approx(math.sqrt(10) * one.var)
        assert ten.es == pytest.approx(math.sqrt(10) * one.es)
        assert big.var == pytest.approx(1000.0 * one.var, rel=1e-5)
        assert one.es >= one.var > 0.0
    long = fhs.filtered_historical(returns, values, confidence=0.99)
    short = fhs.filtered_historical(returns, -values, confidence=0.99)
    pnl = returns @ values
    sigma, nxt = fhs.ewma_volatility(pnl)
    z = pnl / sigma
    assert long.var == pytest.approx(np.quantile(-z * nxt, 0.99))
    assert short.var == pytest.approx(np.quantile(z * nxt, 0.99))


def test_flat_book_has_zero_var():
    returns = np.random.default_rng(1).normal(0, 0.01, size=(200, 2))
    res = fhs.filtered_historical(returns, [0.0, 0.0], confidence=0.99, vol_model="garch")
    assert (res.var, res.es) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"returns": np.full((100, 1), np.nan)}, "non-finite"),
        ({"returns": np.zeros((10, 1))}, "At least"),
        ({"confidence": 1.0}, "Confidence"),
        ({"vol_model": "figarch"}, "Unknown volatility model"),
        ({"lam": 1.2}, "λ"),
        ({"values": [1.0, 2.0]}, "position values"),
    ],
)
def test_bad_input_gets_a_clear_error(kwargs, message):
    args = {
        "returns": np.random.default_rng(0).normal(0, 0.01, size=(300, 1)),
        "values": [1.0],
        "confidence": 0.99,
    }
    args.update(kwargs)
    returns, values = args.pop("returns"), args.pop("values")
    with pytest.raises(RiskInputError, match=message):
        fhs.filtered_historical(returns, values, **args)


def test_garch_needs_enough_history():
    with pytest.raises(RiskInputError, match="100"):
        fhs.filtered_historical(
            np.random.default_rng(0).normal(0, 0.01, (60, 1)), [1.0], confidence=0.99, vol_model="garch"
        )
