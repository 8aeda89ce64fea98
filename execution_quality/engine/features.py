"""Context features of each parent order, for cost models and for slicing TCA reports.

All are known at (or, for duration, venue and broker, describe) the order's execution, and the
daily statistics use only bars *before* the order's day, so a model trained on them does not
look ahead:

- ``adv``: mean daily volume of the last ``adv_window_days`` bars before the day;
- ``size_adv``: order quantity / ADV;
- ``volatility_daily_bps``: std (ddof = 1) of the last ``volatility_window_days`` close-to-close
  log returns before the day, in bps (× 10⁴);
- ``arrival_spread_bps``: (ask − bid)/mid · 10⁴ of the arrival quote;
- ``minutes_since_open``: arrival − the session open (the bar's ``session_open_us`` or
  ``session_open_minute_utc`` on the order's UTC date), in minutes;
- ``duration_s``: end − arrival in seconds;
- ``venue``, ``broker``: the code with the largest filled quantity (ties: the smaller code),
  −1 for an order without fills; ``order_type``: passed through;
- ``pov``: realised participation, filled quantity / public volume in [arrival, end] (the tape
  includes our own prints), capped at 1;
- ``limit_aggressiveness_bps``: s · (limit − arrival mid)/arrival mid · 10⁴, NaN for market orders
  (positive = a limit through the mid, willing to pay up).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execution_quality.engine.benchmarks import DayPrices
from execution_quality.engine.timeline import cumulative
from execution_quality.engine.types import (
    BPS,
    UNKNOWN_TS,
    US_PER_DAY,
    US_PER_MINUTE,
    US_PER_SECOND,
    BoolArray,
    DailyBars,
    FloatArray,
    Int8Array,
    IntArray,
)


@dataclass(frozen=True, eq=False)
class DailyHistory:
    """ADV and daily volatility from the bars before each order's day, and whether enough bars existed."""

    adv: FloatArray
    volatility_daily: FloatArray  # decimal (0.02 = 2 %)
    enough: BoolArray


def daily_history(
    bars: DailyBars, prices: DayPrices, *, adv_window_days: int, volatility_window_days: int, min_history_days: int
) -> DailyHistory:
    """Rolling ADV and close-to-close volatility, windows ending the bar before each order's day."""
    n = prices.bar_row.size
    if bars.day.size == 0:
        nan = np.full(n, np.nan)
        return DailyHistory(nan, nan.copy(), np.zeros(n, dtype=bool))
    j, lo = prices.bar_row, prices.lo
    start = np.maximum(lo, j - adv_window_days)
    count = j - start
    cum_volume = cumulative(bars.volume)
    with np.errstate(invalid="ignore", divide="ignore"):
        adv = np.where(count >= min_history_days, (cum_volume[j] - cum_volume[start]) / count, np.nan)
    # Log returns; the first bar of each instrument has none (its slot is 0 and never counted).
    returns = np.zeros(bars.close.size)
    returns[1:] = np.log(bars.close[1:] / bars.close[:-1])
    first_rows = np.concatenate(([True], bars.instrument[1:] != bars.instrument[:-1]))
    returns[first_rows] = 0.0
    s1, s2 = cumulative(returns), cumulative(returns * returns)
    r_start = np.maximum(lo + 1, j - volatility_window_days)
    r_count = j - r_start
    ok_vol = (r_count >= max(2, min_history_days - 1)) & (j - lo >= min_history_days)
    k = np.maximum(r_count, 1).astype(np.float64)
    sum1 = s1[j] - s1[r_start.clip(0, bars.close.size)]
    sum2 = s2[j] - s2[r_start.clip(0, bars.close.size)]
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.clip((sum2 - sum1 * sum1 / k) / (k - 1.0), 0.0, None)
    vol = np.where(ok_vol, np.sqrt(var), np.nan)
    return DailyHistory(adv=adv, volatility_daily=vol, enough=(count >= min_history_days) & ok_vol)


