"""Pump and dump: accumulate quietly, then sell most of it into a price and volume surge.

What the abuse is. Taking a long position, pushing the price to an artificially high level
(often with misleading promotion) and selling the position into the demand that follows (EU
MAR, Regulation 596/2014, Art. 12(1)(a) and (c), Annex I A(d) and B(a); Commission Delegated
Regulation (EU) 2016/522 Annex II Section 1 point 4(c), "pump and dump", also cited in
Section 2 point 1(c)). The footprint in an account's own trading is: net buying over the
preceding days, then heavy selling during an abnormal rise in price and volume.

Algorithm, per account, instrument and session day D on which the account sells:

1. Accumulation: the account's net quantity bought in the instrument over the
   ``accumulation_days`` calendar days before D. It must be positive and at least
   ``min_accumulation_adv_pct`` of the instrument's typical daily public volume (the median
   of its daily ``Tape`` volume over the other sessions in the data; bars' volume without tape).
2. Dump: the quantity sold on D is at least ``min_sell_fraction_pct`` of that accumulation.
3. Surge, measured where the account sold: from its first to its last sale on D, widened
   symmetrically to at least ``surge_window_min`` within the session,
   - volume: the public volume rate in that window over the typical rate (typical daily volume
     spread evenly over the session), ``volume_ratio``;
   - price: the larger of two standardised rises, the sale VWAP over the close before D in
     daily σ (a sudden surge), and the sale VWAP over the purchase VWAP in σ·√(days held) (a
     surge built over the holding period; the √ keeps an ordinary slow rise from passing for
     one); σ is the standard deviation of the last ``vol_window_days`` daily log returns before
     D, else ``fallback_daily_vol_pct``.
   With ``v = volume_ratio / min_volume_ratio`` and ``z = price rise / min_price_z``, the surge
   is there when ``v · z ≥ 1`` and both are at least ½ (a larger volume surge can carry a
   smaller price rise and the reverse, but neither may be missing).

Score: ``odds = (accumulation / threshold) · (sold fraction / threshold) · v · z``,
``score = 100 · odds / (1 + odds)``.

Known false positives: an investor taking profit on genuine good news after building a
position; a market-wide rally on heavy volume; thin instruments where any sizeable
position is a large share of daily volume. Promotion itself (the "pump") is outside the
trading data: an alert is the prompt to look for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from surveillance.engine.evidence import (
    bar_row_before,
    daily_vol,
    daily_volume,
    key_codes,
    last_print_at,
    median_of_others,
    odds_score,
    window_ranges,
)
from surveillance.engine.params import DetectorSpec, Param, params_clean
from surveillance.engine.types import (
    US_PER_DAY,
    US_PER_MINUTE,
    Detection,
    FloatArray,
    IntArray,
    SurveillanceData,
)

SCENARIO = "pump_dump"
SURGE_FLOOR = 0.5


def _previous_close(data: SurveillanceData, instrument: int, day: int) -> float:
    """The instrument's close before ``day``: its last bar before the day, else its last print
    before the session (NaN when neither exists)."""
    row = int(bar_row_before(data.bars, np.array([instrument]), np.array([day]))[0]) if len(data.bars) else -1
    if row >= 0:
        return float(data.bars.close[row])
    return float(last_print_at(data.tape, np.array([instrument]), np.array([day * US_PER_DAY]))[0])


def _typical_daily_volume(data: SurveillanceData, instrument: IntArray, day: IntArray) -> FloatArray:
    """Median daily public volume of each instrument over its sessions in the data other than
    ``day`` (tape); the median of the last 20 finite bar volumes before ``day`` without tape."""
    out = np.full(len(instrument), np.nan)
    if len(data.tape):
        dv = daily_volume(data.tape)
        rows, cols = dv.cell(instrument, day)
        others = median_of_others(dv.grid)
        whole = np.array([np.nanmedian(r) if np.isfinite(r).any() else np.nan for r in dv.grid])
        ok = rows >= 0
        out[ok] = np.where(cols[ok] >= 0, others[rows[ok], np.maximum(cols[ok], 0)], whole[rows[ok]])
    bars = data.bars
    for k in np.flatnonzero(~np.isfinite(out)).tolist():
        mine = (bars.instrument == instrument[k]) & (bars.day < day[k]) & np.isfinite(bars.volume)
        if mine.any():
            out[k] = float(np.median(bars.volume[mine][-20:]))
    return out


@dataclass(frozen=True)
class _Rows:
    """Trade rows sorted by account-day code and by account-instrument code."""

    by_daily: IntArray
    by_ai: IntArray
    daily: IntArray
    ai: IntArray

    def of_daily(self, code: int) -> IntArray:
        lo, hi = np.searchsorted(self.daily[self.by_daily], [code, code + 1])
        return np.sort(self.by_daily[lo:hi])

    def of_ai(self, code: int) -> IntArray:
        lo, hi = np.searchsorted(self.ai[self.by_ai], [code, code + 1])
        return np.sort(self.by_ai[lo:hi])


def detect(data: SurveillanceData, params: Mapping[str, float]) -> list[Detection]:
    """Accounts that accumulated, then sold most of it into a price and volume surge."""
    p = params_clean(SPEC, params)
    trades = data.trades
    if len(trades) == 0:
        return []
    day = trades.ts_us // US_PER_DAY
    ai = key_codes(trades.account, trades.instrument)
    daily = key_codes(ai, day)
    n_daily = int(daily.max()) + 1
    buy = trades.side > 0
    qty, notional = trades.quantity, trades.quantity * trades.price
    buy_qty = np.bincount(daily, weights=np.where(buy, qty, 0.0), minlength=n_daily).astype(np.float64)
    sell_qty = np.bincount(daily, weights=np.where(buy, 0.0, qty), minlength=n_daily).astype(np.float64)
    buy_notional = np.bincount(daily, weights=np.where(buy, notional, 0.0), minlength=n_daily).astype(np.float64)
    first = np.unique(daily, return_index=True)[1]
    d_ai, d_day = ai[first], day[first]

    # Accumulation before each sale day: sums over the same account-instrument's earlier days.
    sale = np.flatnonzero(sell_qty > 0)
    if len(sale) == 0:
        return []
    acc_days = int(p["accumulation_days"])
    order, start, stop = window_ranges(d_ai, d_day, d_ai[sale], d_day[sale] - acc_days, d_day[sale] - 1)

    def window_sum(values: FloatArray) -> FloatArray:
        cs = np.concatenate(([0.0], np.cumsum(values[order])))
        return cs[stop] - cs[start]

    net_before = window_sum(buy_qty - sell_qty)
    bought_before = window_sum(buy_qty)
    notional_before = window_sum(buy_notional)
    day_weighted = window_sum(buy_qty * d_day.astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        sold_fraction = sell_qty[sale] / net_before
    # The cheap tests first: only accumulators that dumped need the market's typical volume.
    dumped = np.flatnonzero((net_before > 0) & (np.nan_to_num(sold_fraction) >= p["min_sell_fraction_pct"] / 100.0))
    sale, net_before, bought_before = sale[dumped], net_before[dumped], bought_before[dumped]
    notional_before, day_weighted = notional_before[dumped], day_weighted[dumped]
    typical = _typical_daily_volume(data, trades.instrument[first][sale], d_day[sale])
    with np.errstate(divide="ignore", invalid="ignore"):
        accumulation_adv = net_before / typical
    keep = np.nan_to_num(accumulation_adv) >= p["min_accumulation_adv_pct"] / 100.0
    out: list[Detection] = []
    chosen = np.flatnonzero(keep)
    if len(chosen) == 0:
        return out
    # Rows of each account-day and each account-instrument, found by sorting once.
    rows = _Rows(by_daily=np.argsort(daily, kind="stable"), by_ai=np.argsort(ai, kind="stable"), daily=daily, ai=ai)
    for k in chosen.tolist():
        found = _surge(
            data,
            p,
            rows,
            daily_code=int(sale[k]),
            ai_code=int(d_ai[sale[k]]),
            sale_day=int(d_day[sale[k]]),
            typical_volume=float(typical[k]),
            buy_vwap=float(notional_before[k] / bought_before[k]),
            mean_buy_day=float(day_weighted[k] / bought_before[k]),
            accumulated=float(net_before[k]),
            sold=float(sell_qty[sale[k]]),
        )
        if found is not None:
            out.append(found)
    return out


def _surge(
    data: SurveillanceData,
    p: Mapping[str, float],
    rows: _Rows,
    *,
    daily_code: int,
    ai_code: int,
    sale_day: int,
    typical_volume: float,
    buy_vwap: float,
    mean_buy_day: float,
    accumulated: float,
    sold: float,
) -> Detection | None:
    """The surge test on one candidate sale day; a detection when volume and price surged."""
    trades, tape = data.trades, data.tape
    day_rows = rows.of_daily(daily_code)
    sells = day_rows[trades.side[day_rows] < 0]
    instrument = int(trades.instrument[sells[0]])
    session_open = sale_day * US_PER_DAY + data.open_offset_us
    session_close = sale_day * US_PER_DAY + data.close_offset_us
    session_us = max(data.close_offset_us - data.open_offset_us, 1)
    s0, s1 = int(trades.ts_us[sells].min()), int(trades.ts_us[sells].max())
    min_len = min(int(p["surge_window_min"] * US_PER_MINUTE), session_us)
    if s1 - s0 < min_len:
        pad = (min_len - (s1 - s0)) // 2
        s0, s1 = s0 - pad, s1 + pad
        # Keep the widened window inside the session, sliding it rather than shortening it.
        if s0 < session_open:
            s0, s1 = session_open, session_open + min_len
        if s1 > session_close:
            s0, s1 = session_close - min_len, session_close
    lo = int(np.searchsorted(tape.ts_us, s0, side="left"))
    hi = int(np.searchsorted(tape.ts_us, s1, side="right"))
    mine = tape.instrument[lo:hi] == instrument
    window_volume = float(tape.quantity[lo:hi][mine].sum())
    volume_ratio = (window_volume / max(s1 - s0, 1)) / (typical_volume / session_us)
    sell_vwap = float((trades.quantity[sells] * trades.price[sells]).sum() / trades.quantity[sells].sum())
    sigma = float(
        daily_vol(
            data.bars,
            np.array([instrument]),
            np.array([sale_day]),
            window=int(p["vol_window_days"]),
            fallback=p["fallback_daily_vol_pct"] / 100.0,
        )[0]
    )
    held_days = max(1.0, sale_day - mean_buy_day)
    rise = float(np.log(sell_vwap / buy_vwap))
    # A surge is sudden (the sale day against the previous close, in daily σ) or built over
    # the holding period (the purchase price, in σ·√days); the larger counts.
    prev_close = _previous_close(data, instrument, sale_day)
    day_z = float(np.log(sell_vwap / prev_close)) / sigma if np.isfinite(prev_close) else -np.inf
    price_z = float(max(rise / (sigma * np.sqrt(held_days)), day_z))
    v_ratio, z_ratio = volume_ratio / p["min_volume_ratio"], price_z / p["min_price_z"]
    # Volume and price evidence trade off: each must reach half its threshold and together
    # their product must reach 1 (a score of 50 on the surge alone).
    if min(v_ratio, z_ratio) < SURGE_FLOOR or v_ratio * z_ratio < 1.0:
        return None

    acc_days = int(p["accumulation_days"])
    ai_rows = rows.of_ai(ai_code)
    ai_day = trades.ts_us[ai_rows] // US_PER_DAY
    buys = ai_rows[(ai_day >= sale_day - acc_days) & (ai_day < sale_day) & (trades.side[ai_rows] > 0)]
    evidence = np.concatenate((buys, sells))
    fraction = sold / accumulated
    score = odds_score(
        [
            accumulated / typical_volume / (p["min_accumulation_adv_pct"] / 100.0),
            fraction / (p["min_sell_fraction_pct"] / 100.0),
            volume_ratio / p["min_volume_ratio"],
            price_z / p["min_price_z"],
        ]
    )
    first_buy = int(trades.ts_us[buys].min()) if len(buys) else s0
    summary = (
        f"Bought a net {accumulated:,.0f} shares of instrument {instrument} over the "
        f"{sale_day - first_buy // US_PER_DAY} days before, then sold {sold:,.0f} ({100 * fraction:.0f}%) while "
        f"volume ran at {volume_ratio:.1f}× normal and the price had surged {price_z:.1f}σ, "
        f"{100 * np.expm1(rise):+.1f}% over its purchase price."
    )
    order_ids = trades.order_id[evidence]
    return Detection(
        scenario=SCENARIO,
        account=int(trades.account[sells[0]]),
        instrument=instrument,
        start_us=first_buy,
        end_us=int(trades.ts_us[sells].max()),
        score=score,
        summary=summary,
        order_ids=tuple(sorted({int(x) for x in order_ids[order_ids >= 0]})),
        trade_ids=tuple(sorted(int(x) for x in trades.trade_id[evidence])),
        features={
            "accumulated_shares": accumulated,
            "accumulation_adv_pct": round(100.0 * accumulated / typical_volume, 4),
            "sold_shares": sold,
            "sold_fraction_pct": round(100.0 * fraction, 3),
            "surge_volume_ratio": round(volume_ratio, 4),
            "sell_vs_buy_price_pct": round(100.0 * float(np.expm1(rise)), 4),
            "surge_price_sigma": round(price_z, 3),
            "holding_days": round(held_days, 3),
        },
    )


SPEC = DetectorSpec(
    scenario=SCENARIO,
    title="Pump and dump",
    params=(
        Param(
            "accumulation_days",
            10.0,
            1.0,
            90.0,
            "days",
            "Calendar days before the sale day over which net buying counts as accumulation.",
            integer=True,
        ),
        Param(
            "min_accumulation_adv_pct",
            3.0,
            0.01,
            500.0,
            "% ADV",
            "Net quantity accumulated, as a share of the instrument's typical daily public volume.",
        ),
        Param(
            "min_sell_fraction_pct",
            50.0,
            1.0,
            500.0,
            "%",
            "Quantity sold on the surge day as a share of the quantity accumulated.",
        ),
        Param(
            "min_volume_ratio",
            2.0,
            1.0,
            100.0,
            "×",
            "Public volume rate while the account sold, as a multiple of the typical rate.",
        ),
        Param(
            "min_price_z",
            1.5,
            0.1,
            20.0,
            "σ",
            "Price surge the account sold into: the larger of its sale price over the previous close in daily σ "
            "and over its purchase price in σ·√(days held).",
        ),
        Param(
            "surge_window_min",
            60.0,
            5.0,
            390.0,
            "min",
            "Shortest window, around the account's sales, over which the volume rate is measured.",
        ),
        Param(
            "vol_window_days",
            20.0,
            5.0,
            250.0,
            "days",
            "Daily bars used for the instrument's daily volatility.",
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
        "EU MAR (Regulation 596/2014) Art. 12(1)(a) and (c), Annex I A(d) and B(a)",
        "Commission Delegated Regulation (EU) 2016/522 Annex II Section 1 point 4(c) and Section 2 point 1(c) "
        "(pump and dump)",
    ),
)
