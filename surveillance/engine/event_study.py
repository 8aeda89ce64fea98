"""Abnormal returns around news events (the event-study measurements insider dealing needs).

Model: market-adjusted returns (MacKinlay, 1997, "Event studies in economics and finance",
*Journal of Economic Literature* 35(1), the "market-adjusted return" model: β = 1, α = 0).
The benchmark is the *median* return of the other instruments over the same interval, not
their mean, so that another name's own news the same day does not move it; with fewer than
two other instruments the raw return is used.

- Daily: each bar's log return minus the median log return of the other instruments' bars
  that day (:func:`abnormal_returns`); σ_AR is the sample standard deviation (ddof = 1) of an
  instrument's daily abnormal returns over the sessions before the event.
- Around one event (:func:`event_outcome`): from the instrument's last public print before
  the event to its last print at the close ``horizon_days`` sessions on (the event's session
  counts as the first; news after the close belongs to the next session), minus the median of
  the other instruments' returns over the same interval; standardised as
  ``z = AR / (σ_AR · √(horizon_days − 1 + f))`` with f the share of the event's session still
  to run after the event (1 for news outside the session). Measuring from the last print before
  the news keeps the rest of the event day's noise out of the estimate. Without tape around
  the event, the daily bars' cumulative abnormal return over the same sessions is used, with
  f = 1.
"""

from __future__ import annotations

import numpy as np

from surveillance.engine.evidence import (
    bar_row_on_or_after,
    bars_key,
    bars_log_returns,
    key_codes,
    keyed_series,
    last_print_at,
    median_of_others,
    segment_starts,
    window_ranges,
    window_std,
)
from surveillance.engine.types import US_PER_DAY, BoolArray, DailyBars, FloatArray, IntArray, SurveillanceData

# Fewer daily abnormal returns than this before the event and its outcome cannot be judged.
MIN_VOL_OBS = 10


def news_session_day(data: SurveillanceData) -> tuple[IntArray, IntArray, IntArray]:
    """(instrument, session day, time) of every price-sensitive news item; news after the
    close belongs to the next session."""
    news = data.news
    ps = np.flatnonzero(news.price_sensitive)
    ts = news.ts_us[ps]
    day = ts // US_PER_DAY + (ts % US_PER_DAY > data.close_offset_us)
    return news.instrument[ps], day, ts


def abnormal_returns(bars: DailyBars, news_instrument: IntArray, news_day: IntArray) -> tuple[FloatArray, BoolArray]:
    """(market-adjusted daily log return of each bar, whether the bar's instrument had its own
    price-sensitive news that session).

    The benchmark is the median log return that day of the *other* instruments without their
    own price-sensitive news (the median and the exclusion keep other names' news out of it, as
    event studies keep event firms out of the benchmark); the raw return when fewer than two
    such instruments have a return; NaN for an instrument's first bar."""
    r = bars_log_returns(bars)
    if len(bars) == 0:
        return r, np.zeros(0, dtype=np.bool_)
    days, row = np.unique(bars.day, return_inverse=True)
    names, col = np.unique(bars.instrument, return_inverse=True)
    keys = bars_key(bars.instrument, bars.day)
    own_news = np.isin(keys, bars_key(news_instrument, news_day))
    grid = np.full((len(days), len(names)), np.nan)
    grid[row, col] = np.where(own_news, np.nan, r)
    market = median_of_others(grid)[row, col]
    # ``median_of_others`` skips a cell's own value only when it is in the grid; a news cell
    # was blanked, so its benchmark is the median of the whole (clean) row.
    count = np.isfinite(grid).sum(axis=1)
    clean_median = np.where(count >= 2, _nanmedian_rows(grid), np.nan)
    market = np.where(own_news, clean_median[row], market)
    return np.where(np.isfinite(market), r - market, r), own_news


