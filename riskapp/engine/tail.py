"""Empirical tail measures shared by every simulation-based method.

Convention (ARCHITECTURE.md): historical VaR at confidence c is the c-quantile of losses with
linear interpolation (numpy's default method); ES is the mean of the ceil(n·(1−c)) largest
losses. Both are floored at 0 (a book that cannot lose has no VaR).

Both read only the top of the sorted losses, so a simulation split over processes can send
back just its largest losses: :func:`tail_keep` says how many suffice, :func:`top_losses`
takes them and :func:`var_es_from_top` measures n losses from them alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

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


def tail_keep(n: int, confidences: Iterable[float]) -> int:
    """How many of the largest of n losses determine VaR and ES at every confidence:
    max over c of ``tail_count(n, c) + 2``, at most n.

    Proof that they suffice. Sorted ascending (ranks 0…n−1), numpy's linear quantile reads the
    ranks lo = ⌊c·(n−1)⌋ and lo + 1 (capped at n−1), i.e. the n − lo largest losses. As
    ⌊x⌋ > x − 1, n − lo < n − c(n−1) + 1 = n(1−c) + c + 1 < n(1−c) + 2, and an integer below
    n(1−c) + 2 is at most ⌈n(1−c)⌉ + 1. (The float product c·(n−1) can fall short of the exact
    one by a few ulps, lowering lo by one only where c(n−1) is within that of an integer; the
    strict inequality above leaves room for it as long as 1 − c exceeds n·2⁻⁵², i.e. always in
    practice.) ``tail_count`` rounds n(1−c) to 9 decimals before its ceiling, so it is at least
    ⌈n(1−c)⌉ − 1; hence ``tail_count + 2`` ≥ ⌈n(1−c)⌉ + 1 ≥ n − lo covers VaR, and it covers
    the ``tail_count`` losses ES averages by construction. :func:`var_es_from_top` checks the
    bound anyway and refuses a tail that is too short.
    """
    cs = [check_confidence(c) for c in confidences]
    if not cs:
        raise RiskInputError("At least one confidence is needed.")
    return min(n, max(tail_count(n, c) + 2 for c in cs))


def top_losses(losses: npt.ArrayLike, keep: int) -> FloatArray:
    """The ``keep`` largest of ``losses`` (all of them if fewer), sorted ascending, as a new array."""
    arr = np.asarray(losses, dtype=np.float64).reshape(-1)
    if arr.size <= keep:
        return np.sort(arr)
    return np.sort(np.partition(arr, arr.size - keep)[arr.size - keep :])


def var_es_from_top(top: FloatArray, n: int, confidence: float) -> tuple[float, float]:
    """(VaR, ES) of n losses from their m largest, ``top`` (sorted ascending, m ≥ the
    :func:`tail_keep` of n), by the convention above.

    VaR is bit-identical to ``np.quantile`` on all n losses: the same virtual index (n−1)·c, the
    same two order statistics and numpy's two-sided linear interpolation (``_lerp``). ES is the
    mean of the last ``tail_count`` entries of ``top``; callers that need bit-identical ES from
    different splits of the same losses (Monte Carlo shards) all go through this function, so
    they sum the same sorted array. Against :func:`var_es_from_losses`, which sums the tail in
    partition order, ES agrees to summation rounding.
    """
    c = check_confidence(confidence)
    m = top.size
    if n < 1 or not 1 <= m <= n:
        raise RiskInputError(f"A tail of {m} losses cannot stand for {n} scenarios.")
    position = (n - 1) * c  # numpy's virtual index for method="linear"
    lo = math.floor(position)
    hi = min(lo + 1, n - 1)
    gamma = position - lo
    first = n - m  # the rank of top[0] among all n losses
    k = tail_count(n, c)
    if lo < first or k > m:
        raise RiskInputError(f"A tail of {m} losses is too short for the {c:g} quantile of {n} scenarios.")
    below, above = float(top[lo - first]), float(top[hi - first])
    diff = above - below
    var = below + diff * gamma if gamma < 0.5 else above - diff * (1.0 - gamma)
    es = float(np.mean(top[m - k :]))
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
