"""Shared numerics of the evidence-based detectors: scores, keyed time windows, daily bars.

- Scores: a detector measures a few features, each with a threshold; the ratio ``f/θ`` says how
  far beyond its threshold a feature is. :func:`odds_score` turns the ratios into odds,
  ``odds = w · Π fⱼ/θⱼ``, and the odds into a 0–100 score, ``100 · odds / (1 + odds)``: an
  episode exactly at every threshold scores 50, each doubling of a feature doubles the odds
  (one feature at twice its threshold → 67, two → 80), and the score approaches 100 only as
  the evidence grows without bound.
- Keyed windows (:class:`KeyedSeries`): "the rows of key k whose time lies in [lo, hi]" and
  "the last row of key k at or before t" for many queries at once. Rows already in time order
  (tape, quotes, trades) need one linear stable sort by key; queries are ``searchsorted`` on a
  composite ``code · stride + (t − t0)``, checked against int64 overflow. No Python loop runs
  over events.
- Daily volume and bars: public volume per instrument and day, daily log returns, trailing
  volatility and the bar of a given day, per instrument.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from surveillance.engine.orderflow import dense_codes, small_stable_argsort
from surveillance.engine.types import (
    US_PER_DAY,
    US_PER_MINUTE,
    Accounts,
    BoolArray,
    DailyBars,
    FloatArray,
    Int8Array,
    IntArray,
    Quotes,
    Tape,
)

# Bars are keyed by instrument and day in one int64: days since the epoch stay below 2**20
# (year 4840) and database ids below 2**42, so the product never overflows.
_DAY_BITS = 20


def odds_score(ratios: Sequence[float], *, weight: float = 1.0) -> float:
    """0–100 score from feature/threshold ratios: ``100 · w·Πr / (1 + w·Πr)`` (50 at thresholds).

    Each ratio is clipped to [1e-9, 1e6] so an unbounded feature (a position in an account with
    no other activity) cannot turn the odds into inf/NaN."""
    odds = float(weight)
    for r in ratios:
        odds *= min(max(float(r), 1e-9), 1e6) if math.isfinite(float(r)) or float(r) > 0 else 1e-9
    return round(100.0 * odds / (1.0 + odds), 2)


def dense(values: IntArray) -> tuple[IntArray, IntArray]:
    """``(uniques, codes)`` with ``uniques[codes] == values``, uniques sorted.

    Ids with a modest range (database keys) take the linear ``bincount`` path of
    :func:`surveillance.engine.orderflow.dense_codes`; anything else is ranked with one sort,
    which is much faster than ``np.unique``'s hashing on large arrays.
    """
    values = np.asarray(values, dtype=np.int64)
    if values.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lo, hi = int(values.min()), int(values.max())
    if lo >= 0 and hi - lo <= 4 * values.size + 1_000_000:
        return dense_codes(values)
    s = np.sort(values)
    uniq = s[np.concatenate(([True], s[1:] != s[:-1]))]
    return uniq, np.searchsorted(uniq, values).astype(np.int64)


def codes_of(values: IntArray) -> IntArray:
    """Dense int64 codes (0..k-1, in value order) of ``values``."""
    return dense(values)[1]


def key_codes(*columns: IntArray) -> IntArray:
    """Dense int64 codes (0..k-1) of the distinct tuples of ``columns`` (equal lengths)."""
    n = int(columns[0].shape[0]) if columns else 0
    code = np.zeros(n, dtype=np.int64)
    for col in columns:
        inv = codes_of(col)
        width = int(inv.max()) + 1 if n else 1
        # Re-densify after each column, so the next product stays below n · width.
        code = codes_of(code * np.int64(width) + inv)
    return code


@dataclass(frozen=True)
class KeyedSeries:
    """Rows of a table grouped by a key (say, the instrument) and ordered by time within it,
    for "rows of key k between two times" and "last row of key k at or before t" queries.

    ``composite`` is ``code · stride + (t − t0)``, ascending along ``order``; query keys that are
    not in the table get code −1 and match nothing.
    """

    keys: IntArray
    order: IntArray
    composite: IntArray
    t0: int
    stride: int

    def _code(self, key: IntArray) -> IntArray:
        if len(self.keys) == 0:
            return np.full(len(key), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        return np.where(self.keys[pos] == key, pos, -1).astype(np.int64)

    def _at(self, code: IntArray, ts_us: IntArray) -> IntArray:
        offset = np.clip(ts_us.astype(np.int64) - self.t0, -1, self.stride - 1)
        return code * np.int64(self.stride) + offset

    def ranges(self, key: IntArray, lo_us: IntArray, hi_us: IntArray) -> tuple[IntArray, IntArray]:
        """``(start, stop)`` so that ``order[start:stop]`` are the key's rows with lo ≤ t ≤ hi."""
        code = self._code(key)
        start = np.searchsorted(self.composite, self._at(code, lo_us), side="left")
        stop = np.searchsorted(self.composite, self._at(code, hi_us), side="right")
        # Bounds below t0 clip to offset −1, which belongs to no row; an unknown key matches none.
        stop = np.where((code >= 0) & (hi_us >= lo_us) & (hi_us >= self.t0), stop, start)
        return start.astype(np.int64), np.maximum(stop, start).astype(np.int64)

    def last_at(self, key: IntArray, ts_us: IntArray) -> IntArray:
        """Row index of the key's last row at or before ``ts_us`` (−1 when there is none)."""
        code = self._code(key)
        pos = np.searchsorted(self.composite, self._at(code, ts_us), side="right") - 1
        ok = (code >= 0) & (pos >= 0) & (ts_us >= self.t0)
        ok[ok] = self.composite[pos[ok]] // self.stride == code[ok]
        return np.where(ok, self.order[np.maximum(pos, 0)], -1).astype(np.int64)


