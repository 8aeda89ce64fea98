"""The same core benchmarks in plain pandas: the speed baseline and a cross-check of ``tca_compute``.

Arrival price, interval VWAP, TWAP and slippage against them, written the way a pandas user
would: ``merge_asof`` by instrument for the as-of lookups and ``groupby(...).cumsum()`` for the
interval sums, with the definitions of docs/tca-methodology.md (arrival = mid of the last quote
at or before arrival; VWAP over prints with arrival ≤ t ≤ end; TWAP with each mid held to the
next quote; cost_bps = side · (avg fill − benchmark)/benchmark · 10⁴). Running sums are of prices
minus the instrument's first price, as any careful implementation must: a day of raw price × µs
or price × quantity would lose the short orders' digits. It shares no code with the engine
beyond the input tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from execution_quality.engine.types import Fills, Orders, Quotes, Tape

BASELINE_COLUMNS: tuple[str, ...] = (
    "order_id",
    "avg_price",
    "arrival_price",
    "vwap",
    "twap",
    "arrival_cost_bps",
    "vwap_cost_bps",
    "twap_cost_bps",
)


def _asof(left: pd.DataFrame, on: str, right: pd.DataFrame, *, exact: bool = True) -> pd.DataFrame:
    """For each left row, the last right row of the same instrument with ts_us ≤ left[on] (< if not exact)."""
    merged = pd.merge_asof(
        left.sort_values(on, kind="stable"),
        right,
        left_on=on,
        right_on="ts_us",
        by="instrument",
        direction="backward",
        allow_exact_matches=exact,
    )
    return merged.set_index("row").sort_index()


def baseline_compute(*, fills: Fills, orders: Orders, quotes: Quotes, tape: Tape) -> pd.DataFrame:
    """One row per order, in the input order, with :data:`BASELINE_COLUMNS`."""
    o = pd.DataFrame(
        {
            "row": np.arange(len(orders)),
            "order_id": orders.order_id,
            "instrument": orders.instrument,
            "side": orders.side.astype(np.float64),
            "arrival_us": orders.arrival_us,
            "end_us": orders.end_us,
        }
    )

    # Quotes: mid, and the running area under the mid up to each quote (each mid held to the next).
    # Areas are of (mid − the instrument's first mid): a day of raw mid·µs would swamp short orders.
    q = pd.DataFrame({"instrument": quotes.instrument, "ts_us": quotes.ts_us})
    q["mid"] = (quotes.bid + quotes.ask) / 2.0
    by_instrument = q.groupby("instrument", sort=False)
    q["ref"] = by_instrument["mid"].transform("first")
    next_ts = by_instrument["ts_us"].shift(-1)
    q["area"] = (q["mid"] - q["ref"]) * (next_ts - q["ts_us"]).fillna(0.0)
    q["area_before"] = q.groupby("instrument", sort=False)["area"].cumsum() - q["area"]
    q = q.drop(columns="area").sort_values("ts_us", kind="stable")

    at_arrival = _asof(o[["row", "instrument", "arrival_us"]], "arrival_us", q)
    at_end = _asof(o[["row", "instrument", "end_us"]], "end_us", q)
    o["arrival_price"] = at_arrival["mid"].to_numpy()
    area = (
        at_end["area_before"]
        + (at_end["mid"] - at_end["ref"]) * (at_end["end_us"] - at_end["ts_us"])
        - at_arrival["area_before"]
        - (at_arrival["mid"] - at_arrival["ref"]) * (at_arrival["arrival_us"] - at_arrival["ts_us"])
    ).to_numpy()
    span = (o["end_us"] - o["arrival_us"]).to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        o["twap"] = np.where(span > 0, at_arrival["ref"].to_numpy() + area / span, o["arrival_price"].to_numpy())

    # Tape: running notional and volume per instrument; VWAP = difference across [arrival, end].
    t = pd.DataFrame({"instrument": tape.instrument, "ts_us": tape.ts_us, "price": tape.price, "q": tape.quantity})
    t["ref"] = t.groupby("instrument", sort=False)["price"].transform("first")
    t["dev_q"] = (t["price"] - t["ref"]) * t["q"]
    t["cum_pq"] = t.groupby("instrument", sort=False)["dev_q"].cumsum()
    t["cum_q"] = t.groupby("instrument", sort=False)["q"].cumsum()
    t = t[["instrument", "ts_us", "ref", "cum_pq", "cum_q"]].sort_values("ts_us", kind="stable")
    before = _asof(o[["row", "instrument", "arrival_us"]], "arrival_us", t, exact=False)
    through = _asof(o[["row", "instrument", "end_us"]], "end_us", t)
    volume = (through["cum_q"].fillna(0.0) - before["cum_q"].fillna(0.0)).to_numpy()
    notional = (through["cum_pq"].fillna(0.0) - before["cum_pq"].fillna(0.0)).to_numpy()
    ref = through["ref"].fillna(before["ref"]).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        o["vwap"] = np.where(volume > 0, ref + notional / volume, np.nan)

    # Average fill price per order.
    f = pd.DataFrame({"order_id": fills.order_id, "q": fills.quantity, "pq": fills.price * fills.quantity})
    sums = f.groupby("order_id")[["q", "pq"]].sum()
    avg = (sums["pq"] / sums["q"]).rename("avg_price")
    o = o.merge(avg, how="left", left_on="order_id", right_index=True).sort_values("row")

    for name in ("arrival", "vwap", "twap"):
        bench = o["arrival_price" if name == "arrival" else name]
        o[f"{name}_cost_bps"] = o["side"] * (o["avg_price"] - bench) / bench * 1e4
    return o[list(BASELINE_COLUMNS)].reset_index(drop=True)
