"""Almgren–Chriss optimal execution against the paper's closed forms.

Almgren & Chriss (2000), "Optimal execution of portfolio transactions", *J. Risk* 3(2):
trajectory xⱼ = sinh(κ(T − tⱼ))/sinh(κT)·X with cosh(κτ) = 1 + λσ²τ²/(2η̃) (eq. 18); the
optimal strategy's expected cost and variance (§2.3)

    E = ½γX² + εX + η̃X² · tanh(½κτ)(τ sinh 2κT + 2T sinh κτ) / (2τ² sinh² κT)
    V = ½σ²X² · (τ sinh κT cosh κ(T − τ) − T sinh κτ) / (sinh² κT sinh κτ)

and, as λ → 0, the linear (TWAP) strategy with E = ½γX² + εX + η̃X²/T and
V = ⅓σ²X²T(1 − 1/N)(1 − 1/2N). The paper's example (§3.4): X = 10⁶ shares, S₀ = 50,
σ = 0.95 $/share/√day (30 % a year), T = 5 days, N = 5, ε = 0.0625, η = 2.5·10⁻⁶,
γ = 2.5·10⁻⁷, λ = 10⁻⁶, for which the paper quotes κ ≈ 0.6 per day.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from execution_quality.engine.schedule import almgren_chriss_schedule
from execution_quality.engine.types import TcaInputError

PAPER = {
    "shares": 1e6,
    "horizon": 5.0,
    "periods": 5,
    "volatility": 0.95,
    "eta": 2.5e-6,
    "gamma": 2.5e-7,
    "epsilon": 0.0625,
}


def closed_form(x: float, t: float, n: int, sigma: float, eta: float, gamma: float, eps: float, kappa: float):
    tau = t / n
    et = eta - 0.5 * gamma * tau
    e_impact = (
        et * x**2 * math.tanh(0.5 * kappa * tau) * (tau * math.sinh(2 * kappa * t) + 2 * t * math.sinh(kappa * tau))
    )
    e = 0.5 * gamma * x**2 + eps * x + e_impact / (2 * tau**2 * math.sinh(kappa * t) ** 2)
    v = 0.5 * sigma**2 * x**2 * (tau * math.sinh(kappa * t) * math.cosh(kappa * (t - tau)) - t * math.sinh(kappa * tau))
    v /= math.sinh(kappa * t) ** 2 * math.sinh(kappa * tau)
    return e, v


def discrete_cost(holdings: np.ndarray, *, x, t, n, sigma, eta, gamma, eps):
    """E and V of any trajectory from the paper's §2.2 sums (written independently of the engine)."""
    tau = t / n
    trades = -np.diff(holdings)
    e = 0.5 * gamma * x**2 + eps * np.abs(trades).sum() + (eta - 0.5 * gamma * tau) / tau * (trades**2).sum()
    v = sigma**2 * tau * (holdings[1:] ** 2).sum()
    return e, v


def test_given_paper_example_when_kappa_then_about_point_six_per_day():
    s = almgren_chriss_schedule(risk_aversion=1e-6, **PAPER)
    eta_tilde = 2.5e-6 - 0.5 * 2.5e-7 * 1.0
    assert s.eta_tilde == pytest.approx(eta_tilde)
    assert s.kappa == pytest.approx(math.acosh(1 + 1e-6 * 0.95**2 / (2 * eta_tilde)), rel=1e-12)
    assert s.kappa == pytest.approx(0.6, abs=0.01)


def test_given_paper_example_when_schedule_then_trajectory_is_the_sinh_ratio():
    s = almgren_chriss_schedule(risk_aversion=1e-6, **PAPER)
    t = np.arange(6.0)
    np.testing.assert_allclose(s.holdings, np.sinh(s.kappa * (5 - t)) / np.sinh(5 * s.kappa) * 1e6, rtol=1e-12)
    assert s.trades.sum() == pytest.approx(1e6)
    assert np.all(np.diff(s.trades) < 0)  # risk aversion front-loads the trading


@pytest.mark.parametrize("lam", [1e-7, 1e-6, 2e-5])
def test_given_risk_aversion_when_expected_cost_and_variance_then_match_closed_forms(lam):
    s = almgren_chriss_schedule(risk_aversion=lam, **PAPER)
    e, v = closed_form(1e6, 5.0, 5, 0.95, 2.5e-6, 2.5e-7, 0.0625, s.kappa)
    assert s.expected_cost == pytest.approx(e, rel=1e-10)
    assert s.variance == pytest.approx(v, rel=1e-10)


def test_given_risk_aversion_tending_to_zero_when_schedule_then_linear_twap_with_its_closed_forms():
    x, t, n, sigma, eta, gamma, eps = 1e6, 5.0, 5, 0.95, 2.5e-6, 2.5e-7, 0.0625
    linear = x * (1 - np.arange(n + 1) / n)
    e_lin = 0.5 * gamma * x**2 + eps * x + (eta - 0.5 * gamma * t / n) * x**2 / t
    v_lin = sigma**2 * x**2 * t * (1 - 1 / n) * (1 - 1 / (2 * n)) / 3
    previous = np.inf
    for lam in (1e-8, 1e-10, 1e-12):
        s = almgren_chriss_schedule(risk_aversion=lam, **PAPER)
        gap = float(np.abs(s.holdings - linear).max())
        assert gap < previous
        previous = gap
    assert previous < 1e-3 * x
    zero = almgren_chriss_schedule(risk_aversion=0.0, **PAPER)
    np.testing.assert_allclose(zero.holdings, linear, rtol=1e-12, atol=1e-6)
    assert zero.expected_cost == pytest.approx(e_lin, rel=1e-12)
    assert zero.variance == pytest.approx(v_lin, rel=1e-12)


def test_given_optimal_schedule_when_perturbed_then_mean_variance_objective_gets_worse():
    lam = 1e-6
    s = almgren_chriss_schedule(risk_aversion=lam, **PAPER)
    kw = {"x": 1e6, "t": 5.0, "n": 5, "sigma": 0.95, "eta": 2.5e-6, "gamma": 2.5e-7, "eps": 0.0625}
    e0, v0 = discrete_cost(s.holdings, **kw)
    assert (e0, v0) == pytest.approx((s.expected_cost, s.variance), rel=1e-12)
    rng = np.random.default_rng(2000)
    for _ in range(200):
        h = s.holdings.copy()
        h[1:-1] += rng.normal(0, 5e3, 4)
        e, v = discrete_cost(h, **kw)
        assert e + lam * v > e0 + lam * v0


def test_given_very_high_risk_aversion_when_schedule_then_no_overflow_and_sell_almost_all_at_once():
    s = almgren_chriss_schedule(risk_aversion=1e4, **{**PAPER, "periods": 100})
    assert np.all(np.isfinite(s.holdings)) and s.kappa * 5.0 > 710  # sinh(κT) alone would overflow
    assert s.trades[0] > 0.99 * 1e6


@pytest.mark.parametrize(
    "change",
    [{"shares": 0.0}, {"periods": 0}, {"eta": -1.0}, {"gamma": 1.0}, {"risk_aversion": -1.0}, {"volatility": math.nan}],
)
def test_given_bad_parameters_when_schedule_then_clear_error(change):
    with pytest.raises(TcaInputError):
        almgren_chriss_schedule(**{**PAPER, "risk_aversion": 1e-6, **change})