def keyed_series(key: IntArray, ts_us: IntArray, *, time_sorted: bool) -> KeyedSeries:
    """Index rows by (key, time). ``time_sorted`` rows (the tape, quotes, trades) need only a
    linear stable sort by key; others are sorted by (key, time)."""
    keys, code = dense(key)
    if len(ts_us) == 0:
        return KeyedSeries(keys, np.zeros(0, np.int64), np.zeros(0, np.int64), 0, 1)
    t0 = int(ts_us.min())
    stride = int(ts_us.max()) - t0 + 2
    if stride * max(len(keys), 1) >= 2**62:
        raise ValueError("time span too long for one keyed index")  # µs over centuries
    order = small_stable_argsort(code, len(keys)) if time_sorted else np.lexsort((ts_us, code)).astype(np.int64)
    composite = code[order] * np.int64(stride) + (ts_us[order].astype(np.int64) - t0)
    return KeyedSeries(keys.astype(np.int64), order, composite, t0, stride)


def window_ranges(
    key: IntArray, ts_us: IntArray, query_key: IntArray, lo_us: IntArray, hi_us: IntArray, *, time_sorted: bool = False
) -> tuple[IntArray, IntArray, IntArray]:
    """Rows with ``key == query_key`` and ``lo_us <= ts_us <= hi_us``, for every query at once.

    Returns ``(order, start, stop)``: the rows matching query ``q`` are ``order[start[q]:stop[q]]``.
    """
    index = keyed_series(key, ts_us, time_sorted=time_sorted)
    start, stop = index.ranges(query_key, lo_us, hi_us)
    return index.order, start, stop


def ranges_expand(start: IntArray, stop: IntArray) -> tuple[IntArray, IntArray]:
    """All (query, position) pairs of the ranges ``[start[q], stop[q])``, flattened."""
    counts = stop - start
    total = int(counts.sum())
    query = np.repeat(np.arange(len(start), dtype=np.int64), counts)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return query, np.repeat(start, counts) + offsets


def segment_starts(sorted_key: IntArray) -> IntArray:
    """For each row of a key-sorted array, the index of the first row with the same key."""
    n = len(sorted_key)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.ones(n, dtype=np.bool_)
    first[1:] = sorted_key[1:] != sorted_key[:-1]
    return np.maximum.accumulate(np.where(first, np.arange(n, dtype=np.int64), 0))


