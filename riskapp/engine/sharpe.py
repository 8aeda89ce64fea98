"""Strategy validation: probabilistic and deflated Sharpe ratios (Bailey & López de Prado).

All Sharpe ratios here are *per period* (per observation: daily returns → daily Sharpe), not
annualised; annualise only for display (× √252 for daily data). From T returns:
``SR̂ = mean / std`` (sample std, ddof = 1), skewness γ₃ and kurtosis γ₄ (non-excess: 3 for a
normal distribution; both the plain moment estimators of ``scipy.stats``).

Probabilistic Sharpe ratio, Bailey & López de Prado (2012), "The Sharpe ratio efficient
frontier", *Journal of Risk* 15(2), eq. for PSR:

    PSR(SR*) = Φ( (SR̂ − SR*) · √(T − 1) / √(1 − γ₃ SR̂ + (γ₄ − 1)/4 · SR̂²) )

the probability that the true Sharpe ratio exceeds the benchmark SR*, allowing for the sample
length and for non-normal returns (negative skew and fat tails widen the estimate's error).

Deflated Sharpe ratio, Bailey & López de Prado (2014), "The deflated Sharpe ratio: correcting
for selection bias, backtest overfitting and non-normality", *Journal of Portfolio Management*
40(5): PSR against the Sharpe ratio one expects from the best of N independent trials of
strategies with no skill, whose Sharpe estimates have variance V:

    SR₀ = √V · ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e))),   DSR = PSR(SR₀)

with γ ≈ 0.5772 the Euler–Mascheroni constant. With N = 1 there is no selection, SR₀ = 0.
The minimum track record length (Bailey & López de Prado 2012) is the T at which PSR reaches a
target probability: ``MinTRL = 1 + (1 − γ₃ SR̂ + (γ₄ − 1)/4 SR̂²) · (z_p / (SR̂ − SR*))²``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import stats

from riskapp.engine.types import FloatArray, RiskInputError, check_confidence, check_returns

EULER_MASCHERONI = 0.5772156649015329
MIN_OBSERVATIONS = 3


def _series(returns: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(returns, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise RiskInputError("Sharpe ratio statistics take a single return series.")
    x: FloatArray = check_returns(arr, min_rows=MIN_OBSERVATIONS)[:, 0]
    return x


def sharpe_moments(returns: npt.ArrayLike) -> tuple[float, float, float, int]:
    """(per-period SR̂, skewness γ₃, kurtosis γ₄ (normal = 3), T) of a return series."""
    x = _series(returns)
    # ptp, not sd == 0: the sample sd of identical values can come out as ~1e−19 from rounding.
    sd = float(np.std(x, ddof=1))
    if float(np.ptp(x)) == 0.0 or sd == 0.0:
        raise RiskInputError("The returns are constant: the Sharpe ratio is undefined.")
    sr = float(np.mean(x)) / sd
    skew = float(stats.skew(x))
    kurt = float(stats.kurtosis(x, fisher=False))
    return sr, skew, kurt, int(x.size)


def _sr_std_factor(sr: float, skew: float, kurt: float) -> float:
    """√(1 − γ₃ SR + (γ₄ − 1)/4 SR²): the non-normality inflation of the SR estimate's error."""
    # Always ≥ 0 because γ₄ ≥ 1 + γ₃² (Pearson's inequality); exactly 0 only for two-point data.
    v = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
    if v <= 0.0:
        raise RiskInputError("The return distribution is degenerate: the Sharpe ratio's error cannot be estimated.")
    return math.sqrt(v)


def psr_from_moments(*, sr: float, skew: float, kurt: float, n_obs: int, benchmark_sr: float = 0.0) -> float:
    """PSR from summary statistics (per-period SR̂, γ₃, non-excess γ₄, T observations)."""
    if n_obs < 2:
        raise RiskInputError("The probabilistic Sharpe ratio needs at least 2 observations.")
    z = (sr - benchmark_sr) * math.sqrt(n_obs - 1) / _sr_std_factor(sr, skew, kurt)
    return float(stats.norm.cdf(z))


def probabilistic_sharpe_ratio(returns: npt.ArrayLike, *, benchmark_sr: float = 0.0) -> float:
    """P(true Sharpe > ``benchmark_sr``) given the track record (both per period), in [0, 1]."""
    sr, skew, kurt, n = sharpe_moments(returns)
    return psr_from_moments(sr=sr, skew=skew, kurt=kurt, n_obs=n, benchmark_sr=float(benchmark_sr))


def expected_max_sharpe(*, n_trials: int, sr_variance: float) -> float:
    """SR₀: the expected best per-period Sharpe among ``n_trials`` skill-less trials (2014 paper)."""
    if isinstance(n_trials, bool) or int(n_trials) != n_trials or n_trials < 1:
        raise RiskInputError(f"The number of trials must be a positive whole number; got {n_trials!r}.")
    if not (math.isfinite(sr_variance) and sr_variance >= 0.0):
        raise RiskInputError(f"The variance of the trials' Sharpe ratios must be ≥ 0; got {sr_variance!r}.")
    if n_trials == 1:
        return 0.0  # nothing was selected, so there is nothing to deflate
    n = float(n_trials)
    g = EULER_MASCHERONI
    factor = (1.0 - g) * stats.norm.ppf(1.0 - 1.0 / n) + g * stats.norm.ppf(1.0 - 1.0 / (n * math.e))
    return float(math.sqrt(sr_variance) * factor)


def deflated_sharpe_ratio(returns: npt.ArrayLike, *, n_trials: int, sr_variance: float) -> float:
    """DSR = PSR(SR₀): probability the selected strategy's Sharpe is real after ``n_trials`` trials.

    ``sr_variance`` is the variance across the trials of their per-period Sharpe estimates.
    """
    return probabilistic_sharpe_ratio(
        returns, benchmark_sr=expected_max_sharpe(n_trials=n_trials, sr_variance=sr_variance)
    )


def min_track_record_length(returns: npt.ArrayLike, *, benchmark_sr: float = 0.0, probability: float = 0.95) -> float:
    """Observations needed for PSR(``benchmark_sr``) to reach ``probability`` (inf if SR̂ ≤ SR*)."""
    p = check_confidence(probability)
    sr, skew, kurt, _ = sharpe_moments(returns)
    if sr <= benchmark_sr:
        return math.inf
    z = float(stats.norm.ppf(p))
    return 1.0 + _sr_std_factor(sr, skew, kurt) ** 2 * (z / (sr - benchmark_sr)) ** 2
