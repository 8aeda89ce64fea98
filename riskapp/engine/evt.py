"""Extreme value theory: peaks over threshold (POT) with a generalised Pareto tail.

Losses ``L`` above a high threshold ``u`` (the ``threshold_quantile`` empirical quantile of the
losses) are modelled by the generalised Pareto distribution (Pickands–Balkema–de Haan theorem):
the excesses ``Y = L − u | L > u`` follow ``GPD(ξ, β)`` with distribution function
``1 − (1 + ξ y / β)^(−1/ξ)``. ξ and β are fitted by maximum likelihood
(``scipy.stats.genpareto.fit`` with the location fixed at 0) to the ``N_u`` excesses of the
``n`` losses. With the tail estimator ``P(L > x) ≈ (N_u / n)(1 + ξ (x − u) / β)^(−1/ξ)``
(Smith 1987), McNeil & Frey (2000, eqs. 9–10) and McNeil, Frey & Embrechts, *Quantitative Risk
Management* (2005, §7.2.3, eqs. 7.18–7.19) give, for confidence α:

    VaR_α = u + (β/ξ) · [((n/N_u)(1 − α))^(−ξ) − 1]
    ES_α  = VaR_α / (1 − ξ) + (β − ξ u) / (1 − ξ)          (ξ < 1)

and in the limit ξ → 0 (exponential tail): ``VaR_α = u − β ln((n/N_u)(1 − α))``,
``ES_α = VaR_α + β``. When ξ ≥ 1 the tail is so heavy that the mean loss beyond VaR is
infinite: that is reported as a ``RiskInputError`` rather than an infinite number.

Unconditional POT (the default) fits the raw P&L losses. McNeil & Frey's *conditional* EVT
(``vol_model="ewma"|"garch"``) first devolatilises the P&L with the filter of ``fhs.py``, fits
the GPD to the standardised losses, and scales the resulting quantiles by the next-day
volatility forecast. h-day figures use the square root of time like every other method.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import numpy.typing as npt
from scipy import stats

from riskapp.engine.fhs import DEFAULT_LAMBDA, MIN_DAYS_EWMA, MIN_DAYS_GARCH, VolModel, standardised_residuals
from riskapp.engine.types import (
    FloatArray,
    RiskInputError,
    VarResult,
    check_confidence,
    check_horizon,
    check_returns,
    check_values,
)

#: Below this many excesses the GPD maximum-likelihood fit is too unstable to report.
DEFAULT_MIN_EXCEEDANCES = 10
#: |ξ| below this uses the exponential-tail limit of the formulas (avoids 0/0).
_XI_ZERO = 1e-9


def gpd_fit(excesses: npt.ArrayLike) -> tuple[float, float]:
    """Maximum-likelihood (ξ, β) of a GPD with location 0 fitted to positive ``excesses``."""
    y = np.asarray(excesses, dtype=np.float64).reshape(-1)
    if y.size < 2 or not np.all(np.isfinite(y)) or np.any(y < 0.0):
        raise RiskInputError("The GPD needs at least 2 finite, non-negative excesses over the threshold.")
    if float(np.ptp(y)) == 0.0:
        raise RiskInputError("All excesses over the threshold are equal: the GPD tail cannot be fitted.")
    with warnings.catch_warnings():
        # scipy's optimiser may warn on the way to the maximum; the result is checked below.
        warnings.simplefilter("ignore")
        xi, _loc, beta = stats.genpareto.fit(y, floc=0.0)
    if not (np.isfinite(xi) and np.isfinite(beta) and beta > 0.0):
        raise RiskInputError("The GPD maximum-likelihood fit did not converge.")
    return float(xi), float(beta)


def gpd_var(*, threshold: float, xi: float, beta: float, n: int, n_exceed: int, confidence: float) -> float:
    """POT VaR (McNeil & Frey 2000 eq. 9; QRM 2005 eq. 7.18), finite for every ξ; not floored.

    ``n`` losses of which ``n_exceed`` exceed ``threshold``; the GPD (ξ, β) describes the excesses.
    """
    c = check_confidence(confidence)
    if n_exceed < 1 or n < n_exceed:
        raise RiskInputError("Need 1 ≤ number of exceedances ≤ number of observations.")
    tail_ratio = (n / n_exceed) * (1.0 - c)
    if tail_ratio >= 1.0:
        raise RiskInputError(
            f"Confidence {c} is not in the tail beyond the threshold ({n_exceed} of {n} losses exceed it): "
            "raise the confidence or lower the threshold quantile."
        )
    if abs(xi) < _XI_ZERO:
        return threshold - beta * math.log(tail_ratio)
    return float(threshold + (beta / xi) * (tail_ratio ** (-xi) - 1.0))


def gpd_es(*, var: float, threshold: float, xi: float, beta: float) -> float:
    """POT ES given the POT VaR (McNeil & Frey 2000 eq. 10; QRM 2005 eq. 7.19); needs ξ < 1."""
    if xi >= 1.0:
        raise RiskInputError(
            f"The fitted tail index ξ = {xi:.3f} ≥ 1: losses are so heavy-tailed that expected shortfall is infinite."
        )
    if abs(xi) < _XI_ZERO:
        return var + beta
    return var / (1.0 - xi) + (beta - xi * threshold) / (1.0 - xi)


def gpd_var_es(
    *, threshold: float, xi: float, beta: float, n: int, n_exceed: int, confidence: float
) -> tuple[float, float]:
    """(VaR, ES) by the POT formulas above, not floored; ``RiskInputError`` when ξ ≥ 1."""
    var = gpd_var(threshold=threshold, xi=xi, beta=beta, n=n, n_exceed=n_exceed, confidence=confidence)
    return var, gpd_es(var=var, threshold=threshold, xi=xi, beta=beta)


def _pot_fit(losses: npt.ArrayLike, *, threshold_quantile: float, min_exceedances: int) -> dict[str, float]:
    """Threshold, GPD fit and counts of a loss sample (the details every POT figure reports)."""
    q = check_confidence(threshold_quantile)
    loss = np.asarray(losses, dtype=np.float64).reshape(-1)
    if loss.size == 0 or not np.all(np.isfinite(loss)):
        raise RiskInputError("EVT needs a non-empty sample of finite losses.")
    u = float(np.quantile(loss, q))
    excess = loss[loss > u] - u
    if excess.size < min_exceedances:
        raise RiskInputError(
            f"Only {excess.size} losses exceed the {q:.0%} threshold; EVT needs at least {min_exceedances}. "
            "Use a longer history or a lower threshold quantile."
        )
    xi, beta = gpd_fit(excess)
    return {"xi": xi, "beta": beta, "threshold": u, "n_exceed": float(excess.size), "n_obs": float(loss.size)}


def pot_tail(
    losses: npt.ArrayLike,
    *,
    confidence: float,
    threshold_quantile: float = 0.95,
    min_exceedances: int = DEFAULT_MIN_EXCEEDANCES,
    with_es: bool = True,
) -> tuple[float, float, dict[str, float]]:
    """(VaR, ES, details) of a loss sample by POT; the building block of ``pot_var_es``.

    ``with_es=False`` skips ES (returned as NaN), for callers such as the VaR backtest that only
    need VaR, which stays finite even when ξ ≥ 1.
    """
    c = check_confidence(confidence)
    d = _pot_fit(losses, threshold_quantile=threshold_quantile, min_exceedances=min_exceedances)
    fit = {"threshold": d["threshold"], "xi": d["xi"], "beta": d["beta"]}
    var = gpd_var(n=int(d["n_obs"]), n_exceed=int(d["n_exceed"]), confidence=c, **fit)
    es = gpd_es(var=var, **fit) if with_es else math.nan
    return var, es, d


def _pot_one_day(
    returns: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    confidence: float,
    threshold_quantile: float,
    min_exceedances: int,
    vol_model: VolModel | None,
    lam: float,
    with_es: bool,
) -> tuple[float, float, dict[str, float]]:
    """1-day (VaR, ES, details) of a linear book, floored at 0; ES is NaN when ``with_es`` is False."""
    c = check_confidence(confidence)
    min_days = {None: 2, "ewma": MIN_DAYS_EWMA, "garch": MIN_DAYS_GARCH}.get(vol_model)
    if min_days is None:
        raise RiskInputError(f"Unknown volatility model {vol_model!r}; use None, 'ewma' or 'garch'.")
    r = check_returns(returns, min_rows=min_days)
    v = check_values(values, r.shape[1])
    pnl: FloatArray = r @ v
    if not np.any(pnl != 0.0):
        return 0.0, 0.0, {"n_obs": float(pnl.size)}
    if vol_model is None:
        var1, es1, details = pot_tail(
            -pnl, confidence=c, threshold_quantile=threshold_quantile, min_exceedances=min_exceedances, with_es=with_es
        )
    else:
        gross = float(np.sum(np.abs(v)))
        z, sigma_next, filt = standardised_residuals(pnl, vol_model=vol_model, lam=lam, garch_scale=100.0 / gross)
        var_z, es_z, details = pot_tail(
            -z, confidence=c, threshold_quantile=threshold_quantile, min_exceedances=min_exceedances, with_es=with_es
        )
        var1, es1 = var_z * sigma_next, es_z * sigma_next
        details = {**filt, **details}
    var1 = max(var1, 0.0)
    return var1, max(es1, var1) if with_es else math.nan, details


def pot_var_es(
    returns: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    confidence: float,
    horizon_days: int = 1,
    threshold_quantile: float = 0.95,
    min_exceedances: int = DEFAULT_MIN_EXCEEDANCES,
    vol_model: VolModel | None = None,
    lam: float = DEFAULT_LAMBDA,
) -> VarResult:
    """EVT VaR and ES of a linear book (positive losses in base currency over ``horizon_days``).

    ``details``: ξ (``xi``), β (``beta``, in the units of the fitted losses), the threshold, the
    number of exceedances and observations; with a ``vol_model`` also ``sigma_forecast``. Method
    name ``"evt"`` (unconditional) or ``"evt_ewma"`` / ``"evt_garch"`` (McNeil & Frey conditional).
    Raises ``RiskInputError`` when the fitted ξ ≥ 1 (infinite ES; ``pot_var`` still gives VaR).
    """
    c = check_confidence(confidence)
    h = check_horizon(horizon_days)
    var1, es1, details = _pot_one_day(
        returns,
        values,
        confidence=c,
        threshold_quantile=threshold_quantile,
        min_exceedances=min_exceedances,
        vol_model=vol_model,
        lam=lam,
        with_es=True,
    )
    method = "evt" if vol_model is None else f"evt_{vol_model}"
    root_h = math.sqrt(h)
    return VarResult(method, c, h, var1 * root_h, es1 * root_h, details)


def pot_var(
    returns: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    confidence: float,
    horizon_days: int = 1,
    threshold_quantile: float = 0.95,
    min_exceedances: int = DEFAULT_MIN_EXCEEDANCES,
    vol_model: VolModel | None = None,
    lam: float = DEFAULT_LAMBDA,
) -> float:
    """EVT VaR alone (as in ``pot_var_es``), finite for any fitted ξ: what a VaR backtest needs."""
    h = check_horizon(horizon_days)
    var1, _, _ = _pot_one_day(
        returns,
        values,
        confidence=confidence,
        threshold_quantile=threshold_quantile,
        min_exceedances=min_exceedances,
        vol_model=vol_model,
        lam=lam,
        with_es=False,
    )
    return var1 * math.sqrt(h)
