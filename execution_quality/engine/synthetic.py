"""Seeded synthetic markets for TCA tests and benchmarks, and the engine-vs-pandas speed measurement.

:func:`tca_market_generate` builds, in vectorised numpy, a consistent set of TCA inputs: quotes
and tape prints on a random-walk mid for ``instruments`` × ``days`` US sessions (14:30–21:00
UTC), daily bars (history before the first day for ADV and volatility, then the simulated days),
parent orders sized as a fraction of ADV and child fills at the prevailing quote (mostly at the
far touch, some at the mid or the near touch). The same seed gives the same market, bit for bit.
It is built for volume (10⁷ ticks in a few seconds), not for realism; the demo data of
``portfolios.engine.synthetic`` is the realistic one.

:func:`tca_speed_measure` times ``tca_compute`` and the pandas baseline on the same market and
reports how far apart their answers are.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from execution_quality.engine.baseline_pandas import baseline_compute
from execution_quality.engine.compute import tca_compute
from execution_quality.engine.types import (
    US_PER_DAY,
    US_PER_MINUTE,
    DailyBars,
    Fills,
    FloatArray,
    IntArray,
    Orders,
    Quotes,
    Tape,
    TcaInputError,
)

FIRST_DAY = 19_724  # 2024-01-02, days since the epoch
OPEN_MINUTE_UTC = 14 * 60 + 30
SESSION_US = 390 * US_PER_MINUTE
TICK = 0.01
# Composite (segment, time-in-session) keys: a session is < 2**35 µs, so one global search works.
_SEG_SHIFT = 2**35


@dataclass(frozen=True, eq=False)
class TcaMarket:
    """Everything ``tca_compute`` takes, generated together."""

    fills: Fills
    orders: Orders
    quotes: Quotes
    tape: Tape
    bars: DailyBars


def _sorted_uniform_per_segment(rng: np.random.Generator, counts: IntArray) -> tuple[IntArray, FloatArray]:
    """Segment of every point and its position in [0, 1), sorted within each segment."""
    seg = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    key = np.sort(seg + rng.random(seg.size))
    return seg, key - seg


def _segment_cumsum(values: FloatArray, counts: IntArray) -> FloatArray:
    """Cumulative sum restarting at each segment."""
    total = np.cumsum(values)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    offset = total[starts] - values[starts]
    return np.asarray(total - np.repeat(offset, counts), dtype=np.float64)


def tca_market_generate(
    seed: int, orders: int, ticks: int, *, instruments: int | None = None, days: int = 1, history_days: int = 80
) -> TcaMarket:
    """A synthetic market of about ``ticks`` quotes + prints and ``orders`` parent orders with their fills."""
    if orders < 1 or ticks < 8 or days < 1 or history_days < 2:
        raise TcaInputError("need at least one order, eight ticks, one day and two history days.")
    rng = np.random.default_rng(seed)
    n_inst = instruments or int(np.clip(ticks // 20_000, 1, 500))
    n_seg = n_inst * days
    if ticks < 4 * n_seg:
        raise TcaInputError(f"{ticks} ticks are too few for {n_inst} instruments × {days} days.")
    inst_codes = np.arange(1, n_inst + 1, dtype=np.int64) * 10
    base_price = np.clip(np.exp(rng.normal(np.log(50.0), 0.8, n_inst)), 2.0, 2000.0)
    vol_daily = rng.uniform(0.01, 0.04, n_inst)
    spread_bps = rng.uniform(2.0, 20.0, n_inst)
    liquidity = np.exp(rng.normal(0.0, 1.0, n_inst))
    seg_inst = np.repeat(np.arange(n_inst), days)
    seg_day = np.tile(np.arange(days), n_inst) + FIRST_DAY
    seg_open = seg_day * US_PER_DAY + OPEN_MINUTE_UTC * US_PER_MINUTE
    weights = np.repeat(liquidity / liquidity.sum() / days, days)

    # Quotes: a random-walk log mid per segment; the first quote of every session at the open.
    n_q = ticks // 2
    q_counts = rng.multinomial(n_q - 2 * n_seg, weights) + 2
    q_seg, q_u = _sorted_uniform_per_segment(rng, q_counts)
    q_starts = np.concatenate(([0], np.cumsum(q_counts)[:-1]))
    q_u[q_starts] = 0.0
    du = np.diff(q_u, prepend=0.0)
    du[q_starts] = 0.0
    steps = rng.standard_normal(q_u.size) * vol_daily[seg_inst[q_seg]] * np.sqrt(du)
    rel_log = _segment_cumsum(steps, q_counts)
    seg_move = rel_log[q_starts + q_counts - 1]
    hist_returns = rng.standard_normal((n_inst, history_days)) * vol_daily[:, None]
    hist_close = base_price[:, None] * np.exp(np.cumsum(hist_returns, axis=1) - hist_returns.sum(axis=1)[:, None])
    day_moves = seg_move.reshape(n_inst, days)
    start_log = np.log(hist_close[:, -1])[:, None] + np.cumsum(day_moves, axis=1) - day_moves
    mid = np.exp(start_log.reshape(-1)[q_seg] + rel_log)
    half = mid * spread_bps[seg_inst[q_seg]] / 2e4 * rng.uniform(0.7, 1.3, mid.size)
    bid = np.maximum(np.floor((mid - half) / TICK + 1e-9) * TICK, TICK)
    ask = np.maximum(np.ceil((mid + half) / TICK - 1e-9) * TICK, bid + TICK)
    q_ts = seg_open[q_seg] + (q_u * SESSION_US).astype(np.int64)
    q_key = q_seg * _SEG_SHIFT + (q_ts - seg_open[q_seg])

    # Tape: prints at the prevailing bid or ask, in round lots.
    n_t = ticks - n_q
    t_counts = rng.multinomial(n_t - n_seg, weights) + 1
    t_seg, t_u = _sorted_uniform_per_segment(rng, t_counts)
    t_ts = seg_open[t_seg] + (t_u * SESSION_US).astype(np.int64)
    t_row = np.searchsorted(q_key, t_seg * _SEG_SHIFT + (t_ts - seg_open[t_seg]), side="right") - 1
    t_price = np.where(rng.random(t_ts.size) < 0.5, bid[t_row], ask[t_row])
    t_qty = 100.0 * rng.geometric(0.3, t_ts.size).astype(np.float64)

    # Daily bars: history before the first day, then the simulated days.
    seg_volume = np.bincount(t_seg, weights=t_qty, minlength=n_seg)
    adv = seg_volume.reshape(n_inst, days).mean(axis=1)
    hist_volume = adv[:, None] * np.exp(rng.normal(0.0, 0.3, (n_inst, history_days)))
    last_rows = q_starts + q_counts - 1
    day_close = mid[last_rows].reshape(n_inst, days)
    day_open = mid[q_starts].reshape(n_inst, days)
    hist_open = np.concatenate((base_price[:, None], hist_close[:, :-1]), axis=1)
    all_days = np.arange(FIRST_DAY - history_days, FIRST_DAY + days, dtype=np.int64)
    bars = DailyBars(
        instrument=np.repeat(inst_codes, history_days + days),
        day=np.tile(all_days, n_inst),
        open=np.concatenate((hist_open, day_open), axis=1).reshape(-1),
        close=np.concatenate((hist_close, day_close), axis=1).reshape(-1),
        volume=np.concatenate((hist_volume, seg_volume.reshape(n_inst, days)), axis=1).reshape(-1),
        session_open_us=np.tile(all_days, n_inst) * US_PER_DAY + OPEN_MINUTE_UTC * US_PER_MINUTE,
    )

    # Parent orders, on segments in proportion to their activity.
    o_seg = np.sort(rng.choice(n_seg, size=orders, p=t_counts / t_counts.sum()))
    arrival_off = (rng.uniform(0.0, 0.95, orders) * SESSION_US).astype(np.int64)
    duration = np.minimum(rng.exponential(15 * US_PER_MINUTE, orders).astype(np.int64), SESSION_US - arrival_off)
    duration[rng.random(orders) < 0.01] = 0
    arrival = seg_open[o_seg] + arrival_off
    o_inst = seg_inst[o_seg]
    side = np.where(rng.random(orders) < 0.5, 1, -1).astype(np.int8)
    quantity = np.maximum(np.round(adv[o_inst] * np.exp(rng.normal(np.log(0.002), 1.0, orders)) / 100) * 100, 100.0)
    a_row = np.searchsorted(q_key, o_seg * _SEG_SHIFT + arrival_off, side="right") - 1
    arrival_mid = (bid[a_row] + ask[a_row]) / 2
    decision = np.where(rng.random(orders) < 0.7, arrival_mid * np.exp(rng.normal(0.0, 5e-4, orders)), np.nan)
    is_limit = rng.random(orders) < 0.5
    limit = np.where(is_limit, arrival_mid * (1 + side * rng.uniform(-10, 20, orders) / 1e4), np.nan)

    # Fills: 0–5 per order at the quote prevailing just before; the last fill of a complete order ends it.
    n_per = np.where(rng.random(orders) < 0.05, 0, rng.integers(1, 6, orders))
    complete = (n_per > 0) & (rng.random(orders) < 0.8)
    filled = np.where(complete, quantity, np.round(quantity * rng.uniform(0.2, 0.95, orders)))
    f_order = np.repeat(np.arange(orders), n_per)
    f_u = np.sort(f_order + rng.random(f_order.size)) - f_order
    f_last = np.concatenate((f_order[1:] != f_order[:-1], [True])) if f_order.size else np.zeros(0, bool)
    f_u[f_last & complete[f_order]] = 1.0
    f_ts = arrival[f_order] + (f_u * duration[f_order]).astype(np.int64)
    share = rng.random(f_order.size) + 0.1
    share /= np.bincount(f_order, weights=share, minlength=orders)[f_order]
    f_qty = filled[f_order] * share
    f_row = np.searchsorted(q_key, o_seg[f_order] * _SEG_SHIFT + (f_ts - seg_open[o_seg[f_order]]), side="left") - 1
    f_row = np.maximum(f_row, q_starts[o_seg[f_order]])
    f_bid, f_ask = bid[f_row], ask[f_row]
    pick = rng.random(f_order.size)
    f_side = side[f_order]
    far, near = np.where(f_side > 0, f_ask, f_bid), np.where(f_side > 0, f_bid, f_ask)
    f_price = np.where(pick < 0.6, far, np.where(pick < 0.85, np.round((f_bid + f_ask) / 2, 3), near))
    last_fill = np.full(orders, -1, dtype=np.int64)
    np.maximum.at(last_fill, f_order, f_ts)
    end = np.where(complete, np.maximum(last_fill, arrival), arrival + duration)

    order_ids = np.arange(1, orders + 1, dtype=np.int64) * 7 + 1_000
    n_fills = f_order.size
    return TcaMarket(
        fills=Fills(
            execution_id=np.arange(1, n_fills + 1, dtype=np.int64) + 5_000_000,
            order_id=order_ids[f_order],
            child_order_id=order_ids[f_order] * 10 + rng.integers(0, 3, n_fills),
            instrument=inst_codes[o_inst[f_order]],
            side=f_side,
            ts_us=f_ts,
            price=f_price,
            quantity=f_qty,
            fee=0.0005 * f_qty + 1e-5 * f_qty * f_price,
            venue=rng.integers(1, 7, n_fills),
            broker=rng.integers(1, 4, n_fills),
        ),
        orders=Orders(
            order_id=order_ids,
            instrument=inst_codes[o_inst],
            side=side,
            quantity=quantity,
            arrival_us=arrival,
            end_us=end,
            limit_price=limit,
            order_type=is_limit.astype(np.int64),
            decision_price=decision,
        ),
        quotes=Quotes(instrument=inst_codes[seg_inst[q_seg]], ts_us=q_ts, bid=bid, ask=ask),
        tape=Tape(instrument=inst_codes[seg_inst[t_seg]], ts_us=t_ts, price=t_price, quantity=t_qty),
        bars=bars,
    )


@dataclass(frozen=True)
class TcaSpeed:
    """Wall-clock seconds of the engine and the pandas baseline on one synthetic market."""

    orders: int
    fills: int
    quotes: int
    prints: int
    generate_s: float
    engine_s: float  # wall clock, best of ``repeats`` runs of tca_compute
    engine_cpu_s: float  # process CPU time of that best run (robust to a busy machine)
    baseline_s: float  # wall clock, best of ``repeats`` runs of baseline_compute
    baseline_cpu_s: float
    max_abs_diff_bps: float  # engine vs baseline over arrival/VWAP/TWAP slippage
    max_rel_diff_price: float  # engine vs baseline over arrival/VWAP/TWAP prices


def _best_of(repeats: int, run: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of the fastest of ``repeats`` runs."""
    best = (float("inf"), float("inf"))
    for _ in range(max(repeats, 1)):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best


