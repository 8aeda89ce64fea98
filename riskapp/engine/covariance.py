"""Covariance estimators of daily returns and the repair of matrices that are not PSD.

All estimators take ``returns`` (T × N simple daily returns, oldest first; see
:mod:`riskapp.engine.types`) and return an N × N float64 matrix of *daily* covariances.

- :func:`sample_cov`: the unbiased sample covariance (divisor T − 1, mean removed).
- :func:`ewma_cov`: RiskMetrics exponentially weighted covariance (J.P. Morgan/Reuters,
  *RiskMetrics — Technical Document*, 4th ed., 1996, §5.2): weight of the observation of age a
  (0 = most recent) ∝ λ^a, normalised to sum to one, zero mean assumed; λ = 0.94 for daily data.
- :func:`ledoit_wolf_cov`: Ledoit & Wolf (2004) shrinkage towards a scaled identity, exactly
  ``sklearn.covariance.LedoitWolf().fit(returns).covariance_`` (mean removed, divisor T).
- :func:`nearest_psd`: the nearest symmetric positive semi-definite matrix in the Frobenius norm
  (Higham 1988): symmetrise, then clip negative eigenvalues.
- :func:`covariance_prepare`: what every VaR method does with a user-supplied or estimated
  matrix before using it (validate, repair if not PSD, reject if unusable) plus a factor
  ``F`` with ``F @ F.T == cov`` for simulation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from sklearn.covariance import LedoitWolf

from riskapp.engine.types import FloatArray, RiskInputError, check_returns

CovMethod = Literal["sample", "ewma", "ledoit_wolf"]
COV_METHODS: tuple[str, ...] = ("sample", "ewma", "ledoit_wolf")

# Relative tolerance under which an asymmetry is rounding noise (not reported as a repair).
_SYMMETRY_RTOL = 1e-8


def sample_cov(returns: npt.ArrayLike) -> FloatArray:
    """Unbiased sample covariance (divisor T − 1) of T × N returns; at least 2 days needed."""
    arr = check_returns(returns, min_rows=2)
    centred = arr - arr.mean(axis=0)
    cov: FloatArray = (centred.T @ centred) / (arr.shape[0] - 1)
    return _symmetrise(cov)


def ewma_cov(returns: npt.ArrayLike, *, lam: float = 0.94) -> FloatArray:
    """RiskMetrics EWMA covariance: Σ_t w_t r_t r_tᵀ with w_t ∝ λ^(age), Σ w_t = 1, zero mean.

    The weights are normalised over the sample actually available (1 − λ^T instead of 1), so a
    short history is not under-scaled; for long histories this is the textbook recursion
    σ²_t = λ σ²_{t−1} + (1 − λ) r²_{t−1} started far in the past.
    """
    lam = _check_lambda(lam)
    arr = check_returns(returns, min_rows=1)
    n = arr.shape[0]
    ages = np.arange(n - 1, -1, -1, dtype=np.float64)  # oldest row has the largest age
    # λ^age underflows to 0 for very old rows, which is the right limit; no overflow possible.
    weights = lam**ages
    weights /= weights.sum()
    weighted = arr * np.sqrt(weights)[:, None]
    cov: FloatArray = weighted.T @ weighted
    return _symmetrise(cov)


def ledoit_wolf_cov(returns: npt.ArrayLike) -> FloatArray:
    """Ledoit–Wolf shrunk covariance, identical to ``sklearn.covariance.LedoitWolf``.

    Ledoit, O. & Wolf, M. (2004), "A well-conditioned estimator for large-dimensional covariance
    matrices", J. Multivariate Analysis 88(2). sklearn's defaults are kept (mean removed,
    maximum-likelihood divisor T) so the figure can be reproduced with sklearn alone.
    """
    arr = check_returns(returns, min_rows=2)
    cov = np.asarray(LedoitWolf().fit(arr).covariance_, dtype=np.float64)
    return _symmetrise(cov)


def estimate_cov(returns: npt.ArrayLike, *, method: str = "sample", lam: float = 0.94) -> FloatArray:
    """Covariance of ``returns`` by ``method`` ("sample", "ewma" or "ledoit_wolf")."""
    if method == "sample":
        return sample_cov(returns)
    if method == "ewma":
        return ewma_cov(returns, lam=lam)
    if method == "ledoit_wolf":
        return ledoit_wolf_cov(returns)
    raise RiskInputError(f"Unknown covariance method {method!r}; expected one of {', '.join(COV_METHODS)}.")


def nearest_psd(matrix: npt.ArrayLike, *, eps: float = 0.0) -> FloatArray:
    """Nearest symmetric positive semi-definite matrix to ``matrix`` in the Frobenius norm.

    Higham, N. J. (1988), "Computing a nearest symmetric positive semidefinite matrix",
    Linear Algebra Appl. 103: the nearest PSD matrix to A is obtained from the symmetric part
    B = (A + Aᵀ)/2 by setting its negative eigenvalues to zero (B = QΛQᵀ → QΛ₊Qᵀ), and the
    distance is ‖A − X‖²_F = Σ_{λ_i<0} λ_i² + ‖(A − Aᵀ)/2‖²_F. (Higham's 2002 alternating
    projections solve a different problem — the nearest *correlation* matrix, with a unit
    diagonal — which a covariance matrix does not need.)

    ``eps`` ≥ 0 is a floor for the eigenvalues (absolute, in the units of the matrix): 0 gives
    the exact nearest PSD matrix; a small positive value gives a positive-definite one.
    """
    arr = _check_square(matrix)
    if not (eps >= 0.0 and np.isfinite(eps)):
        raise RiskInputError(f"The eigenvalue floor eps must be a finite number ≥ 0; got {eps!r}.")
    sym = _symmetrise(arr.copy())
    eigenvalues, eigenvectors = np.linalg.eigh(sym)
    clipped = np.maximum(eigenvalues, eps)
    repaired: FloatArray = (eigenvectors * clipped) @ eigenvectors.T
    return _symmetrise(repaired)


@dataclass(frozen=True)
class PreparedCov:
    """A covariance matrix ready for use, with a factor for simulation.

    ``factor`` F satisfies F Fᵀ = ``cov``; it is the lower Cholesky factor when ``cov`` is
    positive definite (``factor_is_lower`` True) and Q·diag(√λ) from the eigen-decomposition
    when it is only semi-definite (Cholesky needs strict definiteness; a duplicated asset or a
    history shorter than the number of assets gives a singular but perfectly usable matrix).
    """

    cov: FloatArray
    repaired: bool
    factor: FloatArray | None = None
    factor_is_lower: bool = False


def covariance_prepare(cov: npt.ArrayLike, n_assets: int | None = None, *, factor: bool = False) -> PreparedCov:
    """Validate a covariance matrix and repair it to the nearest PSD matrix if needed.

    Raises :class:`RiskInputError` for a non-square, non-finite or wrongly sized matrix and for
    a matrix with no variance at all (all zero, or nothing left after repair) — no risk figure
    can be derived from it. A matrix that is not symmetric (beyond rounding) or has negative
    eigenvalues is replaced by its nearest PSD matrix (:func:`nearest_psd`: symmetric part,
    negative eigenvalues set to 0) and flagged ``repaired``; a singular PSD matrix is used as is.
    With ``factor=True`` also returns a factor F (F Fᵀ = cov) for Monte Carlo.
    """
    arr = _check_square(cov)
    if n_assets is not None and arr.shape[0] != n_assets:
        raise RiskInputError(f"The covariance matrix is {arr.shape[0]}×{arr.shape[0]} for {n_assets} positions.")
    scale = float(np.max(np.abs(arr))) if arr.size else 0.0
    if scale == 0.0:
        raise RiskInputError(
            "The covariance matrix is all zero: the return history never moves (stale or constant prices?)."
        )
    # An asymmetric matrix is repaired like an indefinite one: the nearest PSD matrix of A is
    # that of its symmetric part (Higham 1988), so only the flag differs.
    asymmetric = float(np.max(np.abs(arr - arr.T))) > _SYMMETRY_RTOL * scale
    sym = _symmetrise(arr.copy())
    # Cholesky succeeds exactly for positive-definite matrices and costs far less than an
    # eigen-decomposition, so the common case (a well-estimated matrix) pays almost nothing.
    try:
        chol: FloatArray | None = np.asarray(np.linalg.cholesky(sym), dtype=np.float64)
    except np.linalg.LinAlgError:
        chol = None
    if chol is not None:
        return PreparedCov(cov=sym, repaired=asymmetric, factor=chol if factor else None, factor_is_lower=factor)
    eigenvalues, eigenvectors = np.linalg.eigh(sym)
    # Eigenvalues below this are rounding noise of a semi-definite matrix, not real negatives.
    noise = 1e-12 * max(float(np.max(np.abs(eigenvalues))), np.finfo(np.float64).tiny)
    indefinite = float(eigenvalues.min()) < -noise
    repaired = asymmetric or indefinite
    clipped = np.where(eigenvalues > noise, eigenvalues, 0.0)
    if not np.any(clipped > 0.0):
        raise RiskInputError(
            "The covariance matrix has no positive variance left after repair to the nearest PSD matrix."
        )
    fixed = _symmetrise((eigenvectors * clipped) @ eigenvectors.T) if indefinite else sym
    root = np.asarray(eigenvectors * np.sqrt(clipped), dtype=np.float64) if factor else None
    return PreparedCov(cov=fixed, repaired=repaired, factor=root, factor_is_lower=False)


def is_psd(matrix: npt.ArrayLike, *, tol: float = 1e-10) -> bool:
    """Whether a symmetric matrix is PSD up to ``tol`` relative to its largest eigenvalue."""
    arr = _check_square(matrix)
    eigenvalues = np.linalg.eigvalsh(_symmetrise(arr.copy()))
    top = max(float(np.max(np.abs(eigenvalues))), np.finfo(np.float64).tiny)
    return bool(eigenvalues.min() >= -tol * top)


# ---------------------------------------------------------------------------- helpers


def _check_square(matrix: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(matrix, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise RiskInputError(f"A covariance matrix must be square and non-empty; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise RiskInputError("The covariance matrix has missing or non-finite entries (NaN/inf).")
    return arr


def _symmetrise(matrix: FloatArray) -> FloatArray:
    """(M + Mᵀ)/2 in place: removes the rounding asymmetry left by matrix products."""
    matrix += matrix.T.copy()
    matrix *= 0.5
    return matrix


def _check_lambda(lam: float) -> float:
    value = float(lam)
    if not (0.0 < value < 1.0):
        raise RiskInputError(f"The EWMA decay λ must be strictly between 0 and 1; got {lam!r}.")
    return value
