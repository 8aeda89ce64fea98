"""Shared columnar mechanics for the order-based detectors: one row per order, dense keys,
quote and trade look-ups by key and time. Pure numpy, no Python loop over events.

Everything here is O(n) or O(n log n) over the events and is written so that a detector can
reduce a million events to a few candidate orders before it does any per-episode work.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from surveillance.engine.types import (
    US_PER_DAY,
    BoolArray,
    EventKind,
    FloatArray,
    Int8Array,
    IntArray,
    OrderEvents,
    Quotes,
    SurveillanceData,
    Trades,
)

# A direct-address table is used for order ids when their range is at most this many slots
# per event (database primary keys are dense); otherwise ids are ranked with a sort.
_DIRECT_SLOTS_PER_EVENT = 4


def dense_codes(values: IntArray) -> tuple[IntArray, IntArray]:
    """``(uniques, codes)`` with ``uniques[codes] == values``; ``uniques`` sorted.

    Non-negative ids with a modest range (primary keys) take an O(n + range) path with
    ``bincount`` instead of the sort ``np.unique`` needs.
    """
    values = np.asarray(values, dtype=np.int64)
    if values.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    lo, hi = int(values.min()), int(values.max())
    if lo >= 0 and hi - lo <= _DIRECT_SLOTS_PER_EVENT * values.size + 1_000_000:
        present = np.bincount(values - lo, minlength=hi - lo + 1) > 0
        lookup = np.cumsum(present) - 1
        return (np.flatnonzero(present) + lo).astype(np.int64), lookup[values - lo].astype(np.int64)
    uniques, codes = np.unique(values, return_inverse=True)
    return uniques.astype(np.int64), codes.astype(np.int64).ravel()


def small_stable_argsort(codes: IntArray, n_codes: int) -> IntArray:
    """Stable argsort of non-negative ``codes`` < ``n_codes``: a radix sort when they fit in
    16 bits (linear time), else numpy's stable sort. Stability keeps time order within a key."""
    if n_codes <= np.iinfo(np.uint16).max:
        return np.argsort(codes.astype(np.uint16), kind="stable").astype(np.int64)
    return np.argsort(codes, kind="stable").astype(np.int64)


@dataclass(frozen=True)
class OrderLives:
    """One row per order that has its ``new`` event in the data, in placement order.

    ``ended_us`` is the terminal event's time (cancel, fill or reject), or the last event's
    time when the order is still working at the end of the data. ``quantity`` is the largest
    total quantity the order showed (new or replaced); ``price`` the limit at placement
    (NaN for a market order); ``filled`` the executed quantity; ``row`` and ``end_row`` the
    rows of the ``new`` and the last event in the input; ``closed`` is False for an order still
    working at the end of the data (no fill, cancel or reject yet). Because events are sorted by
    time, row numbers are time ranks: comparing rows compares times, ties broken by order id.
    """

    order_id: IntArray
    account: IntArray
    instrument: IntArray
    side: Int8Array
    placed_us: IntArray
    ended_us: IntArray
    cancelled: BoolArray
    price: FloatArray
    quantity: FloatArray
    filled: FloatArray
    row: IntArray
    end_row: IntArray
    closed: BoolArray

    def __len__(self) -> int:
        return int(self.order_id.shape[0])

    @cached_property
    def typical_by_instrument(self) -> tuple[IntArray, FloatArray]:
        """``(instruments, typical order size)``; see ``typical_size``."""
        return typical_size(self.instrument, self.quantity)

    @cached_property
    def typical(self) -> FloatArray:
        """The typical order size of each order's instrument."""
        inst_u, typ = self.typical_by_instrument
        return lookup(inst_u, typ, self.instrument, 1.0)

    def take(self, index: IntArray | BoolArray) -> OrderLives:
        """The rows at ``index`` (positions or a mask)."""
        return OrderLives(
            order_id=self.order_id[index],
            account=self.account[index],
            instrument=self.instrument[index],
            side=self.side[index],
            placed_us=self.placed_us[index],
            ended_us=self.ended_us[index],
            cancelled=self.cancelled[index],
            price=self.price[index],
            quantity=self.quantity[index],
            filled=self.filled[index],
            row=self.row[index],
            end_row=self.end_row[index],
            closed=self.closed[index],
        )


_LAST_LIVES: list[tuple[weakref.ref[OrderEvents], OrderLives]] = []


