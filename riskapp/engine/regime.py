"""Market regime: probability that the market is in its stressed state today.

A Gaussian hidden Markov model (Hamilton 1989; Rabiner 1989 for the algorithms) with K states
(2 by default) is fitted to daily index returns by expectation–maximisation with ``hmmlearn``:
in state k returns are N(μ_k, σ_k²), and the state follows a Markov chain. The *stressed* state
is the one with the highest volatility σ_k (labels from EM are arbitrary, so states are always
reported sorted by volatility, calmest first).

"Probability of a stressed regime today" is the *filtered* probability
P(s_T = stressed | r_1 … r_T) from the forward algorithm, which uses no future data; the whole
filtered path is returned for charts. (On the last day the filtered and smoothed probabilities
coincide.)

Numerics and determinism: the series is divided by its sample standard deviation before fitting
(hmmlearn floors variances at ``min_covar`` = 10⁻³, far above a raw daily variance of ~10⁻⁴;
scale-free data avoid that), and results are converted back to return units. EM is started
from ``n_restarts`` seeds derived from ``seed`` (hmmlearn's k-means initialisation) and the fit
with the highest log-likelihood is kept, so the answer is reproducible and less prone to poor
local optima.
"""

from __future__ import annotations

import logging
import warnings
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import stats

from riskapp.engine.types import FloatArray, RiskInputError, check_returns

#: Days of history per state below which the fit is refused (EM has too little to go on).
MIN_DAYS_PER_STATE = 50


class RegimeResult(NamedTuple):
    """Stressed-regime probability today plus the fitted states (sorted calmest → most volatile).

    ``state_means`` and ``state_vols`` are per-day, in return units; ``filtered_probs`` is T × K
    (column k = state k in that order), so ``filtered_probs[:, -1]`` is the stressed-state path.
    """

    prob_today: float
    state_means: FloatArray
    state_vols: FloatArray
    filtered_probs: FloatArray


def forward_filter(
    x: FloatArray, *, startprob: FloatArray, transmat: FloatArray, means: FloatArray, vols: FloatArray
) -> FloatArray:
    """Filtered state probabilities P(s_t | x_1..x_t) of a Gaussian HMM (T × K), forward algorithm."""
    log_emission = np.asarray(stats.norm.logpdf(x[:, None], loc=means[None, :], scale=vols[None, :]), dtype=np.float64)
    # Subtracting each row's maximum before exponentiating keeps the likelihoods in range;
    # the constant cancels when the row is normalised.
    emission = np.exp(log_emission - log_emission.max(axis=1, keepdims=True))
    out: FloatArray = np.empty_like(emission)
    predicted = startprob
    for t in range(x.size):
        joint = predicted * emission[t]
        total = joint.sum()
        out[t] = joint / total if total > 0.0 else predicted
        predicted = out[t] @ transmat
    return out


def stressed_regime_probability(
    index_returns: npt.ArrayLike,
    *,
    n_states: int = 2,
    seed: int = 0,
    n_restarts: int = 5,
    n_iter: int = 200,
) -> RegimeResult:
    """Fit a K-state Gaussian HMM to ``index_returns`` (1-D daily returns, oldest first).

    Returns ``RegimeResult(prob_today, state_means, state_vols, filtered_probs)``; ``prob_today``
    is the filtered probability of the highest-volatility state on the last day.
    """
    from hmmlearn.hmm import GaussianHMM  # imported lazily: only regime runs need it

    if isinstance(n_states, bool) or int(n_states) != n_states or n_states < 2:
        raise RiskInputError(f"A regime model needs at least 2 states; got {n_states!r}.")
    arr = np.asarray(index_returns, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise RiskInputError("The regime model takes a single index return series.")
    x = check_returns(arr, min_rows=MIN_DAYS_PER_STATE * n_states)[:, 0]
    scale = float(np.std(x))
    if scale == 0.0:
        raise RiskInputError("The index returns are constant: there are no regimes to find.")
    y = (x / scale)[:, None]

    best: GaussianHMM | None = None
    best_score = -np.inf
    hmm_logger = logging.getLogger("hmmlearn")
    previous_level = hmm_logger.level
    hmm_logger.setLevel(logging.ERROR)  # hmmlearn logs non-convergence; we keep the best fit anyway
    try:
        for i in range(max(1, n_restarts)):
            model = GaussianHMM(
                n_components=n_states, covariance_type="diag", n_iter=n_iter, tol=1e-6, random_state=seed + i
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(y)
                score = float(model.score(y))
            if np.isfinite(score) and score > best_score:
                best, best_score = model, score
    finally:
        hmm_logger.setLevel(previous_level)
    if best is None:
        raise RiskInputError("The hidden Markov model could not be fitted to these returns.")

    means = np.asarray(best.means_, dtype=np.float64)[:, 0]
    vols = np.sqrt(np.asarray(best.covars_, dtype=np.float64).reshape(n_states, -1)[:, 0])
    order = np.argsort(vols, kind="stable")
    transmat = np.asarray(best.transmat_, dtype=np.float64)[np.ix_(order, order)]
    startprob = np.asarray(best.startprob_, dtype=np.float64)[order]
    filtered = forward_filter(y[:, 0], startprob=startprob, transmat=transmat, means=means[order], vols=vols[order])
    return RegimeResult(
        prob_today=float(filtered[-1, -1]),
        state_means=means[order] * scale,
        state_vols=vols[order] * scale,
        filtered_probs=filtered,
    )
