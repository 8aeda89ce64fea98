"""Benchmark prices of parent orders and slippage against them (docs/tca-methodology.md §Benchmarks).

For an order of ``side`` s arriving at ``a`` and ending (last fill or cancel) at ``e``:

- **Arrival price**: the mid (bid + ask)/2 of the last quote at or before ``a``.
- **Interval VWAP**: Σ pᵢqᵢ / Σ qᵢ over the public prints with a ≤ tᵢ ≤ e (both ends included).
- **TWAP**: the time average over [a, e] of the mid, each quote's mid held until the next quote:
  (1/(e − a)) ∫ₐᵉ mid(t) dt; for a zero-duration order, the arrival mid.
- **PWP** (participation-weighted price): the VWAP of the prints from ``a`` on until the tape
  has traded (filled quantity) / participation, the last print counted only in part so the
  window holds exactly that volume. The window may run past ``e`` (that is the point: what a
  patient order at that rate would have paid) but not past the order's UTC day.
- **Previous close, open, close**: from the daily bars (previous close = the last bar before
  the order's day).

Slippage: ``cost_bps = s · (p̄ − B)/B · 10⁴`` with p̄ the quantity-weighted average fill price;
fees are not in slippage (they are in implementation shortfall).

Prices are differenced against a per-instrument reference (its first price) before being summed,
so cumulative sums over millions of ticks keep their precision for short intervals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from execution_quality.engine.timeline import Located, Timeline, at_block, cumulative
from execution_quality.engine.types import (
    BPS,
    US_PER_DAY,
    BoolArray,
    DailyBars,
    FloatArray,
    IntArray,
    Quotes,
    Tape,
    TcaFlag,
)


def cost_bps(side: npt.ArrayLike, price: npt.ArrayLike, benchmark: npt.ArrayLike) -> FloatArray:
    """Slippage in bps, positive = cost to the client: side · (price − benchmark) / benchmark · 10⁴."""
    s = np.asarray(side, dtype=np.float64)
    p = np.asarray(price, dtype=np.float64)
    b = np.asarray(benchmark, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = s * (p - b) / b * BPS
    return out


# ---------------------------------------------------------------------------- prepared market data


@dataclass(frozen=True, eq=False)
class QuoteBook:
    """Quotes with mids and the running time-integral of the mid (for TWAP)."""

    timeline: Timeline
    bid: FloatArray
    ask: FloatArray
    mid: FloatArray
    ref: FloatArray  # per row: the first mid of its instrument
    integral: FloatArray  # Σ (mid − ref)·Δt (µs) restarting per instrument (Timeline.segmented_cumulative)

    @classmethod
    def build(cls, quotes: Quotes) -> QuoteBook:
        tl = Timeline.build(quotes.instrument, quotes.ts_us)
        mid = (quotes.bid + quotes.ask) * 0.5
        ref = mid[tl.block_of_rows()] if mid.size else mid
        dt = np.zeros(mid.size, dtype=np.float64)
        if mid.size > 1:
            dt[:-1] = np.diff(quotes.ts_us).astype(np.float64)
            dt[tl.stops - 1] = 0.0  # a quote does not hold into the next instrument's block
        return cls(tl, quotes.bid, quotes.ask, mid, ref, tl.segmented_cumulative((mid - ref) * dt))

    def last_at_or_before(
        self, located: Located, ts_us: IntArray, *, strict: bool = False
    ) -> tuple[IntArray, BoolArray]:
        """Row of the quote in force at ``ts_us`` (``strict``: strictly before) and whether one exists."""
        pos = self.timeline.search(located, ts_us, "left" if strict else "right") - 1
        ok = pos >= located.lo
        return np.where(ok, pos, 0), ok


@dataclass(frozen=True, eq=False)
class TapeBook:
    """Prints with running sums of (price − ref)·quantity and of quantity (for VWAP and PWP)."""

    timeline: Timeline
    price: FloatArray
    quantity: FloatArray
    dev: FloatArray  # price − ref
    cum_dev_q: FloatArray  # Σ (price − ref)·quantity restarting per instrument (segmented)
    seg_q: FloatArray  # Σ quantity restarting per instrument (segmented)
    cum_q: FloatArray  # Σ quantity over the whole tape, leading zero: non-decreasing, for one global search

    @classmethod
    def build(cls, tape: Tape) -> TapeBook:
        tl = Timeline.build(tape.instrument, tape.ts_us)
        dev = tape.price - tape.price[tl.block_of_rows()] if tape.price.size else tape.price
        return cls(
            tl,
            tape.price,
            tape.quantity,
            dev,
            tl.segmented_cumulative(dev * tape.quantity),
            tl.segmented_cumulative(tape.quantity),
            cumulative(tape.quantity),
        )

    def ref_at(self, lo: IntArray, has_rows: BoolArray) -> FloatArray:
        if self.price.size == 0:
            return np.full(lo.size, np.nan)
        return np.where(has_rows, self.price[np.minimum(lo, self.price.size - 1)], np.nan)


# ---------------------------------------------------------------------------- benchmarks


def interval_twap(
    book: QuoteBook, located: Located, start_us: IntArray, end_us: IntArray
) -> tuple[FloatArray, BoolArray]:
    """Time-weighted mid over [start, end] with each mid held to the next quote; (twap, has_quote).

    NaN when no quote is in force at ``start``; the arrival mid when ``end == start``.
    """
    ia, ok_a = book.last_at_or_before(located, start_us)
    ie, _ = book.last_at_or_before(located, end_us)
    n = book.mid.size
    if n == 0:
        return np.full(start_us.size, np.nan), ok_a
    ts = book.timeline.ts
    dev = book.mid - book.ref
    area = (
        at_block(book.integral, ie, located)
        - at_block(book.integral, ia, located)
        - dev[ia] * (start_us - ts[ia]).astype(np.float64)
        + dev[ie] * (end_us - ts[ie]).astype(np.float64)
    )
    span = (end_us - start_us).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        twap = np.where(span > 0, book.ref[ia] + area / span, book.mid[ia])
    return np.where(ok_a, twap, np.nan), ok_a


def interval_vwap(
    book: TapeBook, located: Located, start_us: IntArray, end_us: IntArray
) -> tuple[FloatArray, FloatArray]:
    """(VWAP, traded quantity) of the prints with start ≤ t ≤ end; VWAP NaN when nothing traded."""
    first = book.timeline.search(located, start_us, "left")
    stop = book.timeline.search(located, end_us, "right")
    volume = at_block(book.seg_q, stop, located) - at_block(book.seg_q, first, located)
    notional_dev = at_block(book.cum_dev_q, stop, located) - at_block(book.cum_dev_q, first, located)
    ref = book.ref_at(located.lo, located.hi > located.lo)
    with np.errstate(invalid="ignore", divide="ignore"):
        vwap = np.where(volume > 0, ref + notional_dev / volume, np.nan)
    return vwap, volume


def participation_weighted_price(
    book: TapeBook,
    located: Located,
    start_us: IntArray,
    quantity: FloatArray,
    participation: float,
    cap_us: IntArray,
) -> tuple[FloatArray, BoolArray]:
    """(PWP, short): VWAP from ``start`` until the tape traded ``quantity / participation``.

    The window stops at ``cap_us`` (exclusive; the end of the order's day). When the tape before
    the cap is too thin, the PWP is the VWAP of what did trade and ``short`` is True (NaN if
    nothing traded). The print that completes the target volume counts only in part.
    """
    first = book.timeline.search(located, start_us, "left")
    cap = book.timeline.search(located, cap_us, "left")
    target_volume = quantity / participation
    base = book.cum_q[first]
    target = base + target_volume
    # cum_q is non-decreasing over the whole tape, so one global search finds the crossing print;
    # a crossing beyond the cap (or in another instrument's block) means the window is short.
    m = np.searchsorted(book.cum_q, target, side="left")
    short = (m > cap) | ~(target_volume > 0)
    ref = book.ref_at(located.lo, located.hi > located.lo)
    # Short windows: everything up to the cap.
    vol_short = at_block(book.seg_q, cap, located) - at_block(book.seg_q, first, located)
    sum_short = at_block(book.cum_dev_q, cap, located) - at_block(book.cum_dev_q, first, located)
    # Full windows: prints first..m-2 whole, print m-1 for the rest of the target.
    if book.price.size:
        last = np.clip(m - 1, located.lo, np.maximum(located.hi - 1, located.lo))
        partial = target_volume - (at_block(book.seg_q, last, located) - at_block(book.seg_q, first, located))
        sum_full = (
            at_block(book.cum_dev_q, last, located)
            - at_block(book.cum_dev_q, first, located)
            + book.dev[np.minimum(last, book.price.size - 1)] * partial
        )
    else:
        sum_full = np.zeros(start_us.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        pwp_full = ref + sum_full / target_volume
        pwp_short = np.where(vol_short > 0, ref + sum_short / vol_short, np.nan)
    pwp = np.where(short, pwp_short, pwp_full)
    pwp = np.where(target_volume > 0, pwp, np.nan)
    return pwp, short & (target_volume > 0)


@dataclass(frozen=True, eq=False)
class DayPrices:
    """Per query: previous close, open and close of the day (NaN when the bar is missing)."""

    prev_close: FloatArray
    open: FloatArray
    close: FloatArray
    session_open_us: IntArray
    bar_row: IntArray  # row of the day's bar in DailyBars, or of the first bar after it; lo..hi
    has_bar: BoolArray
    has_prev: BoolArray
    lo: IntArray  # the instrument's first bar row


def day_prices(bars: DailyBars, instrument: IntArray, day: IntArray) -> DayPrices:
    """Look up each (instrument, day) in the daily bars: previous close, open, close."""
    tl = Timeline.build(bars.instrument, bars.day)
    located = tl.locate(instrument)
    j = tl.search(located, day, "left")
    n = bars.day.size
    jj = np.minimum(j, max(n - 1, 0))
    has_bar = (j < located.hi) & (bars.day[jj] == day) if n else np.zeros(day.size, dtype=bool)
    has_prev = j - 1 >= located.lo
    prev = np.maximum(j - 1, 0)

    def pick(col: FloatArray, ok: BoolArray, rows: IntArray) -> FloatArray:
        return np.where(ok, col[rows], np.nan) if n else np.full(day.size, np.nan)

    open_us = np.where(has_bar, bars.session_open_us[jj], 0) if n else np.zeros(day.size, dtype=np.int64)
    return DayPrices(
        prev_close=pick(bars.close, has_prev, prev),
        open=pick(bars.open, has_bar, jj),
        close=pick(bars.close, has_bar, jj),
        session_open_us=np.asarray(open_us, dtype=np.int64),
        bar_row=j,
        has_bar=has_bar,
        has_prev=has_prev,
        lo=located.lo,
    )


@dataclass(frozen=True, eq=False)
class OrderBenchmarks:
    """Benchmark prices per order (NaN when the market data is missing; see ``flags``)."""

    arrival_price: FloatArray  # mid at arrival
    arrival_bid: FloatArray
    arrival_ask: FloatArray
    vwap: FloatArray
    tape_volume: FloatArray  # public volume traded in [arrival, end]
    twap: FloatArray
    pwp: FloatArray
    end_mid: FloatArray  # mid in force at the order's end (prices unfilled quantity)
    prev_close: FloatArray
    open: FloatArray
    close: FloatArray
    day: DayPrices
    flags: IntArray


def order_benchmarks_compute(
    *,
    quote_book: QuoteBook,
    tape_book: TapeBook,
    bars: DailyBars,
    instrument: IntArray,
    arrival_us: IntArray,
    end_us: IntArray,
    filled_quantity: FloatArray,
    participation: float,
    stale_quote_us: int,
) -> OrderBenchmarks:
    """Every benchmark of every order, vectorised (one search per instrument and query kind)."""
    flags = np.zeros(arrival_us.size, dtype=np.int64)
    q_loc = quote_book.timeline.locate(instrument, arrival_us)
    ia, has_arrival = quote_book.last_at_or_before(q_loc, arrival_us)
    arrival = np.where(has_arrival, quote_book.mid[ia], np.nan) if quote_book.mid.size else np.full(ia.size, np.nan)
    bid = np.where(has_arrival, quote_book.bid[ia], np.nan) if quote_book.mid.size else arrival
    ask = np.where(has_arrival, quote_book.ask[ia], np.nan) if quote_book.mid.size else arrival
    flags |= np.where(has_arrival, 0, int(TcaFlag.NO_ARRIVAL_QUOTE))
    if quote_book.mid.size:
        stale = has_arrival & (arrival_us - quote_book.timeline.ts[ia] > stale_quote_us)
        flags |= np.where(stale, int(TcaFlag.STALE_ARRIVAL_QUOTE), 0)
    twap, _ = interval_twap(quote_book, q_loc, arrival_us, end_us)
    ie, has_end = quote_book.last_at_or_before(q_loc, end_us)
    end_mid = np.where(has_end, quote_book.mid[ie], np.nan) if quote_book.mid.size else np.full(ie.size, np.nan)

    t_loc = tape_book.timeline.locate(instrument, arrival_us)
    vwap, tape_volume = interval_vwap(tape_book, t_loc, arrival_us, end_us)
    flags |= np.where(np.isnan(vwap), int(TcaFlag.NO_TAPE), 0)
    day = arrival_us // US_PER_DAY
    pwp, short = participation_weighted_price(
        tape_book, t_loc, arrival_us, filled_quantity, participation, (day + 1) * US_PER_DAY
    )
    flags |= np.where(short, int(TcaFlag.PWP_SHORT), 0)

    prices = day_prices(bars, instrument, day)
    flags |= np.where(prices.has_bar, 0, int(TcaFlag.NO_DAILY_BAR))
    flags |= np.where(prices.has_prev, 0, int(TcaFlag.NO_PREVIOUS_CLOSE))
    flags |= np.where(end_us == arrival_us, int(TcaFlag.ZERO_DURATION), 0)
    return OrderBenchmarks(
        arrival_price=arrival,
        arrival_bid=bid,
        arrival_ask=ask,
        vwap=vwap,
        tape_volume=tape_volume,
        twap=twap,
        pwp=pwp,
        end_mid=end_mid,
        prev_close=prices.prev_close,
        open=prices.open,
        close=prices.close,
        day=prices,
        flags=flags,
    )


#: Benchmarks every order and execution is measured against, in the order results list them.
BENCHMARK_NAMES: tuple[str, ...] = ("arrival", "vwap", "twap", "pwp", "prev_close", "open", "close")


def benchmark_matrix(b: OrderBenchmarks) -> FloatArray:
    """n_orders × 7 benchmark prices in :data:`BENCHMARK_NAMES` order."""
    return np.column_stack((b.arrival_price, b.vwap, b.twap, b.pwp, b.prev_close, b.open, b.close))
