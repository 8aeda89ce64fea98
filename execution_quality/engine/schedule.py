"""Almgren–Chriss optimal execution schedule (Almgren & Chriss 2000, "Optimal execution of
portfolio transactions", *Journal of Risk* 3(2), 5–39).

Liquidate (or acquire) X shares over T, in N periods of τ = T/N, with linear impact:
permanent g(v) = γ·v, temporary h(v) = ε·sgn(v) + η·v (v = shares per unit time) and price
volatility σ (currency per share per √time). A trajectory x₀ = X, …, x_N = 0 with trades
nⱼ = xⱼ₋₁ − xⱼ has (paper §2.2)

    E[x] = ½γX² + ε Σ|nⱼ| + (η̃/τ) Σ nⱼ²,   η̃ = η − γτ/2
    V[x] = σ² τ Σ_{j=1}^{N} xⱼ²

and minimises E + λV (λ the risk aversion, per currency) along (paper eq. 18)

    xⱼ = sinh(κ(T − tⱼ)) / sinh(κT) · X,   tⱼ = jτ,   cosh(κτ) = 1 + λσ²τ² / (2η̃).

κ is found stably as κτ = 2·asinh(½τ·√(λσ²/η̃)) (the same equation, since cosh y = 1 + 2 sinh²(y/2)),
and the ratio of sinh's as e^{−κt}·(1 − e^{−2κ(T−t)})/(1 − e^{−2κT}) so a large κT does not
overflow. λ = 0 gives the straight line (TWAP) xⱼ = (1 − tⱼ/T)·X, the minimum-cost strategy.

Units follow the paper: shares, time in the unit of T (e.g. days), prices in currency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from execution_quality.engine.types import FloatArray, TcaInputError


@dataclass(frozen=True)
class AlmgrenChrissSchedule:
    """Optimal holdings xⱼ at tⱼ (j = 0..N), trades nⱼ (j = 1..N), κ, and the schedule's E and V."""

    times: FloatArray
    holdings: FloatArray
    trades: FloatArray
    kappa: float  # per unit of time
    eta_tilde: float
    expected_cost: float  # currency
    variance: float  # currency²


def almgren_chriss_kappa(*, risk_aversion: float, volatility: float, eta_tilde: float, tau: float) -> float:
    """κ solving cosh(κτ) = 1 + λσ²τ²/(2η̃) (0 when λσ² = 0)."""
    k_tilde = math.sqrt(risk_aversion * volatility**2 / eta_tilde)
    return 2.0 * math.asinh(0.5 * tau * k_tilde) / tau


def almgren_chriss_schedule(
    *,
    shares: float,
    horizon: float,
    periods: int,
    volatility: float,
    eta: float,
    gamma: float,
    risk_aversion: float,
    epsilon: float = 0.0,
) -> AlmgrenChrissSchedule:
    """The Almgren–Chriss optimal trajectory for risk aversion λ, and its expected cost and variance.

    ``shares`` X > 0, ``horizon`` T > 0, ``periods`` N ≥ 1, ``volatility`` σ ≥ 0, ``eta`` η > 0,
    ``gamma`` γ ≥ 0 with η̃ = η − γτ/2 > 0, ``risk_aversion`` λ ≥ 0, ``epsilon`` ε ≥ 0 (fixed cost
    per share: half the spread plus fees).
    """
    values = {
        "shares": shares,
        "horizon": horizon,
        "volatility": volatility,
        "eta": eta,
        "gamma": gamma,
        "risk_aversion": risk_aversion,
        "epsilon": epsilon,
    }
    for name, v in values.items():
        if not math.isfinite(v):
            raise TcaInputError(f"{name} must be a finite number; got {v!r}.")
    if shares <= 0 or horizon <= 0 or eta <= 0:
        raise TcaInputError("shares, horizon and eta must be positive.")
    if volatility < 0 or gamma < 0 or risk_aversion < 0 or epsilon < 0:
        raise TcaInputError("volatility, gamma, risk_aversion and epsilon must not be negative.")
    if isinstance(periods, bool) or not isinstance(periods, int) or periods < 1:
        raise TcaInputError(f"periods must be a positive whole number; got {periods!r}.")
    tau = horizon / periods
    eta_tilde = eta - 0.5 * gamma * tau
    if eta_tilde <= 0:
        raise TcaInputError("eta − gamma·τ/2 must be positive (temporary impact must dominate; paper §2.3).")
    times = np.arange(periods + 1, dtype=np.float64) * tau
    times[-1] = horizon
    kappa = almgren_chriss_kappa(risk_aversion=risk_aversion, volatility=volatility, eta_tilde=eta_tilde, tau=tau)
    if kappa * horizon < 1e-12:
        holdings = shares * (1.0 - times / horizon)
    else:
        remaining = horizon - times
        holdings = (
            shares * np.exp(-kappa * times) * np.expm1(-2.0 * kappa * remaining) / math.expm1(-2.0 * kappa * horizon)
        )
    holdings[0], holdings[-1] = shares, 0.0
    trades = holdings[:-1] - holdings[1:]
    expected = (
        0.5 * gamma * shares**2 + epsilon * float(np.abs(trades).sum()) + eta_tilde / tau * float(trades @ trades)
    )
    variance = volatility**2 * tau * float(holdings[1:] @ holdings[1:])
    return AlmgrenChrissSchedule(
        times=times,
        holdings=holdings,
        trades=trades,
        kappa=kappa,
        eta_tilde=eta_tilde,
        expected_cost=expected,
        variance=variance,
    )
