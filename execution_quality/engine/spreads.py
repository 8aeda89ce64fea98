"""Effective and realised spreads, spread capture and off-quote fills, per execution.

Definitions (docs/tca-methodology.md §Spreads; SEC Rule 605 / Regulation NMS "effective" and
"realized" spreads; Bessembinder & Kaufman 1997; Hasbrouck, *Empirical Market Microstructure*,
2007, ch. 3), with ``s`` +1 for a buy and −1 for a sell, ``p`` the fill price and ``m`` the mid of
the quote prevailing at the fill:

- effective spread  = 2 · s · (p − m) / m · 10⁴ bps (positive = paid more than the mid);
- realised spread   = 2 · s · (p − m_Δ) / m · 10⁴ bps with m_Δ the mid Δ after the fill
  (Δ = 5 minutes by default): what a liquidity provider keeps after the price moved on;
- price impact      = effective − realised = 2 · s · (m_Δ − m) / m · 10⁴ bps;
- spread capture    = (ask − p)/(ask − bid) for a buy, (p − bid)/(ask − bid) for a sell:
  0 = paid the far touch (the whole spread), ½ = the mid, 1 = the near touch; NaN when the
  quote is locked or crossed;
- a fill below the bid or above the ask of the prevailing quote is flagged ``OUTSIDE_QUOTE``.

The prevailing quote is the last one strictly *before* the fill's timestamp: a quote stamped at
the same microsecond usually already reflects the fill itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execution_quality.engine.benchmarks import QuoteBook
from execution_quality.engine.timeline import Located
from execution_quality.engine.types import BPS, BoolArray, FloatArray, Int8Array, IntArray, TcaFlag


def effective_spread_bps(side: Int8Array | FloatArray, price: FloatArray, mid: FloatArray) -> FloatArray:
    """2 · side · (price − mid)/mid · 10⁴: the round-trip cost implied by this fill."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = 2.0 * side * (price - mid) / mid * BPS
    return out


def realised_spread_bps(
    side: Int8Array | FloatArray, price: FloatArray, mid: FloatArray, mid_later: FloatArray
) -> FloatArray:
    """2 · side · (price − mid_later)/mid · 10⁴: the effective spread net of the later price move."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = 2.0 * side * (price - mid_later) / mid * BPS
    return out


def spread_capture(side: Int8Array | FloatArray, price: FloatArray, bid: FloatArray, ask: FloatArray) -> FloatArray:
    """Share of the quoted spread the client kept: 0 at the far touch, ½ at the mid, 1 at the near touch."""
    width = ask - bid
    with np.errstate(invalid="ignore", divide="ignore"):
        kept = np.where(side > 0, ask - price, price - bid) / width
    return np.where(width > 0, kept, np.nan)


@dataclass(frozen=True, eq=False)
class FillSpreads:
    """Per execution: the prevailing quote and the spread measures (bps unless named otherwise)."""

    bid: FloatArray
    ask: FloatArray
    mid: FloatArray
    quoted_spread_bps: FloatArray  # (ask − bid)/mid · 10⁴
    effective_spread_bps: FloatArray
    realised_spread_bps: FloatArray
    price_impact_bps: FloatArray
    spread_capture: FloatArray  # fraction, see module docstring
    outside_quote: BoolArray
    flags: IntArray


def fill_spreads_compute(
    *,
    quote_book: QuoteBook,
    located: Located,
    side: Int8Array,
    price: FloatArray,
    ts_us: IntArray,
    horizon_us: int,
) -> FillSpreads:
    """Spread measures of every fill against the quote prevailing just before it."""
    n = price.size
    row, ok = quote_book.last_at_or_before(located, ts_us, strict=True)
    later, ok_later = quote_book.last_at_or_before(located, ts_us + horizon_us)
    if quote_book.mid.size:
        bid = np.where(ok, quote_book.bid[row], np.nan)
        ask = np.where(ok, quote_book.ask[row], np.nan)
        mid = np.where(ok, quote_book.mid[row], np.nan)
        mid_later = np.where(ok_later, quote_book.mid[later], np.nan)
    else:
        bid = ask = mid = mid_later = np.full(n, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        quoted = (ask - bid) / mid * BPS
    effective = effective_spread_bps(side, price, mid)
    realised = realised_spread_bps(side, price, mid, mid_later)
    outside = ok & ((price < bid) | (price > ask))
    crossed = ok & (bid >= ask)
    flags = np.zeros(n, dtype=np.int64)
    flags |= np.where(ok, 0, int(TcaFlag.NO_FILL_QUOTE))
    flags |= np.where(outside, int(TcaFlag.OUTSIDE_QUOTE), 0)
    flags |= np.where(crossed, int(TcaFlag.LOCKED_OR_CROSSED), 0)
    return FillSpreads(
        bid=bid,
        ask=ask,
        mid=mid,
        quoted_spread_bps=quoted,
        effective_spread_bps=effective,
        realised_spread_bps=realised,
        price_impact_bps=effective - realised,
        spread_capture=spread_capture(side, price, bid, ask),
        outside_quote=outside,
        flags=flags,
    )
