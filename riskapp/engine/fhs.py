"""Filtered historical simulation (FHS): historical scenarios rescaled to today's volatility.

Method (Barone-Adesi, Giannopoulos & Vosper 1999; Hull & White 1998 for the EWMA variant):

1. Build the portfolio P&L series ``x_t = returns_t @ values`` (base currency).
2. Estimate its conditional volatility ``σ_t`` (information up to day t−1) with either
   - EWMA (RiskMetrics 1996): ``σ²_t = λ σ²_{t−1} + (1 − λ) x²_{t−1}``, λ = 0.94 by default,
     seeded with the zero-mean sample variance of the whole window; or
   - GARCH(1,1) with zero mean and normal quasi-likelihood, fitted by the ``arch`` package:
     ``σ²_t = ω + α x²_{t−1} + β σ²_{t−1}``.
3. Standardise: ``z_t = x_t / σ_t`` (devolatilised historical shocks).
4. Rescale every shock by the one-day-ahead forecast ``σ_{T+1}``: scenario P&L ``z_t σ_{T+1}``.
5. VaR and ES of those scenarios under the shared empirical convention (``tail.var_es_from_losses``);
   h-day figures by the square root of time.

Zero mean is the RiskMetrics convention for daily P&L: the mean is small next to the volatility
and estimating it adds noise. The filter is univariate on the portfolio P&L, which is exact for
a linear book with fixed position values (the portfolio's own volatility dynamics are filtered,
not each asset's).

Numerical scale for GARCH: ``arch`` recommends data whose variance is roughly between 1 and
1,000 (it warns outside [0.1, 10⁴)), which is why daily returns are usually multiplied by 100.
For a P&L series in currency we fit on the P&L in percent of the book's gross exposure
(``100 · x_t / Σ|v_i|``, i.e. returns × 100 for a single long position), adjusted by further
powers of ten in the rare case that variance is still outside [0.1, 10⁴). ``GarchParams.scale``
records the factor, so fitted parameters can be reused on another window of the same book
(the rolling backtest refits only every few weeks, see ``backtest.py``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter
from threadpoolctl import threadpool_limits

from riskapp.engine.tail import var_es_from_losses
from riskapp.engine.types import (
    FloatArray,
    RiskInputError,
    VarResult,
    check_confidence,
    check_horizon,
    check_returns,
    check_values,
)

VolModel = Literal["ewma", "garch"]

DEFAULT_LAMBDA = 0.94
#: Fewer days than this leave too few standardised shocks for a 99% tail.
MIN_DAYS_EWMA = 30
#: GARCH(1,1) maximum likelihood needs more data than EWMA to pin down three parameters.
MIN_DAYS_GARCH = 100
#: arch's own backcast window: a 0.94-weighted mean of the first 75 squared residuals.
_BACKCAST_DAYS = 75


@dataclass(frozen=True)
class GarchParams:
    """Fitted zero-mean GARCH(1,1) parameters.

    ``omega`` is in the fitting units: (P&L · ``scale``)²; ``alpha`` and ``beta`` are unit-free.
    ``converged`` is False when the optimiser did not report success (estimates still usable
    but worth a look).
    """

    omega: float
    alpha: float
    beta: float
    scale: float
    converged: bool

    @property
    def persistence(self) -> float:
        """α + β: how slowly a volatility shock decays (1 = integrated, like EWMA)."""
        return self.alpha + self.beta


def ewma_volatility(pnl: npt.ArrayLike, *, lam: float = DEFAULT_LAMBDA) -> tuple[FloatArray, float]:
    """EWMA conditional volatility of a zero-mean series.

    Returns ``(sigma, sigma_next)``: ``sigma[t]`` uses data up to day t−1 (so it is a genuine
    forecast of day t), ``sigma_next`` is the forecast for the day after the last observation.
    The recursion is seeded with the zero-mean sample variance of the whole series.
    """
    x = np.asarray(pnl, dtype=np.float64).reshape(-1)
    if not (0.0 < lam < 1.0):
        raise RiskInputError(f"The EWMA decay λ must be strictly between 0 and 1; got {lam!r}.")
    if x.size < 2 or not np.all(np.isfinite(x)):
        raise RiskInputError("EWMA volatility needs at least 2 finite observations.")
    x2 = x * x
    seed = float(np.mean(x2))
    # lfilter runs s2[t] = λ s2[t−1] + (1−λ) x²[t−1] in C; zi carries the seed term λ·s2[0].
    tail, _ = lfilter([1.0 - lam], [1.0, -lam], x2, zi=[lam * seed])
    sigma2 = np.concatenate(([seed], tail[:-1]))
    return np.sqrt(sigma2), math.sqrt(float(tail[-1]))


def _garch_scale(x: FloatArray, base_scale: float) -> float:
    """``base_scale`` times powers of ten until the scaled variance lies in arch's [0.1, 10⁴)."""
    scale = base_scale
    var = float(np.mean(x * x))
    if var <= 0.0:
        return scale
    # Bounded loop: each step multiplies the variance by 100, so 40 steps span 1e±80.
    for _ in range(40):
        scaled_var = var * scale * scale
        if scaled_var < 0.1:
            scale *= 10.0
        elif scaled_var >= 1e4:
            scale /= 10.0
        else:
            break
    return scale


