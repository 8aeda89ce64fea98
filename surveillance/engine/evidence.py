"""Shared numerics of the evidence-based detectors: scores, keyed time windows, daily bars.

- Scores: a detector measures a few features, each with a threshold; the ratio ``f/θ`` says how
  far beyond its threshold a feature is. :func:`odds_score` turns the ratios into odds,
  ``odds = w · Π fⱼ/θⱼ``, and the odds into a 0–100 score, ``100 · odds / (1 + odds)``: an
  episode exactly at every threshold scores 50, each doubling of a feature doubles the odds
  (one feature at twice its threshold → 67, two → 80), and the score never reaches 100.
- Keyed windows: "the rows with the same key whose time lies in [lo, hi]" for many queries at
  once, by one sort and ``searchsorted`` on a dense composite (key, time rank) code, so no
  Python loop runs over events and no µs arithmetic can overflow int64.
- Daily bars: log returns, trailing volatility and the row of a given day, per instrument.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

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


def key_codes(*columns: IntArray) -> IntArray:
    """Dense int64 codes (0..k-1) of the distinct tuples of ``columns`` (equal lengths)."""
    n = int(columns[0].shape[0]) if columns else 0
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    code = np.zeros(n, dtype=np.int64)
    for col in columns:
        uniq, inv = np.unique(col, return_inverse=True)
        code = code * np.int64(len(uniq)) + inv.astype(np.int64)
        # Re-densify after each column, so k stays ≤ n and the next product cannot overflow.
        code = np.unique(code, return_inverse=True)[1].astype(np.int64)
    return code


def window_ranges(
    key: IntArray, ts_us: IntArray, query_key: IntArray, lo_us: IntArray, hi_us: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Rows with ``key == query_key`` and ``lo_us <= ts_us <= hi_us``, for every query at once.

    Returns ``(order, start, stop)``: ``order`` sorts the rows by (key, time) and the rows
    matching query ``q`` are ``order[start[q]:stop[q]]``. Keys must be small non-negative codes
    (see :func:`key_codes`); times are replaced by their rank so the composite stays small.
    """
    times = np.unique(ts_us)
    stride = np.int64(len(times) + 1)
    composite = key.astype(np.int64) * stride + np.searchsorted(times, ts_us, side="left")
    order = np.argsort(composite, kind="stable")
    sorted_comp = composite[order]
    qk = query_key.astype(np.int64) * stride
    start = np.searchsorted(sorted_comp, qk + np.searchsorted(times, lo_us, side="left"), side="left")
    stop = np.searchsorted(sorted_comp, qk + np.searchsorted(times, hi_us, side="right"), side="left")
    stop = np.maximum(stop, start)
    return order.astype(np.int64), start.astype(np.int64), stop.astype(np.int64)


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


# ---------------------------------------------------------------------------- daily bars


def bars_key(instrument: IntArray, day: IntArray) -> IntArray:
    """The int64 key (instrument, day) bars are sorted by."""
    return (instrument.astype(np.int64) << _DAY_BITS) | day.astype(np.int64)


def bars_key_split(keys: IntArray) -> tuple[IntArray, IntArray]:
    """(instrument, day) back from :func:`bars_key` keys."""
    return keys >> _DAY_BITS, keys & ((1 << _DAY_BITS) - 1)


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


def last_print_at(tape: Tape, instrument: IntArray, ts_us: IntArray) -> FloatArray:
    """Price of the instrument's last public print at or before each ``ts_us`` (NaN if none)."""
    if len(tape) == 0 or len(instrument) == 0:
        return np.full(len(instrument), np.nan)
    codes = key_codes(np.concatenate((tape.instrument, instrument)))
    n = len(tape)
    lo = np.full(len(instrument), int(tape.ts_us[0]), dtype=np.int64)
    order, start, stop = window_ranges(codes[:n], tape.ts_us, codes[n:], lo, ts_us.astype(np.int64))
    found = stop > start
    return np.where(found, tape.price[order[np.maximum(stop - 1, 0)]], np.nan)


def spread_at(quotes: Quotes, instrument: IntArray, ts_us: IntArray) -> FloatArray:
    """Quoted spread (ask − bid) in force at each ``ts_us`` for the instrument (NaN if none yet)."""
    if len(quotes) == 0 or len(instrument) == 0:
        return np.full(len(instrument), np.nan)
    codes = key_codes(np.concatenate((quotes.instrument, instrument)))
    n = len(quotes)
    lo = np.full(len(instrument), int(quotes.ts_us[0]), dtype=np.int64)
    order, start, stop = window_ranges(codes[:n], quotes.ts_us, codes[n:], lo, ts_us.astype(np.int64))
    row = order[np.maximum(stop - 1, 0)]
    return np.where(stop > start, quotes.ask[row] - quotes.bid[row], np.nan)


def session_window_mask(ts_us: IntArray, start_offset_us: int, end_offset_us: int) -> BoolArray:
    """Rows whose time of day (µs after midnight UTC) lies in ``(start, end]``."""
    offset = ts_us % US_PER_DAY
    return (offset > start_offset_us) & (offset <= end_offset_us)