def order_lives(events: OrderEvents) -> OrderLives:
    """One row per order (see ``OrderLives``), computed once per ``OrderEvents`` object.

    Every order-based detector starts here, so the last result is kept for the same (unchanged,
    as detectors never mutate inputs) events object: a full pass runs it once, not per detector.
    """
    if _LAST_LIVES and _LAST_LIVES[0][0]() is events:
        return _LAST_LIVES[0][1]
    lives = _order_lives(events)
    _LAST_LIVES[:] = [(weakref.ref(events), lives)]
    return lives


def _order_lives(events: OrderEvents) -> OrderLives:
    """Each order has one ``new`` and at most one terminal event, so both are found by writing
    row numbers into a table addressed by order id, and fills summed with ``bincount``: no sort."""
    n = len(events)
    if n == 0:
        empty_i = np.empty(0, np.int64)
        empty_f = np.empty(0, np.float64)
        return OrderLives(
            empty_i, empty_i, empty_i, np.empty(0, np.int8), empty_i, empty_i, np.empty(0, np.bool_),
            empty_f, empty_f, empty_f, empty_i, empty_i, np.empty(0, np.bool_),
        )  # fmt: skip
    lo, hi = int(events.order_id.min()), int(events.order_id.max())
    if lo >= 0 and hi - lo <= _DIRECT_SLOTS_PER_EVENT * n:
        slot = events.order_id - lo  # primary keys are dense: address by id directly
    else:
        _, slot = dense_codes(events.order_id)
    n_slots = int(slot.max()) + 1
    kind = events.kind
    rows = np.arange(n, dtype=np.int64)
    new_rows = np.flatnonzero(kind == EventKind.NEW)
    terminal = (kind == EventKind.CANCEL) | (kind == EventKind.FILL) | (kind == EventKind.REJECT)
    # Last event per order: rows are in time order, so the highest row written wins.
    last_row = np.full(n_slots, -1, np.int64)
    last_row[slot] = rows
    term_row = np.full(n_slots, -1, np.int64)
    term_row[slot[terminal]] = rows[terminal]
    is_fill = (kind == EventKind.FILL) | (kind == EventKind.PARTIAL_FILL)
    filled_by_slot = np.bincount(slot[is_fill], weights=events.quantity[is_fill], minlength=n_slots).astype(np.float64)

    s = slot[new_rows]
    end_rows = np.where(term_row[s] >= 0, term_row[s], last_row[s])
    return OrderLives(
        order_id=events.order_id[new_rows],
        account=events.account[new_rows],
        instrument=events.instrument[new_rows],
        side=events.side[new_rows],
        placed_us=events.ts_us[new_rows],
        ended_us=events.ts_us[end_rows],
        cancelled=kind[end_rows] == EventKind.CANCEL,
        price=events.price[new_rows],
        quantity=np.maximum(events.order_quantity[new_rows], events.order_quantity[end_rows]),
        filled=filled_by_slot[s],
        row=new_rows,
        end_row=end_rows,
        closed=term_row[s] >= 0,
    )


def end_ranks(lives: OrderLives, n: int) -> IntArray:
    """Ranks at which each order stops resting: its last row, or for an order still open at the
    end of the data a distinct rank past every event (``n``, ``n + 1``, ...)."""
    still_open = ~lives.closed
    out = lives.end_row.copy()
    out[still_open] = n + np.arange(int(still_open.sum()))
    return out


def lives_index(lives: OrderLives, order_ids: IntArray) -> IntArray:
    """Position in ``lives`` of each order id, -1 when absent (e.g. a trade with no order)."""
    out = np.full(order_ids.size, -1, np.int64)
    if len(lives) == 0 or order_ids.size == 0:
        return out
    lo, hi = int(lives.order_id.min()), int(lives.order_id.max())
    if hi - lo <= _DIRECT_SLOTS_PER_EVENT * len(lives) + 1_000_000:
        table = np.full(hi - lo + 1, -1, np.int64)
        table[lives.order_id - lo] = np.arange(len(lives))
        inside = (order_ids >= lo) & (order_ids <= hi)
        out[inside] = table[order_ids[inside] - lo]
        return out
    order = np.argsort(lives.order_id)
    pos = np.minimum(np.searchsorted(lives.order_id, order_ids, sorter=order), len(lives) - 1)
    found = lives.order_id[order[pos]] == order_ids
    out[found] = order[pos[found]]
    return out


