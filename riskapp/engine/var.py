"""Value at Risk and Expected Shortfall of a linear book (and, by callback, of a non-linear one).

Conventions (see :mod:`riskapp.engine.types` and docs/risk-methodology.md): ``returns`` is T × N
simple daily returns oldest first, ``values`` the N signed position values in base currency,
the linear P&L of a scenario is ``returns @ values`` and loss = −P&L. VaR and ES are positive
losses, floored at 0, with ES ≥ VaR. Every method computes a 1-day figure and scales it to
``horizon_days`` by the square root of time (VaR_h = VaR_1·√h, ES likewise); parametric methods
with ``mean=True`` subtract the drift μ·h; Monte Carlo may instead simulate h-day returns
directly (``horizon_method="simulate"``).

Methods: :func:`parametric_normal`, :func:`parametric_t`, :func:`cornish_fisher`,
:func:`historical` (and :func:`historical_many` for thousands of books at once),
:func:`monte_carlo` (multivariate normal or Student-t, simulated in seeded blocks by
:mod:`riskapp.engine.montecarlo` and re-exported here), and :func:`var_all` for every
method × confidence × horizon in one call, sharing the expensive work.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

from riskapp.engine.covariance import covariance_prepare
from riskapp.engine.montecarlo import mc_var_all
from riskapp.engine.montecarlo import monte_carlo as monte_carlo  # re-exported: every method is read from here
from riskapp.engine.tail import tail_count, var_es_from_losses
from riskapp.engine.types import (
    DEFAULT_CONFIDENCES,
    DEFAULT_HORIZONS,
    FloatArray,
    RiskInputError,
    VarResult,
    check_confidence,
    check_dof,
    check_horizon,
    check_returns,
    check_values,
    revalued_pnl,
)
from riskapp.engine.types import Revalue as Revalue  # re-exported for callers of historical/monte_carlo

Dist = Literal["normal", "t"]

#: Bounds for the Student-t degrees of freedom fitted by maximum likelihood. Daily equity P&L
#: typically fits ν ≈ 3–6. Below ~2.5 the variance-matched scale √((ν−2)/ν) collapses and the
#: 99% quantile drops *below* the normal one, an artefact of forcing a finite variance; above
#: 1000 the t is indistinguishable from the normal.
DOF_BOUNDS: tuple[float, float] = (2.5, 1000.0)

#: Methods :func:`var_all` runs by default, and every name it understands.
DEFAULT_METHODS: tuple[str, ...] = ("parametric_normal", "parametric_t", "cornish_fisher", "historical", "monte_carlo")
ALL_METHODS: tuple[str, ...] = (*DEFAULT_METHODS, "monte_carlo_t", "fhs_ewma", "fhs_garch", "evt")

# Cap on the bytes of one P × T loss block in historical_many (64 MB): bounds memory for any
# number of portfolios while keeping blocks large enough for BLAS to run at full speed.
_HISTORICAL_BLOCK_BYTES = 64 * 1024 * 1024


# ---------------------------------------------------------------------------- parametric


def parametric_normal(
    returns: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    confidence: float,
    horizon_days: int = 1,
    cov: npt.ArrayLike | None = None,
    mean: bool = False,
) -> VarResult:
    """Delta-normal VaR/ES: P&L ~ N(μ_p, σ_p²) with σ_p² = vᵀΣv.

    VaR = z_c·σ_p·√h − μ_p·h and ES = σ_p·φ(z_c)/(1−c)·√h − μ_p·h (McNeil, Frey & Embrechts,
    *Quantitative Risk Management*, ch. 2: ES of a normal loss), z_c = Φ⁻¹(c); μ_p = 0 unless
    ``mean=True``. Σ is ``cov`` when given (repaired to the nearest PSD matrix if it is not
    PSD; ``details["cov_repaired"]`` says so) and otherwise the sample covariance of ``returns``.
    """
    c = check_confidence(confidence)
    h = check_horizon(horizon_days)
    arr, vals = _book(returns, values)
    sigma, repaired = _portfolio_sigma(arr, vals, cov)
    mu = float(arr.mean(axis=0) @ vals) if mean else 0.0
    var, es = _normal_var_es(sigma, mu, c, h)
    details = {"sigma_1d": sigma, "mean_1d": mu, "z": float(stats.norm.ppf(c)), "cov_repaired": float(repaired)}
    return VarResult("parametric_normal", c, h, var, es, details)


def parametric_t(
    returns: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    confidence: float,
    horizon_days: int = 1,
    dof: float | None = None,
    mean: bool = False,
) -> VarResult:
    """Student-t VaR/ES: P&L = μ_p + s·T_ν with the scale s = σ_p·√((ν−2)/ν) so Var = σ_p².

    ν is fitted by maximum likelihood on the portfolio P&L when ``dof`` is None
    (:func:`t_dof_fit`). For the standard t, VaR_c = t_ν⁻¹(c) and
    ES_c = g_ν(t_ν⁻¹(c))/(1−c)·(ν + t_ν⁻¹(c)²)/(ν−1), g_ν its density (McNeil, Frey &
    Embrechts, *Quantitative Risk Management*, ch. 2: ES of a Student-t loss); both are multiplied by s·√h.
    """
    c = check_confidence(confidence)
    h = check_horizon(horizon_days)
    arr, vals = _book(returns, values)
    pnl = arr @ vals
    sigma = float(np.std(pnl, ddof=1))
    nu = t_dof_fit(pnl) if dof is None else check_dof(dof)
    mu = float(pnl.mean()) if mean else 0.0
    var, es = _t_var_es(sigma, mu, nu, c, h)
    return VarResult("parametric_t", c, h, var, es, {"sigma_1d": sigma, "mean_1d": mu, "dof": nu})


def cornish_fisher(
    returns: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    confidence: float,
    horizon_days: int = 1,
    mean: bool = False,
) -> VarResult:
    """Modified (Cornish–Fisher) VaR/ES from the skewness S and excess kurtosis K of the loss.

    z_cf = z + (z²−1)S/6 + (z³−3z)K/24 − (2z³−5z)S²/36 and VaR = σ·z_cf·√h (Zangari 1996,
    RiskMetrics Monitor Q4; Favre & Galeano 2002). ES is the exact tail mean of that
    Cornish–Fisher quantile function, ES = 1/(1−c)·∫_c^1 VaR_u du (Acerbi & Tasche 2002), which
    integrates in closed form to σ·φ(z)/(1−c)·[1 + zS/6 + (z²−1)K/24 − (2z²−1)S²/36]·√h.
    Moments follow PerformanceAnalytics' modified VaR: σ with divisor T−1, S and K as
    moment ratios (``scipy.stats.skew``/``kurtosis`` defaults). The expansion is only
    monotone for moderate S and K (Maillard 2012; e.g. K ≤ 8 when S = 0):
    ``details["cf_monotone"]`` is 0 when it is not, and the figure should not be trusted then.
    ES is floored at VaR.
    """
    c = check_confidence(confidence)
    h = check_horizon(horizon_days)
    arr, vals = _book(returns, values)
    losses = -(arr @ vals)
    sigma = float(np.std(losses, ddof=1))
    if sigma > 0.0:
        skew = float(stats.skew(losses))
        kurt = float(stats.kurtosis(losses))  # excess (Fisher) kurtosis
    else:
        skew = kurt = 0.0
    mu_loss = float(losses.mean()) if mean else 0.0
    z = float(stats.norm.ppf(c))
    z_cf = z + (z**2 - 1) * skew / 6 + (z**3 - 3 * z) * kurt / 24 - (2 * z**3 - 5 * z) * skew**2 / 36
    es_factor = 1 + z * skew / 6 + (z**2 - 1) * kurt / 24 - (2 * z**2 - 1) * skew**2 / 36
    es_z = float(stats.norm.pdf(z)) / (1 - c) * es_factor
    root_h = math.sqrt(h)
    var = max(sigma * z_cf * root_h + mu_loss * h, 0.0)
    es = max(sigma * es_z * root_h + mu_loss * h, var)
    # The expansion is a valid (increasing) quantile function iff its derivative in z,
    # a·z² + b·z + d with the coefficients below, never goes negative (cf. Maillard 2012).
    a, b, d = kurt / 8 - skew**2 / 6, skew / 3, 1 - kurt / 8 + 5 * skew**2 / 36
    monotone = a >= -1e-12 and b * b - 4 * a * d <= 1e-12  # tolerance: S = K = 0 is the normal
    details = {"sigma_1d": sigma, "skew": skew, "excess_kurtosis": kurt, "z_cf": z_cf, "cf_monotone": float(monotone)}
    return VarResult("cornish_fisher", c, h, var, es, details)


def t_dof_fit(pnl: npt.ArrayLike) -> float:
    """Degrees of freedom ν of a variance-matched Student-t fitted to ``pnl`` by maximum likelihood.

    The P&L is standardised by its sample mean and standard deviation and the profile
    likelihood of ν is maximised with the t scaled to unit variance, i.e. the same model
    :func:`parametric_t` uses (location/scale by moments, shape by ML). ν ∈ ``DOF_BOUNDS``.
    """
    x = np.asarray(pnl, dtype=np.float64).reshape(-1)
    if x.size < 3 or not np.all(np.isfinite(x)):
        raise RiskInputError("At least 3 finite P&L observations are needed to fit a Student-t.")
    sd = float(np.std(x, ddof=1))
    if sd == 0.0:
        return DOF_BOUNDS[1]
    std = (x - x.mean()) / sd

    def negative_loglik(inv_nu: float) -> float:
        nu = 1.0 / inv_nu
        scale = math.sqrt((nu - 2.0) / nu)
        return -float(np.sum(stats.t.logpdf(std / scale, nu)) - std.size * math.log(scale))

    # Optimising 1/ν keeps the normal limit (1/ν → 0) at a finite end of a short interval.
    lo, hi = DOF_BOUNDS
    res = optimize.minimize_scalar(negative_loglik, bounds=(1.0 / hi, 1.0 / lo), method="bounded")
    return float(min(max(1.0 / float(res.x), lo), hi))


# ---------------------------------------------------------------------------- historical


def historical(
    returns: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    confidence: float,
    horizon_days: int = 1,
    revalue: Revalue | None = None,
) -> VarResult:
    """Historical simulation: today's book under each past day's returns.

    VaR is the c-quantile of the T scenario losses (linear interpolation, numpy's default)
    and ES the mean of the ceil(T·(1−c)) largest (:mod:`riskapp.engine.tail`), scaled by √h.
    ``revalue`` (scenario returns T × N → T P&L) replaces the linear P&L, e.g. to reprice
    options fully.
    """
    c = check_confidence(confidence)
    h = check_horizon(horizon_days)
    arr, vals = _book(returns, values)
    losses = -revalued_pnl(revalue, arr) if revalue is not None else -(arr @ vals)
    var1, es1 = var_es_from_losses(losses, c)
    root_h = math.sqrt(h)
    details = {"n_scenarios": float(losses.size), "worst_loss_1d": float(losses.max())}
    # "+ 0.0" turns the −0.0 a flat book produces (−(0·r)) into 0.0 for display.
    return VarResult("historical", c, h, var1 * root_h + 0.0, es1 * root_h + 0.0, details)


def historical_many(
    returns: npt.ArrayLike, values_matrix: npt.ArrayLike, *, confidence: float
) -> tuple[FloatArray, FloatArray]:
    """1-day historical VaR and ES of P portfolios at once (``values_matrix`` N × P).

    Same convention as :func:`historical`, column by column (equal to
    ``tail.var_es_columns(-(returns @ values_matrix), c)``), but computed block by block with
    portfolios as contiguous rows and a single in-place partition per block (numpy's
    ``quantile`` would partition a second time and copy). Memory stays under ~64 MB of losses
    whatever P is.
    """
    c = check_confidence(confidence)
    arr = check_returns(returns, min_rows=1)
    mat = np.asarray(values_matrix, dtype=np.float64)
    if mat.ndim == 1:
        mat = mat[:, None]
    if mat.ndim != 2 or mat.shape[0] != arr.shape[1] or mat.shape[1] == 0:
        raise RiskInputError(
            f"values_matrix must be N × P with N = {arr.shape[1]} assets and P ≥ 1 portfolios; got shape {mat.shape}."
        )
    if not np.all(np.isfinite(mat)):
        raise RiskInputError("Position values must be finite numbers.")
    n_days, n_books = arr.shape[0], mat.shape[1]
    neg_values_t = -mat.T  # P × N; negating the small operand instead of the P × T product
    block = max(1, min(n_books, _HISTORICAL_BLOCK_BYTES // (8 * n_days)))
    var = np.empty(n_books)
    es = np.empty(n_books)
    for start in range(0, n_books, block):
        stop = min(start + block, n_books)
        losses = neg_values_t[start:stop] @ arr.T  # (stop−start) × T, C-contiguous rows
        var[start:stop], es[start:stop] = _var_es_rows_inplace(losses, c)
    return var, es


def _var_es_rows_inplace(losses: FloatArray, c: float) -> tuple[FloatArray, FloatArray]:
    """VaR/ES of each row of ``losses`` (P × n) by the tail.py convention; reorders the rows."""
    n = losses.shape[1]
    # numpy's "linear" quantile: virtual index c·(n−1), interpolated between its neighbours.
    position = c * (n - 1)
    lo = min(math.floor(position), n - 1)
    hi = min(lo + 1, n - 1)
    frac = position - lo
    k = tail_count(n, c)
    losses.partition(sorted({lo, hi, n - k}), axis=1)
    below, above = losses[:, lo], losses[:, hi]
    # The same two-sided linear interpolation numpy uses, so results agree with np.quantile to rounding.
    diff = above - below
    var = below + diff * frac if frac < 0.5 else above - diff * (1.0 - frac)
    es = losses[:, n - k :].mean(axis=1)
    var = np.maximum(var, 0.0)
    return var, np.maximum(es, var)


# ---------------------------------------------------------------------------- all methods


def var_all(
    returns: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    confidences: Iterable[float] = DEFAULT_CONFIDENCES,
    horizons: Iterable[int] = DEFAULT_HORIZONS,
    methods: Sequence[str] = DEFAULT_METHODS,
    seed: int = 0,
    n_scenarios: int = 100_000,
    **kw: Any,
) -> list[VarResult]:
    """Every method × confidence × horizon, in that order, sharing the expensive work.

    Each method's 1-day model is built once (one Monte Carlo simulation, one t fit, one
    historical loss vector) and then read at every confidence and horizon, so the figures are
    identical to calling the single-method functions with the same arguments. ``methods`` may
    name any of ``ALL_METHODS``; "fhs_ewma", "fhs_garch" and "evt" call
    ``fhs.filtered_historical`` and ``evt.pot_var_es``. Options in ``kw``: ``cov``, ``mean``,
    ``dof`` (ν for parametric_t and monte_carlo_t), ``chunk_size``, ``revalue`` (historical and
    Monte Carlo; parametric methods stay delta-based), ``horizon_method``, ``lam``,
    ``threshold_quantile``.
    """
    unknown_options = set(kw) - _VAR_ALL_OPTIONS
    if unknown_options:
        raise TypeError(f"var_all() got unexpected options: {', '.join(sorted(unknown_options))}.")
    unknown = [m for m in methods if m not in ALL_METHODS]
    if unknown:
        raise RiskInputError(f"Unknown VaR methods: {', '.join(unknown)}; expected some of {', '.join(ALL_METHODS)}.")
    cs = [check_confidence(c) for c in confidences]
    hs = [check_horizon(h) for h in horizons]
    if not cs or not hs:
        raise RiskInputError("At least one confidence and one horizon are needed.")
    arr, vals = _book(returns, values)
    mean = bool(kw.get("mean", False))

    results: list[VarResult] = []
    for method in methods:
        if method in ("monte_carlo", "monte_carlo_t"):
            results += mc_var_all(arr, vals, method, cs, hs, seed=seed, n_scenarios=n_scenarios, kw=kw)
        elif method in ("fhs_ewma", "fhs_garch", "evt"):
            results += _var_all_external(arr, vals, method, cs, hs, kw)
        elif method == "historical":
            revalue = kw.get("revalue")
            losses = -revalued_pnl(revalue, arr) if revalue is not None else -(arr @ vals)
            details = {"n_scenarios": float(losses.size), "worst_loss_1d": float(losses.max())}
            for c in cs:
                var1, es1 = var_es_from_losses(losses, c)
                results += [
                    VarResult(method, c, h, var1 * math.sqrt(h) + 0.0, es1 * math.sqrt(h) + 0.0, details) for h in hs
                ]
        elif method == "parametric_t":
            dof = kw.get("dof")
            nu = t_dof_fit(arr @ vals) if dof is None else check_dof(dof)
            results += [
                parametric_t(arr, vals, confidence=c, horizon_days=h, dof=nu, mean=mean) for c in cs for h in hs
            ]
        elif method == "parametric_normal":
            cov = kw.get("cov")
            results += [
                parametric_normal(arr, vals, confidence=c, horizon_days=h, cov=cov, mean=mean) for c in cs for h in hs
            ]
        else:  # cornish_fisher
            results += [cornish_fisher(arr, vals, confidence=c, horizon_days=h, mean=mean) for c in cs for h in hs]
    return results


_VAR_ALL_OPTIONS = frozenset(
    {"cov", "mean", "dof", "chunk_size", "revalue", "horizon_method", "lam", "threshold_quantile"}
)


def _var_all_external(
    arr: FloatArray, vals: FloatArray, method: str, cs: list[float], hs: list[int], kw: dict[str, Any]
) -> list[VarResult]:
    """Filtered historical simulation and EVT live in their own modules (imported lazily)."""
    out: list[VarResult] = []
    if method == "evt":
        from riskapp.engine import evt

        options = {k: kw[k] for k in ("threshold_quantile",) if k in kw}
        for c in cs:
            out += [evt.pot_var_es(arr, vals, confidence=c, horizon_days=h, **options) for h in hs]
        return out
    from riskapp.engine import fhs

    vol_model: Literal["ewma", "garch"] = "ewma" if method == "fhs_ewma" else "garch"
    fhs_options: dict[str, Any] = {"lam": kw["lam"]} if kw.get("lam") is not None else {}
    if vol_model == "garch":
        # One GARCH fit serves every confidence and horizon (a fit costs ~0.1–0.5 s).
        gross = float(np.sum(np.abs(vals)))
        pnl = arr @ vals
        if gross > 0.0 and np.any(pnl != 0.0) and arr.shape[0] >= fhs.MIN_DAYS_GARCH:
            fhs_options["garch_params"] = fhs.garch_fit(pnl, scale=100.0 / gross)
    for c in cs:
        for h in hs:
            out.append(
                fhs.filtered_historical(arr, vals, confidence=c, horizon_days=h, vol_model=vol_model, **fhs_options)
            )
    return out


# ---------------------------------------------------------------------------- helpers


def _book(returns: npt.ArrayLike, values: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validated returns (T × N, T ≥ 2) and values (N) of one book."""
    arr = check_returns(returns, min_rows=2)
    return arr, check_values(values, arr.shape[1])


