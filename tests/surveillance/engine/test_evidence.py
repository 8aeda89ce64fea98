"""Shared numerics of the evidence detectors, checked against direct (loop) computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from surveillance.engine.evidence import (
    key_codes,
    last_print_at,
    odds_score,
    ranges_expand,
    segment_starts,
    spread_at,
    window_ranges,
    window_std,
)
from tests.surveillance.engine import builders as b


def test_given_ratios_then_the_odds_score_is_the_documented_closed_form():
    assert odds_score([1.0, 1.0]) == 50.0
    assert odds_score([2.0]) == pytest.approx(100 * 2 / 3, abs=0.01)
    assert odds_score([2.0, 2.0]) == 80.0
    assert odds_score([1.0], weight=9.0) == 90.0
    # Unbounded or broken ratios stay inside [0, 100].
    assert 0.0 <= odds_score([math.inf, 1e30]) <= 100.0
    assert odds_score([math.nan]) >= 0.0 and odds_score([0.0]) >= 0.0


def test_given_columns_then_key_codes_number_distinct_tuples_densely():
    a = np.array([5, 5, 7, 7, 5], dtype=np.int64)
    c = np.array([1, 2, 1, 1, 1], dtype=np.int64)
    codes = key_codes(a, c)
    assert codes.tolist() == [0, 1, 2, 2, 0]


def test_given_random_rows_then_window_ranges_match_a_loop():
    rng = np.random.default_rng(3)
    key = rng.integers(0, 4, 300).astype(np.int64)
    ts = rng.integers(0, 1_000, 300).astype(np.int64)
    qk = rng.integers(0, 5, 50).astype(np.int64)
    lo = rng.integers(-50, 1_000, 50).astype(np.int64)
    hi = lo + rng.integers(0, 200, 50)
    order, start, stop = window_ranges(key, ts, qk, lo, hi)
    q, pos = ranges_expand(start, stop)
    for k in range(50):
        want = sorted(np.flatnonzero((key == qk[k]) & (ts >= lo[k]) & (ts <= hi[k])).tolist())
        assert sorted(order[pos[q == k]].tolist()) == want


def test_given_segments_then_the_window_std_matches_numpy():
    values = np.array([0.01, -0.02, np.nan, 0.03, 0.0, 0.02, -0.01, 0.04], dtype=np.float64)
    seg = segment_starts(np.array([1, 1, 1, 1, 2, 2, 2, 2], dtype=np.int64))
    got = window_std(values, seg, np.array([3, 7, 5, -1], dtype=np.int64), window=3, min_obs=2)
    assert got[0] == pytest.approx(np.std([-0.02, 0.03], ddof=1))  # rows 1..3, the NaN skipped
    assert got[1] == pytest.approx(np.std([0.02, -0.01, 0.04], ddof=1))  # the second segment only
    # Row 5: its window reaches back to row 3, but the segment starts at row 4.
    assert got[2] == pytest.approx(np.std([0.0, 0.02], ddof=1))
    assert math.isnan(got[3])  # no row
    assert math.isnan(window_std(values, seg, np.array([5], dtype=np.int64), window=3, min_obs=3)[0])


def test_given_prints_and_quotes_then_the_last_one_in_force_is_found():
    tape = b.tape(
        [
            {"instrument": 1, "t": 10, "price": 5.0, "quantity": 1},
            {"instrument": 2, "t": 20, "price": 7.0, "quantity": 1},
        ]
    )
    got = last_print_at(tape, np.array([1, 1, 2, 3]), np.array([b.at(5), b.at(30), b.at(30), b.at(30)]))
    assert math.isnan(got[0]) and got[1] == 5.0 and got[2] == 7.0 and math.isnan(got[3])
    quotes = b.quotes([{"t": 0, "bid": 9.99, "ask": 10.01}, {"t": 60, "bid": 9.98, "ask": 10.02}])
    assert spread_at(quotes, np.array([1, 1]), np.array([b.at(30), b.at(90)])) == pytest.approx([0.02, 0.04])