def tca_speed_measure(*, seed: int = 7, orders: int = 100_000, ticks: int = 10_000_000, repeats: int = 3) -> TcaSpeed:
    """Generate a market, time ``tca_compute`` and the pandas baseline (best of ``repeats`` each), compare them."""
    began = time.perf_counter()
    market = tca_market_generate(seed, orders, ticks)
    generate_s = time.perf_counter() - began
    engine_s, engine_cpu_s = _best_of(
        repeats,
        lambda: tca_compute(
            fills=market.fills, orders=market.orders, quotes=market.quotes, tape=market.tape, bars=market.bars
        ),
    )
    baseline_s, baseline_cpu_s = _best_of(
        repeats,
        lambda: baseline_compute(fills=market.fills, orders=market.orders, quotes=market.quotes, tape=market.tape),
    )
    result = tca_compute(
        fills=market.fills, orders=market.orders, quotes=market.quotes, tape=market.tape, bars=market.bars
    )
    base = baseline_compute(fills=market.fills, orders=market.orders, quotes=market.quotes, tape=market.tape)

    b = result.orders.benchmarks
    engine_prices = np.column_stack((b.arrival_price, b.vwap, b.twap))
    base_prices = base[["arrival_price", "vwap", "twap"]].to_numpy()
    engine_costs = np.column_stack([result.orders.cost_bps(n) for n in ("arrival", "vwap", "twap")])
    base_costs = base[["arrival_cost_bps", "vwap_cost_bps", "twap_cost_bps"]].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(engine_prices - base_prices) / np.abs(base_prices)
    return TcaSpeed(
        orders=len(market.orders),
        fills=len(market.fills),
        quotes=len(market.quotes),
        prints=len(market.tape),
        generate_s=generate_s,
        engine_s=engine_s,
        engine_cpu_s=engine_cpu_s,
        baseline_s=baseline_s,
        baseline_cpu_s=baseline_cpu_s,
        max_abs_diff_bps=float(np.nanmax(np.abs(engine_costs - base_costs))),
        max_rel_diff_price=float(np.nanmax(rel)),
    )