def median_of_others(matrix: FloatArray) -> FloatArray:
    """For each cell, the median of the finite values in its row other than itself (NaN when
    fewer than two others). Rows are dates or events, columns instruments."""
    n_rows, n_cols = matrix.shape
    if n_cols == 0:
        return np.full(matrix.shape, np.nan)
    order = np.argsort(matrix, axis=1)  # NaN sorts last
    s = np.take_along_axis(matrix, order, axis=1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(n_cols)[None, :].repeat(n_rows, axis=0), axis=1)
    n = np.isfinite(matrix).sum(axis=1, keepdims=True)
    m = n - 1  # values left once the cell itself is removed (a NaN cell removes nothing)
    m = np.where(np.isfinite(matrix), m, n)

    def left(i: npt.NDArray[np.int64]) -> FloatArray:
        # i-th smallest of the row without the cell: skip the cell's own rank.
        j = np.where(np.isfinite(matrix) & (i >= rank), i + 1, i)
        return np.take_along_axis(s, np.clip(j, 0, n_cols - 1), axis=1)

    lo = np.maximum((m - 1) // 2, 0)
    hi = np.maximum(m // 2, 0)
    med = 0.5 * (left(lo.astype(np.int64)) + left(hi.astype(np.int64)))
    return np.where(m >= 2, med, np.nan)


@dataclass(frozen=True)
class DailyVolume:
    """Public volume per instrument (rows) and session day (columns); NaN where the instrument
    printed nothing that day."""

    instruments: IntArray
    days: IntArray
    grid: FloatArray

    def cell(self, instrument: IntArray, day: IntArray) -> tuple[IntArray, IntArray]:
        """(row, column) of each (instrument, day); −1 where absent."""
        if len(self.instruments) == 0:
            none = np.full(len(instrument), -1, dtype=np.int64)
            return none, none.copy()
        r = np.minimum(np.searchsorted(self.instruments, instrument), len(self.instruments) - 1)
        c = np.minimum(np.searchsorted(self.days, day), len(self.days) - 1)
        r = np.where(self.instruments[r] == instrument, r, -1)
        c = np.where(self.days[c] == day, c, -1)
        return r.astype(np.int64), c.astype(np.int64)


def daily_volume(tape: Tape) -> DailyVolume:
    """Sum the tape by instrument and UTC day in one linear pass (``bincount`` on dense codes)."""
    names, inst = dense(tape.instrument)
    days, day = dense(tape.ts_us // US_PER_DAY)
    n = len(names) * len(days)
    flat = inst * np.int64(max(len(days), 1)) + day
    volume = np.bincount(flat, weights=tape.quantity, minlength=n)
    prints = np.bincount(flat, minlength=n)
    grid = np.where(prints > 0, volume, np.nan).reshape(len(names), len(days))
    return DailyVolume(names, days, grid)


# ---------------------------------------------------------------------------- daily bars


def bars_key(instrument: IntArray, day: IntArray) -> IntArray:
    """The int64 key (instrument, day) bars are sorted by."""
    return (instrument.astype(np.int64) << _DAY_BITS) | day.astype(np.int64)


def bars_log_returns(bars: DailyBars) -> FloatArray:
    """Daily log return of each bar against the instrument's previous bar (NaN for the first)."""
    out = np.full(len(bars), np.nan)
    if len(bars) > 1:
        same = bars.instrument[1:] == bars.instrument[:-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.log(bars.close[1:] / bars.close[:-1])
        out[1:] = np.where(same & np.isfinite(r), r, np.nan)
    return out


def window_std(values: FloatArray, segment: IntArray, end_row: IntArray, *, window: int, min_obs: int) -> FloatArray:
    """Sample std (ddof=1) of the finite ``values`` in rows ``(end_row − window, end_row]`` of
    the end row's segment (``segment`` = index of each row's segment start, see
    :func:`segment_starts`); NaN for ``end_row < 0`` or fewer than ``min_obs`` values."""
    if len(values) == 0:
        return np.full(len(end_row), np.nan)
    finite = np.isfinite(values)
    v = np.where(finite, values, 0.0)
    c1 = np.concatenate(([0.0], np.cumsum(v)))
    c2 = np.concatenate(([0.0], np.cumsum(v * v)))
    cn = np.concatenate(([0], np.cumsum(finite.astype(np.int64))))
    ok = end_row >= 0
    row = np.where(ok, end_row, 0)
    j = row + 1
    lo = np.maximum(segment[row], j - window)
    cnt = (cn[j] - cn[lo]).astype(np.float64)
    s1 = c1[j] - c1[lo]
    s2 = c2[j] - c2[lo]
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (s2 - s1 * s1 / cnt) / (cnt - 1.0)
    return np.where(ok & (cnt >= max(min_obs, 2)), np.sqrt(np.maximum(var, 0.0)), np.nan)


def bar_row_before(bars: DailyBars, instrument: IntArray, day: IntArray) -> IntArray:
    """Row of the instrument's last bar strictly before ``day`` (-1 when there is none)."""
    keys = bars_key(bars.instrument, bars.day)
    pos = np.searchsorted(keys, bars_key(instrument, day), side="left") - 1
    ok = pos >= 0
    ok[ok] = bars.instrument[pos[ok]] == instrument[ok]
    return np.where(ok, pos, -1).astype(np.int64)


def bar_row_on_or_after(bars: DailyBars, instrument: IntArray, day: IntArray) -> IntArray:
    """Row of the instrument's first bar on or after ``day`` (-1 when there is none)."""
    keys = bars_key(bars.instrument, bars.day)
    pos = np.searchsorted(keys, bars_key(instrument, day), side="left")
    ok = pos < len(keys)
    ok[ok] = bars.instrument[pos[ok]] == instrument[ok]
    return np.where(ok, pos, -1).astype(np.int64)


def daily_vol(bars: DailyBars, instrument: IntArray, day: IntArray, *, window: int, fallback: float) -> FloatArray:
    """σ of the instrument's last ``window`` daily log returns before ``day``; ``fallback``
    when fewer than five are available (a new listing, or bars not loaded)."""
    if len(bars) == 0:
        return np.full(len(instrument), fallback)
    prev = bar_row_before(bars, instrument, day)
    vol = window_std(bars_log_returns(bars), segment_starts(bars.instrument), prev, window=window, min_obs=5)
    return np.where(np.isfinite(vol) & (vol > 0), vol, fallback)


# ---------------------------------------------------------------------------- text


def duration_text(us: int) -> str:
    """A short human duration: ``45 s``, ``12 min``, ``3.5 h``, ``2.0 days``."""
    us = abs(int(us))
    if us < US_PER_MINUTE:
        return f"{us / 1e6:.0f} s"
    if us < 90 * US_PER_MINUTE:
        return f"{us / US_PER_MINUTE:.0f} min"
    if us < US_PER_DAY:
        return f"{us / (60 * US_PER_MINUTE):.1f} h"
    return f"{us / US_PER_DAY:.1f} days"


def groups_of(accounts: Accounts, account_ids: IntArray) -> IntArray:
    """Beneficial-owner group of each account id; an id missing from ``accounts`` is its own
    group (coded ``-1 - id`` so it never equals a real, non-negative group number)."""
    ids = account_ids.astype(np.int64)
    if len(accounts) == 0:
        return -1 - ids
    order = np.argsort(accounts.account_id, kind="stable")
    sorted_ids = accounts.account_id[order]
    pos = np.minimum(np.searchsorted(sorted_ids, ids), len(order) - 1)
    found = sorted_ids[pos] == ids
    return np.where(found, accounts.group[order[pos]], -1 - ids).astype(np.int64)


def flags_of(accounts: Accounts, account_ids: IntArray) -> tuple[Int8Array, BoolArray]:
    """(kind, is_employee) of each account id; a missing id is a non-employee client."""
    ids = account_ids.astype(np.int64)
    if len(accounts) == 0:
        return np.zeros(len(ids), dtype=np.int8), np.zeros(len(ids), dtype=np.bool_)
    order = np.argsort(accounts.account_id, kind="stable")
    sorted_ids = accounts.account_id[order]
    pos = np.minimum(np.searchsorted(sorted_ids, ids), len(order) - 1)
    found = sorted_ids[pos] == ids
    kind = np.where(found, accounts.kind[order[pos]], 0).astype(np.int8)
    employee = np.where(found, accounts.is_employee[order[pos]], False).astype(np.bool_)
    return kind, employee


def last_print_at(tape: Tape, instrument: IntArray, ts_us: IntArray, index: KeyedSeries | None = None) -> FloatArray:
    """Price of the instrument's last public print at or before each ``ts_us`` (NaN if none).
    Pass ``index = keyed_series(tape.instrument, tape.ts_us, time_sorted=True)`` when asking
    many times over the same tape."""
    if len(tape) == 0 or len(instrument) == 0:
        return np.full(len(instrument), np.nan)
    index = index or keyed_series(tape.instrument, tape.ts_us, time_sorted=True)
    row = index.last_at(instrument, ts_us.astype(np.int64))
    return np.where(row >= 0, tape.price[np.maximum(row, 0)], np.nan)


def spread_at(quotes: Quotes, instrument: IntArray, ts_us: IntArray) -> FloatArray:
    """Quoted spread (ask − bid) in force at each ``ts_us`` for the instrument (NaN if none yet)."""
    if len(quotes) == 0 or len(instrument) == 0:
        return np.full(len(instrument), np.nan)
    row = keyed_series(quotes.instrument, quotes.ts_us, time_sorted=True).last_at(instrument, ts_us.astype(np.int64))
    safe = np.maximum(row, 0)
    return np.where(row >= 0, quotes.ask[safe] - quotes.bid[safe], np.nan)


def session_window_mask(ts_us: IntArray, start_offset_us: int, end_offset_us: int) -> BoolArray:
    """Rows whose time of day (µs after midnight UTC) lies in ``(start, end]``."""
    offset = ts_us % US_PER_DAY
    return (offset > start_offset_us) & (offset <= end_offset_us)