def garch_fit(
    pnl: npt.ArrayLike,
    *,
    scale: float = 100.0,
    starting_values: GarchParams | None = None,
) -> GarchParams:
    """Fit a zero-mean GARCH(1,1) with normal quasi-likelihood by ``arch`` (Bollerslev 1986).

    ``scale`` multiplies the series before fitting (100 turns returns into percent; callers pass
    ``100 / gross exposure`` for a P&L series) and is adjusted by powers of ten if needed.
    ``starting_values`` (e.g. yesterday's fit) speeds up repeated fits on rolling windows.
    """
    from arch import arch_model  # imported lazily: arch pulls in statsmodels (~0.5 s)

    x = np.asarray(pnl, dtype=np.float64).reshape(-1)
    if x.size < MIN_DAYS_GARCH:
        raise RiskInputError(f"GARCH(1,1) needs at least {MIN_DAYS_GARCH} days of P&L; got {x.size}.")
    if not np.all(np.isfinite(x)):
        raise RiskInputError("The P&L series has missing or non-finite values.")
    if not np.any(x != 0.0):
        raise RiskInputError("The P&L series is identically zero: there is no volatility to model.")
    s = _garch_scale(x, scale)
    model = arch_model(x * s, mean="Zero", vol="GARCH", p=1, q=1, dist="normal", rescale=False)
    start = None
    if starting_values is not None:
        # Re-express ω in this fit's units if the scale differs.
        ratio = (s / starting_values.scale) ** 2
        start = np.array([starting_values.omega * ratio, starting_values.alpha, starting_values.beta])
    # One BLAS thread: with several, the order of floating-point sums depends on the machine's
    # load, the optimiser's path with it, and the same P&L could give a fit 1 % apart.
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        # Convergence problems are reported through `converged`, not as stray warnings.
        warnings.simplefilter("ignore")
        res = model.fit(disp="off", show_warning=False, starting_values=start)
    omega, alpha, beta = (float(res.params[k]) for k in ("omega", "alpha[1]", "beta[1]"))
    return GarchParams(omega=omega, alpha=alpha, beta=beta, scale=s, converged=res.convergence_flag == 0)


def garch_volatility(pnl: npt.ArrayLike, params: GarchParams) -> tuple[FloatArray, float]:
    """Conditional volatility of ``pnl`` under fixed GARCH(1,1) parameters, in P&L units.

    Same recursion and start-up as ``arch`` (its backcast: a 0.94-weighted mean of the first
    75 squared observations stands in for the unobserved x²_{−1} and σ²_{−1}), so on the fitting
    window it reproduces ``arch``'s ``conditional_volatility``. Returns ``(sigma, sigma_next)``
    as ``ewma_volatility`` does.
    """
    x = np.asarray(pnl, dtype=np.float64).reshape(-1) * params.scale
    if x.size < 2 or not np.all(np.isfinite(x)):
        raise RiskInputError("GARCH volatility needs at least 2 finite observations.")
    tau = min(_BACKCAST_DAYS, x.size)
    w = DEFAULT_LAMBDA ** np.arange(tau)
    backcast = float(np.sum(x[:tau] ** 2 * w) / np.sum(w))
    first = params.omega + (params.alpha + params.beta) * backcast
    drive = params.omega + params.alpha * x * x
    # s2[t] = β s2[t−1] + (ω + α x²[t−1]) for t ≥ 1; s2[T] is the forecast.
    tail, _ = lfilter([1.0], [1.0, -params.beta], drive, zi=[params.beta * first])
    sigma2 = np.concatenate(([first], tail[:-1]))
    return np.sqrt(sigma2) / params.scale, math.sqrt(float(tail[-1])) / params.scale


