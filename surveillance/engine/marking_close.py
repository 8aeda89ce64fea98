"""Marking the close: one account's trading dominates the last minutes and moves the close its way.

What the abuse is. Buying or selling at the close so as to mislead those who act on the
closing price (EU MAR, Regulation 596/2014, Art. 12(2)(b); Annex I A(g), orders or
transactions at or around the time reference prices are calculated that move them; Commission
Delegated Regulation (EU) 2016/522 Annex II Section 1, "marking the close"). The closing
price values portfolios, funds, margin and derivatives, which is why moving it pays.

Algorithm, per account, instrument and session day:

1. Window: the last ``window_min`` minutes of the regular session, ``(close − W, close]``
   (``SurveillanceData.close_offset_us``).
2. Pressure: the account's net quantity bought in the window (its trades), as a share of the
   instrument's public volume printed in the same window (``Tape``):
   ``net_share = |Σ side·qty| / Σ tape qty``.
3. Price effect: ``P_ref`` is the price in force just before the account's first trade in the
   window (the price it found) and ``P_close`` the price at the close (the price it left), both
   read on the quote mid-point (the last print where no two-sided quote is): the closing print
   sits on the bid or the ask, and a buyer lifting the offer at the close would otherwise count
   its own half-spread as a price change (Annex I A(g) asks whether the orders "lead to price
   changes"). The signed move ``sign(net) · ln(P_close/P_ref)`` is standardised by the
   volatility of a move that long, ``σ_T = σ_min · √(T / 1 min)`` with T the time from that
   first trade to the close (at least one minute) and σ_min the realised volatility of the
   instrument's one-minute log changes of the last print that session, from the open to the
   window's start (root mean square; the day's own volatility, which news or a busy session
   raise, and not the marker's push). With fewer than ``MIN_MINUTE_RETURNS`` such minutes it
   falls back to the daily bars, ``σ_daily · √(T / session length)``, σ_daily the standard
   deviation of the last ``vol_window_days`` daily log returns (``fallback_daily_vol_pct``
   without five of them). A positive ``move_z`` means the close moved the account's way (net
   buyer → above the reference, seller → below).
4. Decision: with ``a = net_share / min_net_share`` and ``b = move_z / min_move_z``, an episode
   is reported when ``a · b ≥ 1`` and both ``a`` and ``b`` are at least ½. The two pieces of
   evidence trade off (a very large share of the closing volume with a smaller move, or the
   reverse), but neither can be missing: heavy closing volume that leaves the close where it
   was, or moves it against the account, is never reported.

Score: the odds score (:func:`surveillance.engine.evidence.odds_score`) of the same ratios,
``odds = a · b``, ``score = 100·odds/(1+odds)``: 50 at the decision boundary, higher as the
pressure and the move grow.

Known false positives: an institution executing a genuine market-on-close order (index
rebalancing, fund flows benchmarked to the close) also moves the close its way; closing
minutes are more volatile than the rest of the session, which Brownian scaling ignores, so a
threshold in σ_T units is easier to reach near the close; an ordinary client trading with the
marker's push (the close moved its way too); thin instruments where one client's
ordinary order is a large share of a quiet window.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from surveillance.engine.evidence import (
    KeyedSeries,
    bars_key,
    daily_vol,
    key_codes,
    keyed_series,
    last_print_at,
    odds_score,
    session_window_mask,
)
from surveillance.engine.params import DetectorSpec, Param, params_clean
from surveillance.engine.types import (
    US_PER_DAY,
    US_PER_MINUTE,
    Detection,
    FloatArray,
    IntArray,
    SurveillanceData,
    Tape,
)

SCENARIO = "marking_close"
# A move over less than a minute is scaled as a one-minute move: the closing print's bid–ask
# bounce alone would otherwise look like many σ of a few seconds.
MIN_SPAN_US = US_PER_MINUTE
FLOOR = 0.5
# Fewer one-minute returns than a half hour's give too noisy a realised σ; the daily bars'
# σ is used instead.
MIN_MINUTE_RETURNS = 30


def _window_tape_volume(tape: Tape, keys: IntArray, start_off: int, end_off: int) -> FloatArray:
    """Public volume printed in the window of each (instrument, day) key (``bars_key``)."""
    if len(tape) == 0:
        return np.zeros(len(keys))
    mask = session_window_mask(tape.ts_us, start_off, end_off)
    tape_keys = bars_key(tape.instrument[mask], tape.ts_us[mask] // US_PER_DAY)
    uniq, inv = np.unique(tape_keys, return_inverse=True)
    volume = np.bincount(inv, weights=tape.quantity[mask], minlength=len(uniq)).astype(np.float64)
    if len(uniq) == 0:
        return np.zeros(len(keys))
    pos = np.minimum(np.searchsorted(uniq, keys), len(uniq) - 1)
    return np.where(uniq[pos] == keys, volume[pos], 0.0)


def _mid_or_print(data: SurveillanceData, instrument: IntArray, ts_us: IntArray, prints: FloatArray) -> FloatArray:
    """Quote mid-point in force at each ``ts_us``; the given last print where no two-sided quote is."""
    quotes = data.quotes
    if len(quotes) == 0:
        return prints
    row = keyed_series(quotes.instrument, quotes.ts_us, time_sorted=True).last_at(instrument, ts_us)
    safe = np.maximum(row, 0)
    bid, ask = quotes.bid[safe], quotes.ask[safe]
    ok = (row >= 0) & (bid > 0) & (ask >= bid)
    return np.where(ok, 0.5 * (bid + ask), prints)


def _minute_vol(
    tape: Tape, index: KeyedSeries, instrument: IntArray, day: IntArray, open_off: int, end_off: int
) -> FloatArray:
    """Realised σ of one-minute log changes of the last print over ``(open, end]`` of each
    instrument's session day (root mean square, the usual realised-variance estimator); NaN
    with fewer than ``MIN_MINUTE_RETURNS`` returns."""
    keys = bars_key(instrument, day)
    uniq, inv = np.unique(keys, return_inverse=True)
    first = np.unique(inv, return_index=True)[1]
    u_inst, u_day = instrument[first], day[first]
    grid = np.arange(open_off, end_off + 1, US_PER_MINUTE, dtype=np.int64)
    if len(grid) < 2 or len(uniq) == 0:
        return np.full(len(instrument), np.nan)
    times = (u_day[:, None] * US_PER_DAY + grid[None, :]).ravel()
    prices = last_print_at(tape, np.repeat(u_inst, len(grid)), times, index).reshape(len(uniq), len(grid))
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = np.diff(np.log(prices), axis=1)
    finite = np.isfinite(ret)
    count = finite.sum(axis=1)
    sq = np.where(finite, ret, 0.0) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        vol = np.sqrt(sq.sum(axis=1) / count)
    vol = np.where((count >= MIN_MINUTE_RETURNS) & (vol > 0), vol, np.nan)
    out: FloatArray = vol[inv]
    return out


def detect(data: SurveillanceData, params: Mapping[str, float]) -> list[Detection]:
    """Accounts whose net trading dominates the closing minutes and whose close moved their way."""
    p = params_clean(SPEC, params)
    trades = data.trades
    if len(trades) == 0 or len(data.tape) == 0:
        return []
    window_us = int(p["window_min"] * US_PER_MINUTE)
    close_off = data.close_offset_us
    start_off = max(close_off - window_us, data.open_offset_us)
    in_window = np.flatnonzero(session_window_mask(trades.ts_us, start_off, close_off))
    if len(in_window) == 0:
        return []
    day = trades.ts_us[in_window] // US_PER_DAY
    cand = key_codes(trades.account[in_window], trades.instrument[in_window], day)
    n_cand = int(cand.max()) + 1
    signed = trades.side[in_window].astype(np.float64) * trades.quantity[in_window]
    net = np.bincount(cand, weights=signed, minlength=n_cand)
    gross = np.bincount(cand, weights=trades.quantity[in_window], minlength=n_cand)
    first = np.unique(cand, return_index=True)[1]
    c_inst, c_day = trades.instrument[in_window[first]], day[first]

    tape_volume = _window_tape_volume(data.tape, bars_key(c_inst, c_day), start_off, close_off)
    with np.errstate(divide="ignore", invalid="ignore"):
        net_share = np.where(tape_volume > 0, np.abs(net) / tape_volume, 0.0)
    min_share = p["min_net_share_pct"] / 100.0
    keep = np.flatnonzero((net_share >= FLOOR * min_share) & (net != 0))
    if len(keep) == 0:
        return []
    c_day_k, c_inst_k = c_day[keep], c_inst[keep]
    session_us = close_off - data.open_offset_us
    close_us = c_day_k * US_PER_DAY + close_off
    # The move is measured from just before the account's first trade in the window: the
    # price it found, against the close it left.
    ref_us = trades.ts_us[in_window[first[keep]]] - 1
    tape_index = keyed_series(data.tape.instrument, data.tape.ts_us, time_sorted=True)
    p_ref = last_print_at(data.tape, c_inst_k, ref_us, tape_index)
    p_close = last_print_at(data.tape, c_inst_k, close_us, tape_index)
    # The move is read on the quote mid-point: the last print sits on the bid or the ask, and
    # an account crossing the spread at the close would otherwise count its own half-spread
    # as a price change.
    m_ref = _mid_or_print(data, c_inst_k, ref_us, p_ref)
    m_close = _mid_or_print(data, c_inst_k, close_us, p_close)
    sigma_d = daily_vol(
        data.bars,
        c_inst_k,
        c_day_k,
        window=int(p["vol_window_days"]),
        fallback=p["fallback_daily_vol_pct"] / 100.0,
    )
    # σ per minute from that session's own prints before the window (the day's volatility,
    # which news or a busy day raise, and not the marker's own push); the daily bars' σ under
    # Brownian scaling without enough prints.
    sigma_m = _minute_vol(data.tape, tape_index, c_inst_k, c_day_k, data.open_offset_us, start_off)
    sigma_m = np.where(np.isfinite(sigma_m), sigma_m, sigma_d * np.sqrt(US_PER_MINUTE / session_us))
    span_us = np.maximum(close_us - ref_us, MIN_SPAN_US)
    sigma_w = sigma_m * np.sqrt(span_us / US_PER_MINUTE)
    with np.errstate(divide="ignore", invalid="ignore"):
        move = np.sign(net[keep]) * np.log(m_close / m_ref)
    move_z = np.where(np.isfinite(move), move / sigma_w, -np.inf)
    share_ratio = net_share[keep] / min_share
    move_ratio = move_z / p["min_move_z"]
    hit = (move_ratio >= FLOOR) & (share_ratio * move_ratio >= 1.0)

    out: list[Detection] = []
    ordered = np.argsort(cand, kind="stable")
    bounds = np.searchsorted(cand[ordered], np.arange(n_cand + 1))
    for k in np.flatnonzero(hit).tolist():
        c = int(keep[k])
        evidence = in_window[ordered[bounds[c] : bounds[c + 1]]]
        out.append(
            _detection(
                data,
                evidence,
                net=float(net[c]),
                gross=float(gross[c]),
                share=float(net_share[c]),
                move=float(move[k]),
                move_z=float(move_z[k]),
                p_ref=float(p_ref[k]),
                p_close=float(p_close[k]),
                close_us=int(c_day[c]) * US_PER_DAY + close_off,
                p=p,
            )
        )
    return out


def _detection(
    data: SurveillanceData,
    evidence: IntArray,
    *,
    net: float,
    gross: float,
    share: float,
    move: float,
    move_z: float,
    p_ref: float,
    p_close: float,
    close_us: int,
    p: Mapping[str, float],
) -> Detection:
    trades = data.trades
    instrument = int(trades.instrument[evidence[0]])
    account = int(trades.account[evidence[0]])
    verb = "Bought" if net > 0 else "Sold"
    pct = 100.0 * (p_close / p_ref - 1.0)
    summary = (
        f"{verb} a net {abs(net):,.0f} shares of instrument {instrument} in the last {p['window_min']:g} min "
        f"before the close, {100 * share:.0f}% of the volume printed then; the close ended {pct:+.2f}% "
        f"from {p_ref:,.2f} before its first trade there (mid-price move {move_z:.1f}σ)."
    )
    order_ids = trades.order_id[evidence]
    return Detection(
        scenario=SCENARIO,
        account=account,
        instrument=instrument,
        start_us=int(trades.ts_us[evidence].min()),
        end_us=close_us,
        score=odds_score([share / (p["min_net_share_pct"] / 100.0), move_z / p["min_move_z"]]),
        summary=summary,
        order_ids=tuple(sorted({int(x) for x in order_ids[order_ids >= 0]})),
        trade_ids=tuple(sorted(int(x) for x in trades.trade_id[evidence])),
        features={
            "window_net_quantity_shares": net,
            "window_gross_quantity_shares": gross,
            "window_net_share_pct": round(100.0 * share, 3),
            "reference_price": p_ref,
            "close_price": p_close,
            "close_move_bps": round(1e4 * move, 3),
            "close_move_sigma": round(move_z, 3),
        },
    )


SPEC = DetectorSpec(
    scenario=SCENARIO,
    title="Marking the close",
    params=(
        Param("window_min", 5.0, 1.0, 120.0, "min", "Closing window: the last minutes of the regular session."),
        Param(
            "min_net_share_pct",
            20.0,
            1.0,
            100.0,
            "%",
            "Account's net quantity in the window as a share of the public volume printed in it.",
        ),
        Param(
            "min_move_z",
            1.75,
            0.1,
            10.0,
            "σ",
            "Mid-price move from just before the account's first window trade to the close, in the "
            "account's favour, in standard deviations of a move that long (the session's realised "
            "one-minute volatility).",
        ),
        Param(
            "vol_window_days",
            20.0,
            5.0,
            250.0,
            "days",
            "Daily bars used for the instrument's daily volatility (when the session has too few prints).",
            integer=True,
        ),
        Param(
            "fallback_daily_vol_pct",
            2.0,
            0.1,
            20.0,
            "%",
            "Daily volatility assumed when fewer than five daily returns are available.",
        ),
    ),
    run=detect,
    references=(
        "EU MAR (Regulation 596/2014) Art. 12(2)(b) and Annex I A(g)",
        "Commission Delegated Regulation (EU) 2016/522 Annex II Section 1 (marking the close)",
    ),
)
