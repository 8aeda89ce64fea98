"""Markouts: how the mid moved after each fill, at fixed horizons (1 s, 5 s, 1 min, 5 min).

markout_h = s · (m(t + h) − p) / p · 10⁴ bps, with ``s`` +1 buy / −1 sell, ``p`` the fill price and
m(t + h) the mid of the last quote at or before t + h.

**Sign: positive = the price moved in the trade's favour, good for the client** (a buy followed
by a rise). A markout is a gain, not a cost: it is the one figure of the engine signed the other
way from ``cost_bps``. Persistently negative short-horizon markouts mean the fills are adversely
selected (the counterparty knew better). The realised spread of ``spreads`` is, up to its
denominator, −2 × the markout at the same horizon.

A horizon past the instrument's last quote in the data uses that last quote (e.g. the closing
quote for a fill just before the close) and the execution is flagged ``MARKOUT_BEYOND_DATA``.
"""

from __future__ import annotations

import numpy as np

from execution_quality.engine.benchmarks import QuoteBook
from execution_quality.engine.timeline import Located
from execution_quality.engine.types import BPS, FloatArray, Int8Array, IntArray, TcaFlag


def markout_bps(side: Int8Array | FloatArray, price: FloatArray, mid_later: FloatArray) -> FloatArray:
    """side · (mid_later − price)/price · 10⁴: positive when the market moved the trade's way."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = side * (mid_later - price) / price * BPS
    return out


def fill_markouts_compute(
    *,
    quote_book: QuoteBook,
    located: Located,
    side: Int8Array,
    price: FloatArray,
    ts_us: IntArray,
    horizons_us: tuple[int, ...],
) -> tuple[FloatArray, IntArray]:
    """(n_fills × n_horizons markouts in bps, flags) for every fill and horizon."""
    n = price.size
    out = np.full((n, len(horizons_us)), np.nan)
    flags = np.zeros(n, dtype=np.int64)
    if quote_book.mid.size == 0 or n == 0:
        return out, flags
    for k, h in enumerate(horizons_us):
        row, ok = quote_book.last_at_or_before(located, ts_us + h)
        out[:, k] = markout_bps(side, price, np.where(ok, quote_book.mid[row], np.nan))
    has_rows = located.hi > located.lo
    last_ts = quote_book.timeline.ts[np.maximum(located.hi - 1, 0)]
    beyond = has_rows & (ts_us + max(horizons_us) > last_ts)
    flags |= np.where(beyond, int(TcaFlag.MARKOUT_BEYOND_DATA), 0)
    return out, flags