def event_outcome(
    data: SurveillanceData,
    instrument: IntArray,
    ts_us: IntArray,
    *,
    horizon_days: int,
    vol_window_days: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(abnormal log return after each event, σ of the instrument's daily abnormal returns
    before it, z) per event; NaN where the data cannot say.

    From the tape: the instrument's log return from its last print before the event to its
    last print at the close ``horizon_days`` sessions on (the event's session counts as the
    first), minus the mean of the other instruments' returns over the same interval (when at
    least two others have prints). Its standard deviation is σ · √(horizon_days − 1 + f), with
    f the share of the event's session still to run after the event (1 before the open).
    Without tape around the event: the daily bars' cumulative abnormal return over the same
    sessions, with f = 1.
    """
    n = len(instrument)
    nan = np.full(n, np.nan)
    bars = data.bars
    if len(bars) == 0 or n == 0:
        return nan, nan, nan
    n_inst, n_day, n_ts = news_session_day(data)
    ar, own_news = abnormal_returns(bars, n_inst, n_day)
    close_off, open_off = data.close_offset_us, data.open_offset_us
    day = ts_us // US_PER_DAY + (ts_us % US_PER_DAY > close_off)
    row = bar_row_on_or_after(bars, instrument, day)
    ok = row >= 0
    # σ from the instrument's quiet sessions only: its own past news days are jumps, not the
    # volatility a news-free day carries.
    sigma = window_std(
        np.where(own_news, np.nan, ar),
        segment_starts(bars.instrument),
        np.where(ok, row - 1, -1),
        window=vol_window_days,
        min_obs=MIN_VOL_OBS,
    )
    car_bars, used = bars_car(bars, ar, instrument, row, horizon_days)
    car = tape_car(data, instrument, ts_us, day, horizon_days, news=(n_inst, n_ts))
    # A session that is still running at the event contributes only what is left of it.
    session_open = day * US_PER_DAY + open_off
    f = np.clip((day * US_PER_DAY + close_off - np.maximum(ts_us, session_open)) / (close_off - open_off), 0.0, 1.0)
    use_tape = np.isfinite(car)
    car = np.where(use_tape, car, car_bars)
    var_days = np.where(use_tape, horizon_days - 1 + f, used)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = car / (sigma * np.sqrt(var_days))
    return car, sigma, z


def bars_car(
    bars: DailyBars, ar: FloatArray, instrument: IntArray, row: IntArray, horizon_days: int
) -> tuple[FloatArray, FloatArray]:
    """(sum of daily abnormal returns from ``row`` over ``horizon_days`` bars, bars used)."""
    n = len(instrument)
    ok = row >= 0
    car = np.zeros(n)
    used = np.zeros(n)
    for k in range(horizon_days):
        r = row + k
        valid = ok & (r < len(bars))
        valid[valid] &= bars.instrument[r[valid]] == instrument[valid]
        step = np.where(valid, ar[np.minimum(r, len(bars) - 1)], np.nan)
        valid &= np.isfinite(step)
        car += np.where(valid, step, 0.0)
        used += valid
    return np.where(used > 0, car, np.nan), used


def tape_car(
    data: SurveillanceData,
    instrument: IntArray,
    ts_us: IntArray,
    day: IntArray,
    horizon_days: int,
    *,
    news: tuple[IntArray, IntArray],
) -> FloatArray:
    """Market-adjusted log return from the last print before each event to the last print at
    the close ``horizon_days`` sessions on, from the tape (NaN where prints are missing); the
    benchmark leaves out instruments with price-sensitive ``news`` (instrument, time) of their
    own in the interval."""
    tape = data.tape
    n = len(instrument)
    if len(tape) == 0:
        return np.full(n, np.nan)
    sessions = np.unique(tape.ts_us // US_PER_DAY)
    idx = np.searchsorted(sessions, day, side="left") + horizon_days - 1
    end_us = np.where(idx < len(sessions), sessions[np.minimum(idx, len(sessions) - 1)], -1)
    end_us = np.where(end_us >= 0, end_us * US_PER_DAY + data.close_offset_us, -1)
    names = np.unique(tape.instrument)
    # Every (event, instrument) pair: the event's own name and the market around it.
    q_inst = np.tile(names, n)
    q_from = np.repeat(ts_us - 1, len(names))
    q_to = np.repeat(end_us, len(names))
    index = keyed_series(tape.instrument, tape.ts_us, time_sorted=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.log(last_print_at(tape, q_inst, q_to, index) / last_print_at(tape, q_inst, q_from, index))
    r = np.where(np.repeat(end_us >= 0, len(names)), r, np.nan)
    news_inst, news_ts = news
    if len(news_inst):
        codes = key_codes(np.concatenate((news_inst, q_inst)))
        _, start, stop = window_ranges(
            codes[: len(news_inst)], news_ts, codes[len(news_inst) :], q_from + 1, q_to, time_sorted=True
        )
        r = np.where(stop > start, np.nan, r)
    r = r.reshape(n, len(names))
    own_col = np.searchsorted(names, instrument)
    own_col = np.minimum(own_col, len(names) - 1)
    has_own = names[own_col] == instrument
    with np.errstate(divide="ignore", invalid="ignore"):
        own_r = np.log(
            last_print_at(tape, instrument, end_us, index) / last_print_at(tape, instrument, ts_us - 1, index)
        )
    own = np.where(has_own & (end_us >= 0), own_r, np.nan)
    # The event's own name (blanked by its own news) is not part of its benchmark.
    clean = r.copy()
    clean[np.arange(n), own_col] = np.where(has_own, np.nan, clean[np.arange(n), own_col])
    count = np.isfinite(clean).sum(axis=1)
    with np.errstate(all="ignore"):
        market = np.where(count >= 2, _nanmedian_rows(clean), np.nan)
    out: FloatArray = np.where(np.isfinite(market), own - market, own)
    return out


def _nanmedian_rows(matrix: FloatArray) -> FloatArray:
    """Row medians ignoring NaN (NaN for a row without values), without numpy's warning."""
    out = np.full(matrix.shape[0], np.nan)
    has = np.isfinite(matrix).any(axis=1)
    if has.any():
        out[has] = np.nanmedian(matrix[has], axis=1)
    return out