def typical_size(instrument: IntArray, quantity: FloatArray) -> tuple[IntArray, FloatArray]:
    """Typical order size per instrument: the geometric mean of order quantities.

    The geometric mean (mean of logs) is computed in one ``bincount`` pass and, like the
    median, is barely moved by the few very large orders a detector is looking for.
    Returns ``(instruments, typical)`` sorted by instrument.
    """
    uniques, codes = dense_codes(instrument)
    q = np.maximum(quantity, 1.0)
    sums = np.bincount(codes, weights=np.log(q), minlength=uniques.size)
    counts = np.bincount(codes, minlength=uniques.size)
    return uniques, np.exp(sums / np.maximum(counts, 1))


def lookup(keys: IntArray, values: FloatArray, wanted: IntArray, missing: float = np.nan) -> FloatArray:
    """``values`` at the positions of ``wanted`` in sorted ``keys``; ``missing`` when absent."""
    if keys.size == 0:
        return np.full(wanted.shape, missing)
    pos = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
    return np.where(keys[pos] == wanted, values[pos], missing)


@dataclass(frozen=True)
class Touch:
    """The best bid and offer in force at given instants (NaN where no quote is known)."""

    bid: FloatArray
    ask: FloatArray
    bid_size: FloatArray
    ask_size: FloatArray

    def same_side(self, side: Int8Array) -> tuple[FloatArray, FloatArray]:
        """Price and displayed size of the touch on ``side`` (bid for buys, ask for sells)."""
        buy = side > 0
        return np.where(buy, self.bid, self.ask), np.where(buy, self.bid_size, self.ask_size)

    @property
    def mid(self) -> FloatArray:
        return (self.bid + self.ask) / 2.0


def _time_keys(inst_code: IntArray, ts_us: IntArray, t0: int, span: int) -> IntArray:
    return inst_code * span + (ts_us - t0)


def touch_at(quotes: Quotes, instrument: IntArray, ts_us: IntArray) -> Touch:
    """The quote in force for each ``(instrument, ts_us)`` pair: the last quote of that
    instrument at or before the instant. Works on one combined sorted key, so the cost is one
    sort of the quotes plus a binary search per asked instant."""
    m = instrument.size
    nan = np.full(m, np.nan)
    if len(quotes) == 0 or m == 0:
        return Touch(nan, nan.copy(), nan.copy(), nan.copy())
    inst_u, q_code = dense_codes(quotes.instrument)
    t0 = int(min(int(quotes.ts_us.min()), int(ts_us.min())))
    span = int(max(int(quotes.ts_us.max()), int(ts_us.max()))) - t0 + 2
    order = small_stable_argsort(q_code, inst_u.size)
    keys = _time_keys(q_code[order], quotes.ts_us[order], t0, span)
    pos = np.minimum(np.searchsorted(inst_u, instrument), inst_u.size - 1)
    known = inst_u[pos] == instrument
    wanted = _time_keys(pos, ts_us, t0, span)
    at = np.searchsorted(keys, wanted, side="right") - 1
    ok = known & (at >= 0)
    at_c = np.maximum(at, 0)
    ok &= q_code[order][at_c] == pos
    rows = order[at_c]

    def pick(col: FloatArray) -> FloatArray:
        return np.where(ok, col[rows], np.nan)

    return Touch(pick(quotes.bid), pick(quotes.ask), pick(quotes.bid_size), pick(quotes.ask_size))


@dataclass(frozen=True)
class TradeIndex:
    """Trades sorted by (key, time) for fast "trades of this key within [t0, t1]" queries.

    ``key`` is any int64 the caller builds (e.g. group × instrument × side); ``rows`` map the
    sorted positions back to the rows of ``Trades``.
    """

    key: IntArray
    ts_us: IntArray
    rows: IntArray

    @staticmethod
    def build(key: IntArray, ts_us: IntArray, rows: IntArray) -> TradeIndex:
        order = np.lexsort((ts_us, key))
        return TradeIndex(key=key[order], ts_us=ts_us[order], rows=rows[order])

    def ranges(self, key: IntArray, t0_us: IntArray, t1_us: IntArray) -> tuple[IntArray, IntArray]:
        """``[lo, hi)`` positions of the trades with ``key`` and ``t0 ≤ ts ≤ t1``, per query."""
        first = np.searchsorted(self.key, key, side="left")
        last = np.searchsorted(self.key, key, side="right")
        lo = np.empty(key.size, np.int64)
        hi = np.empty(key.size, np.int64)
        # A binary search per query inside its key's block; queries are few (candidates).
        for j in range(key.size):
            a, b = int(first[j]), int(last[j])
            block = self.ts_us[a:b]
            lo[j] = a + int(np.searchsorted(block, t0_us[j], side="left"))
            hi[j] = a + int(np.searchsorted(block, t1_us[j], side="right"))
        return lo, hi