def main_code_by_quantity(order_row: IntArray, code: IntArray, quantity: FloatArray, n_orders: int) -> IntArray:
    """Per order, the code (venue/broker) with the largest filled quantity; ties → smaller code; −1 if none."""
    out = np.full(n_orders, -1, dtype=np.int64)
    if order_row.size == 0:
        return out
    # One sort by (order, code): codes are shifted to start at 0 so the pair fits one int64 key.
    shifted = code - code.min()
    span = int(shifted.max()) + 1
    if n_orders * span < 2**62:
        by = np.argsort(order_row * span + shifted, kind="stable")
    else:  # codes too far apart to pack with the row: a two-key sort
        by = np.lexsort((code, order_row))
    r, c, q = order_row[by], code[by], quantity[by]
    starts = np.flatnonzero(np.concatenate(([True], (r[1:] != r[:-1]) | (c[1:] != c[:-1]))))
    totals = np.add.reduceat(q, starts)
    g_row, g_code = r[starts], c[starts]
    order_starts = np.flatnonzero(np.concatenate(([True], g_row[1:] != g_row[:-1])))
    best = np.maximum.reduceat(totals, order_starts)
    sizes = np.diff(np.concatenate((order_starts, [g_row.size])))
    # Codes ascend within an order, so the first group reaching the maximum has the smaller code.
    is_best = totals == np.repeat(best, sizes)
    rows_best, first = np.unique(g_row[is_best], return_index=True)
    out[rows_best] = g_code[is_best][first]
    return out


@dataclass(frozen=True, eq=False)
class OrderFeatures:
    """Context of each order (see the module docstring for definitions and units)."""

    adv: FloatArray
    size_adv: FloatArray
    volatility_daily_bps: FloatArray
    arrival_spread_bps: FloatArray
    minutes_since_open: FloatArray
    duration_s: FloatArray
    venue: IntArray
    broker: IntArray
    order_type: IntArray
    pov: FloatArray
    limit_aggressiveness_bps: FloatArray


def order_features_compute(
    *,
    history: DailyHistory,
    prices: DayPrices,
    side: Int8Array,
    quantity: FloatArray,
    arrival_us: IntArray,
    end_us: IntArray,
    arrival_bid: FloatArray,
    arrival_ask: FloatArray,
    arrival_mid: FloatArray,
    limit_price: FloatArray,
    order_type: IntArray,
    filled_quantity: FloatArray,
    tape_volume: FloatArray,
    venue: IntArray,
    broker: IntArray,
    session_open_minute_utc: int,
) -> OrderFeatures:
    """Assemble the features of every order from the pieces ``tca_compute`` already has."""
    day_start = (arrival_us // US_PER_DAY) * US_PER_DAY
    fallback_open = day_start + session_open_minute_utc * US_PER_MINUTE
    known_open = prices.has_bar & (prices.session_open_us != UNKNOWN_TS)
    open_us = np.where(known_open, prices.session_open_us, fallback_open)
    with np.errstate(invalid="ignore", divide="ignore"):
        size_adv = np.where(history.adv > 0, quantity / history.adv, np.where(history.adv == 0, np.inf, np.nan))
        spread = (arrival_ask - arrival_bid) / arrival_mid * BPS
        pov = np.where(tape_volume > 0, np.minimum(filled_quantity / tape_volume, 1.0), np.nan)
        aggressiveness = side * (limit_price - arrival_mid) / arrival_mid * BPS
    return OrderFeatures(
        adv=history.adv,
        size_adv=size_adv,
        volatility_daily_bps=history.volatility_daily * BPS,
        arrival_spread_bps=spread,
        minutes_since_open=(arrival_us - open_us).astype(np.float64) / US_PER_MINUTE,
        duration_s=(end_us - arrival_us).astype(np.float64) / US_PER_SECOND,
        venue=venue,
        broker=broker,
        order_type=order_type,
        pov=pov,
        limit_aggressiveness_bps=aggressiveness,
    )