def _portfolio_sigma(arr: FloatArray, vals: FloatArray, cov: npt.ArrayLike | None) -> tuple[float, bool]:
    """Daily P&L standard deviation √(vᵀΣv) and whether Σ had to be repaired."""
    if cov is None:
        # std of the P&L series equals √(vᵀ S v) for the sample covariance S, in O(T·N).
        return float(np.std(arr @ vals, ddof=1)), False
    prepared = covariance_prepare(cov, vals.size)
    return math.sqrt(max(float(vals @ prepared.cov @ vals), 0.0)), prepared.repaired


def _normal_var_es(sigma: float, mu: float, c: float, h: int) -> tuple[float, float]:
    z = float(stats.norm.ppf(c))
    root_h = math.sqrt(h)
    var = max(z * sigma * root_h - mu * h, 0.0)
    es = max(sigma * float(stats.norm.pdf(z)) / (1.0 - c) * root_h - mu * h, var)
    return var, es


def _t_var_es(sigma: float, mu: float, nu: float, c: float, h: int) -> tuple[float, float]:
    q = float(stats.t.ppf(c, nu))
    es_std = float(stats.t.pdf(q, nu)) / (1.0 - c) * (nu + q * q) / (nu - 1.0)
    scale = sigma * math.sqrt((nu - 2.0) / nu) * math.sqrt(h)
    var = max(scale * q - mu * h, 0.0)
    return var, max(scale * es_std - mu * h, var)
