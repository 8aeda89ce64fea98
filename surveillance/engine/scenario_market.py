"""The synthetic market the scenario generator writes into: calendar, prices, quotes, tape and orders.

Pure numpy, built on ``portfolios.engine.synthetic`` (``quote_day``, ``tape_day``, ``stream_rng``).
Used only by ``surveillance.engine.scenarios``; see that module for the big picture.

Orders are described compactly, one row per order with at most one replace, two fills and a
cancel (``OrderBatch``); ``OrderSink.events`` expands them into the shared order-event layout of
``surveillance.engine.types`` (``new`` → ``replace`` → ``partial_fill``/``fill`` → ``cancel``).
Times are µs since the epoch (UTC); sides are +1 buy / −1 sell; quantities are whole shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from portfolios.engine.synthetic import QuotePath, tape_day
from surveillance.engine.types import (
    US_PER_SECOND,
    EventKind,
    FloatArray,
    Int8Array,
    IntArray,
)

AnyArray = npt.NDArray[Any]

TICK = 0.01
LOT = 100


@dataclass(frozen=True)
class Episode:
    """One injected abuse, the ground truth a detection is scored against.

    ``account`` is the account that carries the abuse (the spoofer, the insider, the front
    runner...); any account of its group counts as a match. ``start_us``/``end_us`` span the
    episode's own orders and trades (for insider dealing, up to the announcement).
    ``knobs`` records the drawn magnitudes (e.g. ``spoof_size_x``), for reports and tests.
    """

    scenario: str
    account: int
    instrument: int
    start_us: int
    end_us: int
    severity: str
    order_ids: tuple[int, ...] = ()
    trade_ids: tuple[int, ...] = ()
    knobs: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PriceEffect:
    """A move of an instrument's log price that ramps linearly over [start_us, end_us] on one
    day and holds to the close (the day's close and daily bar carry it). ``permanent`` moves
    shift every later day too (news, impact, a marked close); the others fade by the next
    session's close (a pump's rise, dumped)."""

    instrument: int
    day: int
    start_us: int
    end_us: int
    log_move: float
    permanent: bool


@dataclass(frozen=True)
class VolumeSurge:
    """Extra prints on the tape over [start_us, end_us]: ``extra_share`` of the instrument's
    average daily volume, with prints ``size_x`` times the usual size."""

    instrument: int
    start_us: int
    end_us: int
    extra_share: float
    size_x: float = 1.0


def _ints(n: int, value: int = -1) -> IntArray:
    return np.full(n, value, dtype=np.int64)


def _floats(n: int, value: float = np.nan) -> FloatArray:
    return np.full(n, value, dtype=np.float64)


@dataclass
class OrderBatch:
    """Orders as columns. ``-1`` times mean "no such event"; ``limit`` NaN is a market order;
    ``f*_cp`` is the internal counterparty account of a fill (−1 when the market)."""

    account: IntArray
    instrument: IntArray
    side: Int8Array
    arrival: IntArray
    qty: FloatArray
    limit: FloatArray
    replace_us: IntArray
    replace_limit: FloatArray
    f1_us: IntArray
    f1_px: FloatArray
    f1_qty: FloatArray
    f1_cp: IntArray
    f2_us: IntArray
    f2_px: FloatArray
    f2_qty: FloatArray
    f2_cp: IntArray
    cancel_us: IntArray
    tmp_id: IntArray

    @staticmethod
    def empty(n: int) -> OrderBatch:
        """``n`` blank orders (no events beyond ``new``) to be filled in by the caller."""
        return OrderBatch(
            account=_ints(n),
            instrument=_ints(n),
            side=np.ones(n, dtype=np.int8),
            arrival=_ints(n),
            qty=_floats(n, 0.0),
            limit=_floats(n),
            replace_us=_ints(n),
            replace_limit=_floats(n),
            f1_us=_ints(n),
            f1_px=_floats(n),
            f1_qty=_floats(n, 0.0),
            f1_cp=_ints(n),
            f2_us=_ints(n),
            f2_px=_floats(n),
            f2_qty=_floats(n, 0.0),
            f2_cp=_ints(n),
            cancel_us=_ints(n),
            tmp_id=_ints(n),
        )

    def __len__(self) -> int:
        return int(self.arrival.shape[0])

    @staticmethod
    def concat(batches: list[OrderBatch]) -> OrderBatch:
        if not batches:
            return OrderBatch.empty(0)
        names = [f.name for f in fields(OrderBatch)]
        return OrderBatch(**{name: np.concatenate([getattr(b, name) for b in batches]) for name in names})


@dataclass
class Market:
    """Calendar, calibrated prices and the per-instrument quote and tape arrays being built.

    ``days[d]`` is window day ``d`` (days since the epoch); ``open_us``/``close_us`` its session.
    ``adv`` is the average daily volume in shares the tape is generated to; ``vol`` the daily
    volatility (std of daily log returns) measured on the history before the window.
    """

    seed: int
    hist_days: IntArray
    days: IntArray
    open_us: IntArray
    close_us: IntArray
    hist_close: FloatArray
    base_close: FloatArray
    vol: FloatArray
    adv: FloatArray
    activity: float
    effects: list[PriceEffect] = field(default_factory=list)
    surges: list[VolumeSurge] = field(default_factory=list)
    news: list[tuple[int, int, bool]] = field(default_factory=list)
    day_close: FloatArray = field(default_factory=lambda: np.empty((0, 0)))
    q_ts: list[IntArray] = field(default_factory=list)
    q_bid: list[FloatArray] = field(default_factory=list)
    q_ask: list[FloatArray] = field(default_factory=list)
    q_bid_size: list[FloatArray] = field(default_factory=list)
    q_ask_size: list[FloatArray] = field(default_factory=list)
    t_ts: list[IntArray] = field(default_factory=list)
    t_price: list[FloatArray] = field(default_factory=list)
    t_qty: list[FloatArray] = field(default_factory=list)

    @property
    def n_instruments(self) -> int:
        return int(self.base_close.shape[0])

    @property
    def n_days(self) -> int:
        return int(self.days.shape[0])

    def day_of(self, ts_us: IntArray) -> IntArray:
        """Window-day index of each timestamp (clipped to the window)."""
        d = np.searchsorted(self.open_us, ts_us, side="right") - 1
        return np.clip(d, 0, self.n_days - 1).astype(np.int64)

    def session_of(self, ts_us: int) -> int:
        """The session a time belongs to or leads up to (before the open counts for that day)."""
        return min(int(np.searchsorted(self.close_us, ts_us, side="left")), self.n_days - 1)

    def quote_index(self, instrument: int, ts_us: IntArray) -> IntArray:
        """Index of the quote in force at each time (the day's first quote before the open)."""
        qi = np.searchsorted(self.q_ts[instrument], ts_us, side="right") - 1
        return np.maximum(qi, 0).astype(np.int64)

    def touch(self, instrument: int, ts_us: IntArray, side: Int8Array) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(near, far, far_size) at each time for an order of ``side``: the near touch is the
        bid for a buy, the far touch the ask a buyer pays."""
        qi = self.quote_index(instrument, ts_us)
        bid, ask = self.q_bid[instrument][qi], self.q_ask[instrument][qi]
        buy = side > 0
        near = np.where(buy, bid, ask)
        far = np.where(buy, ask, bid)
        far_size = np.where(buy, self.q_ask_size[instrument][qi], self.q_bid_size[instrument][qi])
        return near, far, far_size

    def mid_at(self, instrument: int, ts_us: int) -> float:
        qi = int(self.quote_index(instrument, np.array([ts_us], dtype=np.int64))[0])
        return float(0.5 * (self.q_bid[instrument][qi] + self.q_ask[instrument][qi]))

    def tape_volume(self, instrument: int, start_us: int, end_us: int) -> float:
        """Shares printed on the (background) tape in [start_us, end_us)."""
        ts = self.t_ts[instrument]
        lo, hi = np.searchsorted(ts, [start_us, end_us], side="left")
        return float(self.t_qty[instrument][lo:hi].sum())

    def session_shift(self, day: int, ts_us: int, seconds: float) -> tuple[int, int]:
        """(day, time) ``seconds`` of session time away from ``ts_us`` on ``day`` (negative =
        earlier), walking over whole sessions; clipped to the window's first and last session."""
        t = int(ts_us) + int(seconds * US_PER_SECOND)
        d = int(day)
        while t < int(self.open_us[d]) and d > 0:
            t = int(self.close_us[d - 1]) - (int(self.open_us[d]) - t)
            d -= 1
        while t > int(self.close_us[d]) and d < self.n_days - 1:
            t = int(self.open_us[d + 1]) + (t - int(self.close_us[d]))
            d += 1
        return d, int(np.clip(t, int(self.open_us[d]) + 1, int(self.close_us[d]) - 1))


def quotes_shift(quotes: QuotePath, factor: FloatArray) -> QuotePath:
    """The quote path scaled by ``factor`` per quote, bid/ask pushed outward onto the tick grid."""
    mid = quotes.mid * factor
    bid_t = np.maximum(np.floor(quotes.bid * factor / TICK + 1e-9), 1.0)
    ask_t = np.maximum(np.ceil(quotes.ask * factor / TICK - 1e-9), bid_t + 1.0)
    return QuotePath(
        ts_us=quotes.ts_us,
        mid=mid,
        bid=np.round(bid_t * TICK, 8),
        ask=np.round(ask_t * TICK, 8),
        bid_size=quotes.bid_size,
        ask_size=quotes.ask_size,
    )


def quotes_window(quotes: QuotePath, start_us: int, end_us: int) -> QuotePath:
    """The part of a quote path inside [start_us, end_us] as its own path (first quote moved to
    ``start_us``, a last one at ``end_us``), so ``tape_day`` can print inside a sub-window."""
    lo = max(0, int(np.searchsorted(quotes.ts_us, start_us, side="right")) - 1)
    hi = int(np.searchsorted(quotes.ts_us, end_us, side="left"))
    idx = np.concatenate(([lo], np.arange(lo + 1, hi), [max(hi - 1, lo)])).astype(np.int64)
    ts = np.concatenate(([start_us], quotes.ts_us[lo + 1 : hi], [end_us])).astype(np.int64)
    return QuotePath(
        ts_us=ts,
        mid=quotes.mid[idx],
        bid=quotes.bid[idx],
        ask=quotes.ask[idx],
        bid_size=quotes.bid_size[idx],
        ask_size=quotes.ask_size[idx],
    )


def window_prints(
    rng: np.random.Generator, quotes: QuotePath, start_us: int, end_us: int, volume: float, lot: int = LOT
) -> tuple[IntArray, FloatArray, FloatArray]:
    """About ``volume`` shares of extra prints in [start_us, end_us] around the quotes in force."""
    mean_print = lot * 2 * float(np.exp(0.5))  # log-normal around two lots, σ = 1 (tape_day)
    n = int(min(max(volume / mean_print, 0.0), (end_us - start_us - 2) // 2))
    if n <= 0 or end_us - start_us < 10:
        return np.empty(0, np.int64), np.empty(0), np.empty(0)
    sub = quotes_window(quotes, start_us, end_us)
    tape = tape_day(rng, sub, n_prints=n, lot=lot)
    return tape.ts_us.astype(np.int64), tape.price.astype(np.float64), tape.quantity.astype(np.float64)


@dataclass
class OrderSink:
    """Collects order batches from the background flow and the episodes, hands out temporary
    ids (episodes keep them; final ids follow arrival time, as a database sequence would)."""

    batches: list[OrderBatch] = field(default_factory=list)
    next_tmp: int = 0

    def add(self, batch: OrderBatch) -> IntArray:
        batch.tmp_id = np.arange(self.next_tmp, self.next_tmp + len(batch), dtype=np.int64)
        self.next_tmp += len(batch)
        self.batches.append(batch)
        return batch.tmp_id

    def add_one(
        self,
        *,
        account: int,
        instrument: int,
        side: int,
        arrival_us: int,
        qty: float,
        limit: float,
        fills: Sequence[tuple[int, float, float, int]] = (),
        cancel_us: int = -1,
        replace: tuple[int, float] | None = None,
    ) -> int:
        """One order with up to two fills ``(ts_us, price, qty, counterparty)``; returns its
        temporary id. A cancel is added at ``cancel_us`` when the fills leave some open."""
        b = OrderBatch.empty(1)
        b.account[0], b.instrument[0], b.side[0] = account, instrument, side
        b.arrival[0], b.qty[0], b.limit[0] = arrival_us, qty, limit
        if replace is not None:
            b.replace_us[0], b.replace_limit[0] = replace
        if len(fills) > 2:
            raise ValueError("an order row carries at most two fills")
        for k, (ts, px, q, cp) in enumerate(fills):
            if k == 0:
                b.f1_us[0], b.f1_px[0], b.f1_qty[0], b.f1_cp[0] = ts, px, q, cp
            else:
                b.f2_us[0], b.f2_px[0], b.f2_qty[0], b.f2_cp[0] = ts, px, q, cp
        if sum(f[2] for f in fills) < qty:
            b.cancel_us[0] = cancel_us
        return int(self.add(b)[0])

    def all(self) -> OrderBatch:
        return OrderBatch.concat(self.batches)


def orders_expand(b: OrderBatch, order_id: IntArray) -> tuple[dict[str, AnyArray], dict[str, AnyArray]]:
    """Order rows → (order events, our trades) as column dicts, unsorted.

    ``order_id`` gives each row's final id. Event price is the limit in force (the fill price
    for fills); ``quantity`` the order's total for new/replace, the filled amount for fills,
    the open quantity removed for a cancel.
    """
    n = len(b)
    filled1 = np.where(b.f1_us >= 0, b.f1_qty, 0.0)
    filled2 = np.where(b.f2_us >= 0, b.f2_qty, 0.0)
    has_r, has_1, has_2 = b.replace_us >= 0, b.f1_us >= 0, b.f2_us >= 0
    has_c = (b.cancel_us >= 0) & (filled1 + filled2 < b.qty)
    limit_now = np.where(has_r, b.replace_limit, b.limit)
    parts: list[tuple[AnyArray, int | Int8Array, IntArray, FloatArray, FloatArray]] = [
        (np.ones(n, bool), int(EventKind.NEW), b.arrival, b.limit, b.qty),
        (has_r, int(EventKind.REPLACE), b.replace_us, b.replace_limit, b.qty),
        (
            has_1,
            np.where(filled1 >= b.qty, EventKind.FILL, EventKind.PARTIAL_FILL).astype(np.int8),
            b.f1_us,
            b.f1_px,
            filled1,
        ),
        (
            has_2,
            np.where(filled1 + filled2 >= b.qty, EventKind.FILL, EventKind.PARTIAL_FILL).astype(np.int8),
            b.f2_us,
            b.f2_px,
            filled2,
        ),
        (has_c, int(EventKind.CANCEL), b.cancel_us, limit_now, b.qty - filled1 - filled2),
    ]
    cols: dict[str, list[AnyArray]] = {
        k: []
        for k in ("order_id", "account", "instrument", "side", "kind", "ts_us", "price", "quantity", "order_quantity")
    }
    for mask, kind, ts, price, qty in parts:
        m = np.asarray(mask, dtype=bool)
        cols["order_id"].append(order_id[m])
        cols["account"].append(b.account[m])
        cols["instrument"].append(b.instrument[m])
        cols["side"].append(b.side[m])
        kinds = np.full(n, kind, dtype=np.int8) if isinstance(kind, int) else kind
        cols["kind"].append(kinds[m])
        cols["ts_us"].append(ts[m])
        cols["price"].append(price[m])
        cols["quantity"].append(qty[m])
        cols["order_quantity"].append(b.qty[m])
    events = {k: np.concatenate(v) for k, v in cols.items()}
    tcols: dict[str, list[AnyArray]] = {
        k: [] for k in ("order_id", "account", "counterparty", "instrument", "side", "ts_us", "price", "quantity")
    }
    for m, ts, px, q, cp in ((has_1, b.f1_us, b.f1_px, filled1, b.f1_cp), (has_2, b.f2_us, b.f2_px, filled2, b.f2_cp)):
        tcols["order_id"].append(order_id[m])
        tcols["account"].append(b.account[m])
        tcols["counterparty"].append(cp[m])
        tcols["instrument"].append(b.instrument[m])
        tcols["side"].append(b.side[m])
        tcols["ts_us"].append(ts[m])
        tcols["price"].append(px[m])
        tcols["quantity"].append(q[m])
    trades = {k: np.concatenate(v) for k, v in tcols.items()}
    return events, trades