@dataclass(frozen=True)
class AliveCounter:
    """Counts intervals (order lives) alive at given instants, per key, without a loop.

    Times are event-row ranks (see ``OrderLives``). An interval ``[start, end)`` is alive at
    rank ``r`` when ``start ≤ r < end``; since ``start < end`` for every order,
    ``#alive = #(start ≤ r) − #(end ≤ r)``: one binary search each in the starts and the ends
    sorted by ``key·n + rank`` (int64 for any realistic size), from the key's block offset.
    Weights (quantities) work the same way through prefix sums.

    ``build`` needs dense keys (< ``n_keys``), starts in ascending order and distinct end ranks
    (true of order lives: one ``new`` row and one last row per order; give an order still open at
    the end of the data a distinct rank of ``n`` or more, see ``end_ranks``); it then sorts in
    linear time (a counting pass and a 16-bit radix sort).
    """

    starts: IntArray
    start_index: IntArray
    ends: IntArray
    offsets: IntArray
    start_cum: FloatArray
    end_cum: FloatArray
    n: int

    @staticmethod
    def build(
        key: IntArray, n_keys: int, start_rank: IntArray, end_rank: IntArray, weight: FloatArray, n: int
    ) -> AliveCounter:
        s_order = small_stable_argsort(key, n_keys)  # starts already ascending: stable keeps them so
        slot = np.full(max(n, int(end_rank.max()) + 1 if end_rank.size else 0), -1, np.int64)
        slot[end_rank] = np.arange(end_rank.size)
        by_end = slot[slot >= 0]
        e_order = by_end[small_stable_argsort(key[by_end], n_keys)]
        zero = np.zeros(1)
        n = max(n, int(end_rank.max()) + 1 if end_rank.size else n)
        return AliveCounter(
            starts=key[s_order] * n + start_rank[s_order],
            start_index=s_order,
            ends=key[e_order] * n + end_rank[e_order],
            offsets=np.concatenate([[0], np.cumsum(np.bincount(key, minlength=n_keys))]).astype(np.int64),
            start_cum=np.concatenate([zero, np.cumsum(weight[s_order])]),
            end_cum=np.concatenate([zero, np.cumsum(weight[e_order])]),
            n=n,
        )

    def alive(self, key: IntArray, rank: IntArray) -> tuple[IntArray, FloatArray]:
        """``(count, weight)`` of the intervals with ``key`` alive at ``rank``, per query."""
        needles = key * self.n + rank
        # Binary searches run several times faster on sorted needles (memory locality).
        order = np.argsort(needles) if needles.size > 64 else np.arange(needles.size)
        lo = self.offsets[key]
        s_hi = np.empty(needles.size, np.int64)
        e_hi = np.empty(needles.size, np.int64)
        s_hi[order] = np.searchsorted(self.starts, needles[order], side="right")
        e_hi[order] = np.searchsorted(self.ends, needles[order], side="right")
        count = s_hi - e_hi
        weight = (self.start_cum[s_hi] - self.start_cum[lo]) - (self.end_cum[e_hi] - self.end_cum[lo])
        return count, weight

    def started(self, key: IntArray, rank: IntArray) -> tuple[IntArray, IntArray]:
        """``[lo, hi)`` positions in ``starts`` of the intervals with ``key`` started by ``rank``;
        ``start_index[lo:hi]`` are their positions in the arrays given to ``build``."""
        return self.offsets[key], np.searchsorted(self.starts, key * self.n + rank, side="right").astype(np.int64)


