"""Where the VaR of a book comes from: marginal, component (Euler) and incremental VaR.

Marginal and component figures are those of the parametric normal VaR with zero mean,
VaR(v) = z_c·√(vᵀΣv)·√h, which is homogeneous of degree 1 in the position values v. Euler's
theorem then gives VaR = Σ_i v_i·∂VaR/∂v_i exactly: the components add up to the total
(Tasche 1999, "Risk contributions and performance measurement"; Hull, *Risk Management and
Financial Institutions*, "Marginal, incremental and component measures"). With Σv the vector of
covariances of each position's return with the book's P&L:

    marginal_i  = ∂VaR/∂v_i = z_c·(Σv)_i/σ_p·√h
    component_i = v_i·marginal_i                      (Σ_i component_i = VaR)
    component ES_i = v_i·φ(z_c)/(1−c)·(Σv)_i/σ_p·√h    (Σ_i = parametric normal ES)

Incremental VaR of a what-if trade is measured by full revaluation: VaR(after) − VaR(before)
with the same method and history, not by the marginal approximation.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import stats

from riskapp.engine.covariance import covariance_prepare
from riskapp.engine.types import FloatArray, RiskInputError, check_confidence, check_horizon, check_values
from riskapp.engine.var import historical, parametric_normal


def marginal_var(cov: npt.ArrayLike, values: npt.ArrayLike, *, confidence: float, horizon_days: int = 1) -> FloatArray:
    """∂VaR/∂v_i of the parametric normal VaR (base currency of VaR per unit of value).

    A flat book (σ_p = 0) has no direction of steepest ascent; its marginals are reported as 0.
    ``cov`` is repaired to the nearest PSD matrix if it is not PSD.
    """
    gradient = _sigma_gradient(cov, values)
    z = float(stats.norm.ppf(check_confidence(confidence)))
    return gradient * (z * math.sqrt(check_horizon(horizon_days)))


def component_var(cov: npt.ArrayLike, values: npt.ArrayLike, *, confidence: float, horizon_days: int = 1) -> FloatArray:
    """Euler allocation v_i·∂VaR/∂v_i; the components sum to the parametric normal VaR."""
    vals = check_values(values)
    return vals * marginal_var(cov, vals, confidence=confidence, horizon_days=horizon_days)


def component_es(cov: npt.ArrayLike, values: npt.ArrayLike, *, confidence: float, horizon_days: int = 1) -> FloatArray:
    """Euler allocation of the parametric normal ES; the components sum to that ES."""
    c = check_confidence(confidence)
    vals = check_values(values)
    z = float(stats.norm.ppf(c))
    es_factor = float(stats.norm.pdf(z)) / (1.0 - c) * math.sqrt(check_horizon(horizon_days))
    return vals * _sigma_gradient(cov, vals) * es_factor


def incremental_var(
    returns: npt.ArrayLike,
    values: npt.ArrayLike,
    trade_values: npt.ArrayLike,
    *,
    confidence: float,
    method: str = "historical",
    horizon_days: int = 1,
) -> float:
    """VaR(values + trade_values) − VaR(values): what a proposed trade adds to the book's VaR.

    ``trade_values`` is the change of each position's value (same N assets as ``returns``; a
    new instrument needs its own return column, with 0 in ``values``). ``method`` is
    "historical" (historical simulation) or "parametric" (parametric normal with the sample
    covariance). Both books are revalued in full under the same scenarios, so the figure is
    exact for the method — negative when the trade hedges the book.
    """
    vals = check_values(values)
    trade = check_values(trade_values, vals.size)
    if method == "historical":
        before = historical(returns, vals, confidence=confidence, horizon_days=horizon_days).var
        after = historical(returns, vals + trade, confidence=confidence, horizon_days=horizon_days).var
    elif method == "parametric":
        before = parametric_normal(returns, vals, confidence=confidence, horizon_days=horizon_days).var
        after = parametric_normal(returns, vals + trade, confidence=confidence, horizon_days=horizon_days).var
    else:
        raise RiskInputError(f"Unknown incremental VaR method {method!r}; expected 'historical' or 'parametric'.")
    return after - before


def _sigma_gradient(cov: npt.ArrayLike, values: npt.ArrayLike) -> FloatArray:
    """∂σ_p/∂v = Σv/σ_p (0 for a flat book), with Σ validated and made PSD."""
    vals = check_values(values)
    prepared = covariance_prepare(cov, vals.size)
    cov_v = prepared.cov @ vals
    variance = float(vals @ cov_v)
    if variance <= 0.0:
        return np.zeros_like(vals)
    gradient: FloatArray = cov_v / math.sqrt(variance)
    return gradient
