"""As-of lookups into series sorted by (instrument, time): the one search every benchmark uses.

A :class:`Timeline` wraps the instrument and time columns of quotes, tape prints or daily bars.
:meth:`Timeline.locate` finds, once per batch of queries, each query's instrument block
``[lo, hi)`` in the series; :meth:`Timeline.search` then runs ``np.searchsorted`` inside each
block, one call per instrument, and returns *global* row positions. Cumulative sums over the
whole series (VWAP, TWAP, volumes) are then differenced between two positions of the same
block, so an interval sum costs O(1) per query whatever its length. Those sums restart at every
instrument (:meth:`Timeline.segmented_cumulative`): their rounding error then depends on one
instrument's activity, not on how many instruments share the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from execution_quality.engine.types import FloatArray, IntArray


@dataclass(frozen=True)
class Located:
    """Queries grouped by instrument: block bounds per query and the groups to search in."""

    lo: IntArray  # first row of the query's instrument block (0 when the instrument has no rows)
    hi: IntArray  # one past its last row (== lo when the instrument has no rows)
    block: IntArray  # index of the query's instrument in ``Timeline.codes`` (0 when unknown)
    order: IntArray  # queries sorted by instrument (stable)
    group_starts: IntArray  # boundaries of equal-instrument runs in ``order``
    group_lo: IntArray  # block bounds of each run
    group_hi: IntArray


@dataclass(frozen=True)
class Timeline:
    """The (instrument, time) columns of one sorted series, with per-instrument block bounds."""

    instrument: IntArray
    ts: IntArray
    codes: IntArray  # distinct instruments, ascending
    starts: IntArray  # first row of each instrument
    stops: IntArray  # one past its last row

    @classmethod
    def build(cls, instrument: IntArray, ts: IntArray) -> Timeline:
        """Index a series already sorted by (instrument, ts) (checked by the input tables)."""
        n = instrument.size
        if n == 0:
            empty = np.empty(0, dtype=np.int64)
            return cls(instrument, ts, empty, empty, empty)
        change = np.flatnonzero(instrument[1:] != instrument[:-1]) + 1
        starts = np.concatenate(([0], change)).astype(np.int64)
        stops = np.concatenate((change, [n])).astype(np.int64)
        return cls(instrument, ts, instrument[starts], starts, stops)

    def block_of_rows(self) -> IntArray:
        """For every row of the series, the first row of its instrument block."""
        return np.repeat(self.starts, self.stops - self.starts)

    def locate(self, query_instrument: IntArray, query_ts: IntArray | None = None) -> Located:
        """Group queries by instrument and find each one's block ``[lo, hi)`` (empty if unknown).

        With ``query_ts`` the queries are also ordered by time within an instrument: searches
        for those times (or times shifted by a constant) then walk each block forwards, which
        ``np.searchsorted`` and the caches reward.
        """
        q = query_instrument
        m = q.size
        lo = np.zeros(m, dtype=np.int64)
        hi = np.zeros(m, dtype=np.int64)
        block = np.zeros(m, dtype=np.int64)
        if query_ts is None:
            order = np.argsort(q, kind="stable").astype(np.int64)
        else:
            order = np.lexsort((query_ts, q)).astype(np.int64)
        if m == 0:
            empty = np.empty(0, dtype=np.int64)
            return Located(lo, hi, block, order, empty, empty, empty)
        qs = q[order]
        group_starts = np.concatenate(([0], np.flatnonzero(qs[1:] != qs[:-1]) + 1)).astype(np.int64)
        group_codes = qs[group_starts]
        group_lo = np.zeros(group_starts.size, dtype=np.int64)
        group_hi = np.zeros(group_starts.size, dtype=np.int64)
        if self.codes.size:
            k = np.minimum(np.searchsorted(self.codes, group_codes), self.codes.size - 1)
            known = self.codes[k] == group_codes
            group_lo = np.where(known, self.starts[k], 0)
            group_hi = np.where(known, self.stops[k], 0)
            sizes = np.diff(np.concatenate((group_starts, [m])))
            lo[order] = np.repeat(group_lo, sizes)
            hi[order] = np.repeat(group_hi, sizes)
            block[order] = np.repeat(np.where(known, k, 0), sizes)
        return Located(lo, hi, block, order, group_starts, group_lo, group_hi)

    def search(self, located: Located, query_ts: IntArray, side: Literal["left", "right"]) -> IntArray:
        """Global row positions: ``lo + searchsorted(ts[lo:hi], t, side)`` for every query.

        ``side="right"`` minus one is the last row at or before ``t`` (valid when ≥ lo);
        ``side="left"`` is the first row at or after ``t`` (valid when < hi).
        """
        out = located.lo.copy()
        bounds = np.concatenate((located.group_starts, [located.order.size]))
        for g in range(located.group_starts.size):
            a, b = int(located.group_lo[g]), int(located.group_hi[g])
            if a == b:
                continue
            rows = located.order[bounds[g] : bounds[g + 1]]
            out[rows] = a + np.searchsorted(self.ts[a:b], query_ts[rows], side=side)
        return out

    def segmented_cumulative(self, values: FloatArray) -> FloatArray:
        """Running sums that restart at each instrument, each block with its own leading zero.

        The result has ``n + n_instruments`` entries: for block b with rows [lo, hi) the entry at
        ``k + b`` (lo ≤ k ≤ hi) is ``values[lo:k].sum()``. Index it with :func:`at_block`.
        """
        # At least one zero, so queries on an empty series (position 0, block 0) read 0.
        out = np.zeros(max(values.size + self.codes.size, 1), dtype=np.float64)
        for b, (lo, hi) in enumerate(zip(self.starts.tolist(), self.stops.tolist(), strict=True)):
            np.cumsum(values[lo:hi], out=out[lo + b + 1 : hi + b + 1])
        return out


def at_block(sums: FloatArray, positions: IntArray, located: Located) -> FloatArray:
    """``sums`` (from :meth:`Timeline.segmented_cumulative`) at row positions of located queries."""
    out: FloatArray = sums[positions + located.block]
    return out


def cumulative(values: FloatArray) -> FloatArray:
    """Exclusive cumulative sum with a leading zero: ``c[k] = values[:k].sum()``."""
    out = np.empty(values.size + 1, dtype=np.float64)
    out[0] = 0.0
    np.cumsum(values, out=out[1:])
    return out