def standardised_residuals(
    pnl: npt.ArrayLike,
    *,
    vol_model: VolModel = "ewma",
    lam: float = DEFAULT_LAMBDA,
    garch_params: GarchParams | None = None,
    garch_scale: float = 100.0,
) -> tuple[FloatArray, float, dict[str, float]]:
    """Devolatilised shocks ``z_t = x_t / σ_t``, the next-day forecast ``σ_{T+1}``, and details.

    With ``vol_model="garch"`` the model is fitted unless ``garch_params`` is given (then only
    filtered, which is how the rolling backtest avoids a refit every day). Days with σ_t = 0
    (a book with no P&L so far) give z_t = 0.
    """
    x = np.asarray(pnl, dtype=np.float64).reshape(-1)
    details: dict[str, float] = {"n_obs": float(x.size)}
    if vol_model == "ewma":
        if x.size < MIN_DAYS_EWMA:
            raise RiskInputError(f"Filtered historical simulation needs at least {MIN_DAYS_EWMA} days; got {x.size}.")
        sigma, sigma_next = ewma_volatility(x, lam=lam)
        details["lambda"] = lam
    elif vol_model == "garch":
        params = garch_params if garch_params is not None else garch_fit(x, scale=garch_scale)
        sigma, sigma_next = garch_volatility(x, params)
        details.update(
            omega_scaled=params.omega,
            alpha=params.alpha,
            beta=params.beta,
            persistence=params.persistence,
            scale=params.scale,
            converged=1.0 if params.converged else 0.0,
        )
    else:
        raise RiskInputError(f"Unknown volatility model {vol_model!r}; use 'ewma' or 'garch'.")
    z = np.divide(x, sigma, out=np.zeros_like(x), where=sigma > 0.0)
    details["sigma_forecast"] = sigma_next
    details["sigma_unconditional"] = float(np.std(x))
    return z, sigma_next, details


def filtered_historical(
    returns: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    confidence: float,
    horizon_days: int = 1,
    vol_model: VolModel = "ewma",
    lam: float = DEFAULT_LAMBDA,
    garch_params: GarchParams | None = None,
) -> VarResult:
    """FHS VaR and ES of a linear book (positive losses in base currency over ``horizon_days``).

    ``details`` carries the volatility forecast (``sigma_forecast``, currency), the unconditional
    P&L volatility, the number of days and the model parameters (λ, or ω/α/β/persistence with
    ``converged`` 1/0 for GARCH). Method name: ``"fhs_ewma"`` or ``"fhs_garch"``.
    """
    c = check_confidence(confidence)
    h = check_horizon(horizon_days)
    if vol_model not in ("ewma", "garch"):
        raise RiskInputError(f"Unknown volatility model {vol_model!r}; use 'ewma' or 'garch'.")
    min_days = MIN_DAYS_EWMA if vol_model == "ewma" else MIN_DAYS_GARCH
    r = check_returns(returns, min_rows=min_days)
    v = check_values(values, r.shape[1])
    pnl: FloatArray = r @ v
    gross = float(np.sum(np.abs(v)))
    if gross == 0.0 or not np.any(pnl != 0.0):
        # A flat book (or one whose history never moved) cannot lose: VaR = ES = 0 by convention.
        return VarResult(f"fhs_{vol_model}", c, h, 0.0, 0.0, {"n_obs": float(pnl.size), "sigma_forecast": 0.0})
    z, sigma_next, details = standardised_residuals(
        pnl, vol_model=vol_model, lam=lam, garch_params=garch_params, garch_scale=100.0 / gross
    )
    var1, es1 = var_es_from_losses(-z * sigma_next, c)
    root_h = math.sqrt(h)
    return VarResult(f"fhs_{vol_model}", c, h, var1 * root_h, es1 * root_h, details)
