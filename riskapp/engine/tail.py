"""Empirical tail measures shared by every simulation-based method.

Convention (ARCHITECTURE.md): historical VaR at confidence c is the c-quantile of losses with
linear interpolation (numpy's default method); ES is the mean of the ceil(n·(1−c)) largest
losses. Both are floored at 0 (a book that cannot lose has no VaR).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from riskapp.engine.types import FloatArray, RiskInputError, check_confidence


def tail_count(n: int, confidence: float) -> int:
    """How many of the largest losses ES averages: ceil(n·(1−c)), at least 1."""
    # Rounding guards against 1000 * (1 - 0.99) = 10.000000000000009 giving 11.
    return max(1, math.ceil(round(n * (1.0 - confidence), 9)))


def var_es_from_losses(losses: npt.ArrayLike, confidence: float) -> tuple[float, float]:
    """(VaR, ES) of a sample of losses (positive = loss) under the convention above."""
    c = check_confidence(confidence)
    arr = np.asarray(losses, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        raise RiskInputError("No scenarios to measure.")
    if not np.all(np.isfinite(arr)):
        raise RiskInputError("Scenario losses must be finite.")
    var = float(np.quantile(arr, c))
    k = tail_count(arr.size, c)
    es = float(np.mean(np.partition(arr, arr.size - k)[arr.size - k :]))
    # + 0.0 turns -0.0 (a flat book) into 0.0, so it never prints as "-0".
    return max(var, 0.0) + 0.0, max(es, var, 0.0) + 0.0


def var_es_columns(losses: FloatArray, confidence: float) -> tuple[FloatArray, FloatArray]:
    """VaR and ES of each column of a T × P loss matrix (P portfolios at once), vectorised."""
    c = check_confidence(confidence)
    arr = np.asarray(losses, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise RiskInputError("Expected a non-empty T × P matrix of losses.")
    n = arr.shape[0]
    var = np.quantile(arr, c, axis=0)
    k = tail_count(n, c)
    top = np.partition(arr, n - k, axis=0)[n - k :]
    es = top.mean(axis=0)
    return np.maximum(var, 0.0) + 0.0, np.maximum(np.maximum(es, var), 0.0) + 0.0
