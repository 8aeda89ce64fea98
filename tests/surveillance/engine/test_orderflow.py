"""Shared order-book mechanics (surveillance.engine.orderflow) against brute-force references.

Each vectorised routine is checked against a direct Python computation of the same definition
on small random inputs (the definitions are in the module's docstrings).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from surveillance.engine import orderflow as of
from tests.surveillance.engine import builders as b


def test_dense_codes_round_trip_on_both_paths() -> None:
    rng = np.random.default_rng(1)
    for values in (rng.integers(0, 50, 200), rng.integers(-(10**12), 10**12, 200)):  # direct / sorted
        uniques, codes = of.dense_codes(values)
        assert np.array_equal(uniques, np.unique(values))
        assert np.array_equal(uniques[codes], values)


def test_order_lives_summarise_each_order() -> None:
    # given one order partly filled then cancelled, one filled, one still working, one rejected
    rows = [
        *b.order_life(7, account=1, side="buy", at_s=1, price=10.0, quantity=500, fills=[(2, 10.0, 200)], cancel_s=3),
        *b.order_life(5, account=2, side="sell", at_s=1.5, price=None, quantity=100, fills=[(1.6, 10.1, 100)]),
        *b.order_life(9, account=3, side="buy", at_s=4, price=9.9, quantity=300),
        {"order_id": 11, "account": 3, "side": "buy", "kind": "new", "t": 5, "price": 9.0, "quantity": 50},
        {"order_id": 11, "account": 3, "side": "buy", "kind": "reject", "t": 5.1, "quantity": 0},
    ]
    lives = of.order_lives(b.order_events(rows))
    by_id = {int(o): k for k, o in enumerate(lives.order_id)}
    k = by_id[7]
    assert (lives.filled[k], lives.quantity[k], bool(lives.cancelled[k])) == (200.0, 500.0, True)
    assert lives.ended_us[k] - lives.placed_us[k] == 2_000_000
    assert lives.filled[by_id[5]] == 100 and not lives.cancelled[by_id[5]] and math.isnan(lives.price[by_id[5]])
    assert lives.ended_us[by_id[9]] == lives.placed_us[by_id[9]]  # still working: its last event
    assert not lives.cancelled[by_id[11]]
    assert list(lives.order_id) == [7, 5, 9, 11]  # placement order


def test_order_lives_is_computed_once_per_events_object() -> None:
    events = b.order_events(b.order_life(1, account=1, side="buy", at_s=0, price=1.0, quantity=1))
    assert of.order_lives(events) is of.order_lives(events)


def test_typical_size_is_the_geometric_mean() -> None:
    inst_u, typ = of.typical_size(np.array([1, 1, 1, 2]), np.array([100.0, 1_000.0, 10_000.0, 300.0]))
    assert list(inst_u) == [1, 2]
    assert typ == pytest.approx([1_000.0, 300.0])  # (100·1,000·10,000)^(1/3) = 1,000


def test_alive_counter_matches_brute_force() -> None:
    # given 120 order lives over 400 event ranks: ascending starts, distinct later end ranks
    rng = np.random.default_rng(7)
    n = 400
    starts = np.sort(rng.choice(n - 1, size=120, replace=False))
    taken: set[int] = set()
    pairs = []
    for r in starts.tolist():
        options = [e for e in range(r + 1, min(r + 60, n)) if e not in taken]
        if options:
            e = int(rng.choice(options))
            taken.add(e)
            pairs.append((r, e))
    rows = np.array([p[0] for p in pairs], np.int64)
    ends = np.array([p[1] for p in pairs], np.int64)
    key = rng.integers(0, 5, rows.size)
    weight = rng.uniform(1, 10, rows.size)
    counter = of.AliveCounter.build(key, 5, rows, ends, weight, n)
    q_key = rng.integers(0, 5, 300)
    q_rank = rng.integers(0, n, 300)
    count, qty = counter.alive(q_key, q_rank)
    for j in range(300):
        alive = (key == q_key[j]) & (rows <= q_rank[j]) & (ends > q_rank[j])
        assert count[j] == alive.sum()
        assert qty[j] == pytest.approx(weight[alive].sum())
    lo, hi = counter.started(q_key[:1], q_rank[:1])
    started = set(counter.start_index[lo[0] : hi[0]].tolist())
    assert started == set(np.flatnonzero((key == q_key[0]) & (rows <= q_rank[0])).tolist())


def test_touch_at_takes_the_last_quote_of_the_instrument() -> None:
    quotes = b.quotes(
        [
            {"instrument": 1, "t": 0, "bid": 9.9, "ask": 10.1, "bid_size": 100},
            {"instrument": 2, "t": 1, "bid": 19.9, "ask": 20.1},
            {"instrument": 1, "t": 2, "bid": 9.8, "ask": 10.0, "bid_size": 700},
        ]
    )
    touch = of.touch_at(quotes, np.array([1, 1, 2, 2, 3]), np.array([b.at(1), b.at(5), b.at(0.5), b.at(9), b.at(9)]))
    assert touch.bid[:2].tolist() == [9.9, 9.8] and touch.bid_size[1] == 700
    assert math.isnan(touch.bid[2]) and touch.ask[3] == 20.1  # before its first quote / later
    assert math.isnan(touch.mid[4])  # unknown instrument


def test_group_codes_join_linked_accounts_and_isolate_unknown_ones() -> None:
    data = b.market(account_rows=[{"account_id": 10, "group": 5}, {"account_id": 11, "group": 5}, {"account_id": 12}])
    (codes,), n = of.group_codes(data, np.array([10, 11, 12, 99, 98, 99]))
    assert codes[0] == codes[1] != codes[2]
    assert codes[3] == codes[5] and len({int(codes[2]), int(codes[3]), int(codes[4])}) == 3
    assert n == 4


def test_strength_is_a_clipped_linear_map_both_ways() -> None:
    assert of.strength(np.array([0.0, 5.0, 7.5, 10.0, 20.0]), 5.0, 10.0).tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]
    assert of.strength(np.array([40.0, 30.0, 15.0, 0.0]), 30.0, 0.0).tolist() == [0.0, 0.0, 0.5, 1.0]


def test_an_order_still_working_at_the_end_of_the_data_stays_alive() -> None:
    # given order 1 cancelled at t=2 and order 2 never closed
    rows = [
        *b.order_life(1, account=1, side="buy", at_s=0, price=10.0, quantity=100, cancel_s=2),
        *b.order_life(2, account=1, side="buy", at_s=1, price=10.0, quantity=300),
        *b.order_life(3, account=2, side="sell", at_s=3, price=10.1, quantity=50, fills=[(4, 10.1, 50)]),
    ]
    events = b.order_events(rows)
    lives = of.order_lives(events)
    assert lives.closed.tolist() == [True, False, True]
    n = len(events)
    counter = of.AliveCounter.build(np.zeros(3, np.int64), 1, lives.row, of.end_ranks(lives, n), lives.quantity, n)
    # then at the last event only order 2 rests (order 3 filled on that very event)
    count, qty = counter.alive(np.zeros(1, np.int64), np.array([n - 1]))
    assert (int(count[0]), float(qty[0])) == (1, 300.0)
