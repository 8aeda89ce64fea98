"""Pre-trade expected cost: the square-root impact law and Kissell's I-Star model, with calibration.

**Square-root law** (Loeb 1983; Almgren, Thum, Hauptmann & Li 2005, "Direct estimation of equity
market impact", *Risk*; Tóth et al. 2011, *Phys. Rev. X* 1, 021006; Bouchaud, Bonart, Donier &
Gould, *Trades, Quotes and Prices*, 2018, ch. 12):

    cost_bps = Y · σ_daily_bps · √(Q / ADV)

with Y of order 1. :func:`sqrt_impact_calibrate` fits Y by least squares through the origin on
realised costs and returns its standard error.

**I-Star** (Kissell & Malamut; Kissell, Glantz & Malamut 2004, "A practical framework for
estimating transaction costs and developing optimal trading strategies to achieve best
execution", *Finance Research Letters* 1(1); Kissell 2013, *The Science of Algorithmic Trading
and Portfolio Management*, ch. 5):

    I*  = a1 · (Q/ADV)^a2 · σ^a3                 instantaneous impact, bps (σ annualised, decimal)
    MI  = b1 · I* · POV^a4 + (1 − b1) · I*       market impact of trading at participation POV

b1 is the temporary share of the impact. Defaults: :class:`~execution_quality.engine.types.IStarParams`.
:func:`istar_calibrate` fits (a1, a2, a3, a4, b1) by non-linear least squares
(``scipy.optimize.least_squares``) within Kissell's suggested bounds (100 ≤ a1 ≤ 1000,
0.1 ≤ a2, a3, a4 ≤ 1, 0.7 ≤ b1 ≤ 1) unless others are given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import least_squares

from execution_quality.engine.types import FloatArray, IStarParams, TcaInputError

#: Kissell's suggested bounds for (a1, a2, a3, a4, b1).
ISTAR_BOUNDS: tuple[tuple[float, ...], tuple[float, ...]] = ((100.0, 0.1, 0.1, 0.1, 0.7), (1000.0, 1.0, 1.0, 1.0, 1.0))


def _column(name: str, x: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim > 1:
        raise TcaInputError(f"{name} must be a number or a one-dimensional array.")
    return np.atleast_1d(arr)


def sqrt_impact_bps(*, sigma_daily_bps: npt.ArrayLike, size_adv: npt.ArrayLike, y: float = 1.0) -> FloatArray:
    """Expected impact cost in bps: Y · σ_daily_bps · √(Q/ADV). NaN where an input is NaN."""
    sigma = _column("sigma_daily_bps", sigma_daily_bps)
    size = _column("size_adv", size_adv)
    with np.errstate(invalid="ignore"):
        out: FloatArray = y * sigma * np.sqrt(size)
    return out


@dataclass(frozen=True)
class SqrtImpactFit:
    """Least-squares Y of the square-root law and its standard error, on ``n`` orders."""

    y: float
    y_se: float
    n: int
    r_squared: float  # uncentred (the model has no intercept)


def sqrt_impact_calibrate(
    *, cost_bps: npt.ArrayLike, sigma_daily_bps: npt.ArrayLike, size_adv: npt.ArrayLike
) -> SqrtImpactFit:
    """Fit Y in cost_bps = Y · σ_daily_bps · √(Q/ADV) + ε by ordinary least squares through the origin.

    With x = σ·√(Q/ADV): Ŷ = Σxc / Σx², se(Ŷ) = √(s² / Σx²), s² = Σ(c − Ŷx)² / (n − 1).
    Rows with a non-finite value are dropped; at least two rows with x > 0 are needed.
    """
    c = _column("cost_bps", cost_bps)
    sigma = _column("sigma_daily_bps", sigma_daily_bps)
    size = _column("size_adv", size_adv)
    if not (c.size == sigma.size == size.size):
        raise TcaInputError(
            f"cost_bps, sigma_daily_bps and size_adv differ in length ({c.size}, {sigma.size}, {size.size})."
        )
    with np.errstate(invalid="ignore"):
        x = sigma * np.sqrt(size)
    keep = np.isfinite(c) & np.isfinite(x)
    c, x = c[keep], x[keep]
    sxx = float(x @ x)
    if c.size < 2 or sxx <= 0:
        raise TcaInputError("The square-root law needs at least two orders with known cost, volatility and size.")
    y = float(x @ c) / sxx
    resid = c - y * x
    s2 = float(resid @ resid) / (c.size - 1)
    sct = float(c @ c)
    return SqrtImpactFit(
        y=y,
        y_se=math.sqrt(s2 / sxx),
        n=int(c.size),
        r_squared=1.0 - float(resid @ resid) / sct if sct > 0 else float("nan"),
    )


def istar_bps(
    *,
    size_adv: npt.ArrayLike,
    sigma_annual: npt.ArrayLike,
    pov: npt.ArrayLike,
    params: IStarParams | None = None,
) -> tuple[FloatArray, FloatArray]:
    """(I*, MI) in bps for orders of size Q/ADV, annualised volatility σ (decimal) and participation POV."""
    p = params or IStarParams()
    size = _column("size_adv", size_adv)
    sigma = _column("sigma_annual", sigma_annual)
    rate = _column("pov", pov)
    with np.errstate(invalid="ignore", divide="ignore"):
        instant = p.a1 * np.power(size, p.a2) * np.power(sigma, p.a3)
        impact = p.b1 * instant * np.power(rate, p.a4) + (1.0 - p.b1) * instant
    return np.asarray(instant, dtype=np.float64), np.asarray(impact, dtype=np.float64)


@dataclass(frozen=True)
class IStarFit:
    """Fitted I-Star parameters, their standard errors (same field names) and fit diagnostics."""

    params: IStarParams
    se: IStarParams
    n: int
    rmse_bps: float
    success: bool
    message: str


def istar_calibrate(
    *,
    cost_bps: npt.ArrayLike,
    size_adv: npt.ArrayLike,
    sigma_annual: npt.ArrayLike,
    pov: npt.ArrayLike,
    initial: IStarParams | None = None,
    bounds: tuple[tuple[float, ...], tuple[float, ...]] = ISTAR_BOUNDS,
) -> IStarFit:
    """Non-linear least squares of MI(a1..a4, b1) on realised costs (bps).

    Rows with non-finite values, or non-positive size, volatility or POV, are dropped; at least
    six rows are needed (five parameters). Standard errors come from the Jacobian at the
    solution, cov = s²·(JᵀJ)⁺ with s² = Σr²/(n − 5); they mean little for a parameter stuck on
    a bound.
    """
    c = _column("cost_bps", cost_bps)
    size = _column("size_adv", size_adv)
    sigma = _column("sigma_annual", sigma_annual)
    rate = _column("pov", pov)
    if not (c.size == size.size == sigma.size == rate.size):
        raise TcaInputError("cost_bps, size_adv, sigma_annual and pov differ in length.")
    keep = np.isfinite(c) & np.isfinite(size) & np.isfinite(sigma) & np.isfinite(rate)
    keep &= (size > 0) & (sigma > 0) & (rate > 0)
    c, size, sigma, rate = c[keep], size[keep], sigma[keep], rate[keep]
    if c.size < 6:
        raise TcaInputError(f"I-Star calibration needs at least six usable orders; got {c.size}.")
    lower = np.asarray(bounds[0], dtype=np.float64)
    upper = np.asarray(bounds[1], dtype=np.float64)
    if lower.shape != (5,) or upper.shape != (5,) or np.any(lower >= upper):
        raise TcaInputError("bounds must be two sequences of five numbers with lower < upper.")
    start = initial or IStarParams()
    x0 = np.clip(np.array([start.a1, start.a2, start.a3, start.a4, start.b1]), lower, upper)
    log_size, log_sigma, log_rate = np.log(size), np.log(sigma), np.log(rate)

    def residuals(theta: FloatArray) -> FloatArray:
        a1, a2, a3, a4, b1 = theta
        instant = a1 * np.exp(a2 * log_size + a3 * log_sigma)
        out: FloatArray = b1 * instant * np.exp(a4 * log_rate) + (1.0 - b1) * instant - c
        return out

    fit = least_squares(residuals, x0, bounds=(lower, upper), x_scale="jac", method="trf")
    theta = np.asarray(fit.x, dtype=np.float64)
    r = np.asarray(fit.fun, dtype=np.float64)
    jac = np.asarray(fit.jac, dtype=np.float64)
    dof = max(c.size - theta.size, 1)
    s2 = float(r @ r) / dof
    cov = s2 * np.linalg.pinv(jac.T @ jac)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return IStarFit(
        params=IStarParams(*(float(v) for v in theta)),
        se=IStarParams(*(float(v) for v in se)),
        n=int(c.size),
        rmse_bps=math.sqrt(float(r @ r) / c.size),
        success=bool(fit.success),
        message=str(fit.message),
    )