def group_codes(data: SurveillanceData, *accounts: IntArray) -> tuple[list[IntArray], int]:
    """Dense beneficial-owner group codes (``0 … n_codes−1``) for each array of account ids;
    accounts missing from ``data.accounts`` are each a group of their own.

    A direct table over account ids replaces the sort a join would need (ids are primary keys).
    """
    acc = data.accounts
    sizes = [a.size for a in accounts]
    ids = np.concatenate(accounts) if accounts else np.empty(0, np.int64)
    if ids.size == 0:
        return [np.empty(0, np.int64) for _ in accounts], 0
    g_u, g_code = dense_codes(acc.group) if len(acc) else (np.empty(0, np.int64), np.empty(0, np.int64))
    lo = int(min(ids.min(), acc.account_id.min() if len(acc) else ids.min()))
    hi = int(max(ids.max(), acc.account_id.max() if len(acc) else ids.max()))
    if lo >= 0 and hi - lo <= _DIRECT_SLOTS_PER_EVENT * ids.size + 1_000_000:
        table = np.full(hi - lo + 1, -1, np.int64)
        table[acc.account_id - lo] = g_code
        codes = table[ids - lo]
    else:
        pos = acc.index_of(ids) if len(acc) else np.zeros(ids.size, np.int64)
        known = acc.account_id[pos] == ids if len(acc) else np.zeros(ids.size, np.bool_)
        codes = np.where(known, g_code[pos] if len(acc) else -1, -1)
    n_codes = int(g_u.size)
    missing = codes < 0
    if missing.any():
        extra_u, extra = dense_codes(ids[missing])
        codes[missing] = n_codes + extra
        n_codes += int(extra_u.size)
    out = np.split(codes, np.cumsum(sizes)[:-1])
    return out, n_codes


def trade_groups(data: SurveillanceData, trades: Trades | None = None) -> IntArray:
    """Beneficial-owner group of each trade's account (the account itself when unknown)."""
    t = data.trades if trades is None else trades
    if len(data.accounts) == 0:
        return t.account.copy()
    known = np.isin(t.account, data.accounts.account_id)
    return np.where(known, data.accounts.group_of(t.account), -1 - t.account)


def account_groups(data: SurveillanceData, accounts: IntArray) -> IntArray:
    """Beneficial-owner group of each account id; an unknown account is a group of its own
    (a negative number that cannot collide with a real group)."""
    if len(data.accounts) == 0:
        return -1 - accounts
    known = np.isin(accounts, data.accounts.account_id)
    return np.where(known, data.accounts.group_of(accounts), -1 - accounts)


def trades_in_windows(
    data: SurveillanceData,
    *,
    group: IntArray,
    instrument: IntArray,
    side: IntArray | Int8Array,
    t0_us: IntArray,
    t1_us: IntArray,
) -> list[IntArray]:
    """Per query, the rows of ``data.trades`` by any account of ``group`` in ``instrument`` on
    ``side`` with ``t0 ≤ ts ≤ t1`` (time order). Meant for a few candidate queries: trades are
    first filtered to the queried groups and instruments, then indexed by a joint key."""
    m = group.size
    trades = data.trades
    if m == 0 or len(trades) == 0:
        return [np.empty(0, np.int64) for _ in range(m)]
    t_group = trade_groups(data)
    rows = np.flatnonzero(np.isin(t_group, group) & np.isin(trades.instrument, instrument))
    if rows.size == 0:
        return [np.empty(0, np.int64) for _ in range(m)]
    _, g_code = dense_codes(np.concatenate([t_group[rows], group]))
    i_u, i_code = dense_codes(np.concatenate([trades.instrument[rows], instrument]))
    side_bit = np.concatenate([trades.side[rows] > 0, np.asarray(side, np.int64) > 0]).astype(np.int64)
    key = (g_code * i_u.size + i_code) * 2 + side_bit
    index = TradeIndex.build(key[: rows.size], trades.ts_us[rows], rows)
    lo, hi = index.ranges(key[rows.size :], t0_us, t1_us)
    return [index.rows[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True)]


def session_day(ts_us: IntArray) -> IntArray:
    """Calendar day (days since the epoch, UTC) of each timestamp."""
    return ts_us // US_PER_DAY


def strength(value: FloatArray | float, threshold: float, full: float) -> FloatArray:
    """How far ``value`` is beyond ``threshold`` on the way to ``full``, clipped to [0, 1]
    (0 at the threshold, 1 at ``full``; works for falling scales where ``full < threshold``)."""
    span = full - threshold
    if span == 0:
        return np.asarray(np.asarray(value) >= threshold, dtype=np.float64)
    return np.clip((np.asarray(value, dtype=np.float64) - threshold) / span, 0.0, 1.0)
