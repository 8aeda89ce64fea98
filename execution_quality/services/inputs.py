"""Load the TCA engine's columnar inputs (``execution_quality.engine.types``) for a set of parent orders.

Not a service (it writes nothing). PostgreSQL streams each table with ``COPY (SELECT …) TO
STDOUT`` into pandas; other databases (the embedded SQLite default) go through a cursor.
Timestamps become int64 microseconds since the epoch (UTC); the shared model keeps
microseconds, so nothing is rounded.

Conventions (docs/tca-methodology.md):

- A parent order is an ``Order`` without a parent; its fills are the trades of the parent itself
  and of its child orders. A fill's venue and broker are the trade's, else its child order's,
  else the parent's. Its fee is the trade's commission.
- An order ends (``end_us``) at the latest of its arrival, its last fill and the last cancel,
  reject or fill event of the parent or a child: when it stopped working.
- Quotes and prints are read per instrument over whole UTC days, from the first order's arrival
  day to the last order's end day (the PWP window and the markouts need the rest of the day).
  Prints sharing a timestamp are ordered by price, then size, whatever order they were stored in.
  Quotes of several venues are consolidated into one best bid and offer: at each update, the
  highest bid and the lowest ask in force across the instrument's venues.
- Daily bars reach ``BARS_LOOKBACK_DAYS`` calendar days back, enough for 60 trading days of
  history (ADV and volatility). Prices are the unadjusted ``close``; a bar without an ``open``
  takes its ``close`` as the open (the engine needs a price) and a bar without a volume counts 0.
- Venue, broker and order-type labels become int codes through :class:`Codes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection

from core.frames import epoch_us_sql, float_column, ids_clause, int_column, query_frame, side_column
from execution_quality.engine.types import (
    US_PER_DAY,
    DailyBars,
    Fills,
    FloatArray,
    IntArray,
    Orders,
    Quotes,
    Tape,
    bars_empty,
)

BARS_LOOKBACK_DAYS = 130  # calendar days: ≥ 60 trading days plus holidays
ORDER_TYPE_CODES: dict[str, int] = {"market": 0, "limit": 1}
_NO_INT: IntArray = np.empty(0, dtype=np.int64)
_NO_FLOAT: FloatArray = np.empty(0, dtype=np.float64)
#: SQLite caps bound parameters per statement; ids are sent in chunks of this size.
_SQLITE_CHUNK = 900


@dataclass(frozen=True)
class Codes:
    """A two-way map between text labels (venues, brokers) and the engine's int codes.

    Code ``k`` is ``labels[k]``; −1 (the engine's "none", e.g. the venue of an order without
    fills) is the empty label.
    """

    labels: tuple[str, ...]

    @classmethod
    def of(cls, values: Sequence[str]) -> Codes:
        return cls(tuple(sorted(set(values))))

    def codes(self, values: Sequence[str]) -> IntArray:
        index = {label: k for k, label in enumerate(self.labels)}
        return np.fromiter((index[v] for v in values), dtype=np.int64, count=len(values))

    def label(self, code: int) -> str:
        return self.labels[code] if 0 <= code < len(self.labels) else ""


@dataclass(frozen=True, eq=False)
class TcaInputs:
    """Everything a TCA run reads, and what the service needs to write results back.

    ``order_meta`` is aligned with ``orders`` rows (order_id, account_id, desk_id, instrument_id,
    side, order_type, quantity, arrival_us, end_us); ``fill_meta`` with ``fills`` rows (trade_id,
    order_id, child_order_id, ts_us, price, quantity, venue, broker), prices and quantities as
    the exact database text so results keep the stored decimals.
    """

    orders: Orders
    fills: Fills
    quotes: Quotes
    tape: Tape
    bars: DailyBars
    venues: Codes
    brokers: Codes
    order_meta: pd.DataFrame
    fill_meta: pd.DataFrame


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    if connection.vendor == "postgresql" or len(ids) <= _SQLITE_CHUNK:
        return [list(ids)]
    return [list(ids[i : i + _SQLITE_CHUNK]) for i in range(0, len(ids), _SQLITE_CHUNK)]


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------- orders and fills


def parent_orders_load(*, order_ids: Sequence[int]) -> pd.DataFrame:
    """The parent orders among ``order_ids`` (child ids are ignored), sorted by id."""
    frames = []
    for chunk in _chunks(sorted({int(i) for i in order_ids})):
        clause, params = ids_clause("o.id", chunk)
        sql = (
            f"SELECT o.id, o.account_id, a.desk_id, o.instrument_id, o.side, o.order_type, o.limit_price, "
            f"o.quantity, {epoch_us_sql('o.arrival_ts')} FROM portfolios_order o "
            f"JOIN portfolios_account a ON a.id = o.account_id WHERE o.parent_id IS NULL AND {clause}"
        )
        cols = [
            "order_id",
            "account_id",
            "desk_id",
            "instrument_id",
            "side",
            "order_type",
            "limit_price",
            "quantity",
            "arrival_us",
        ]
        frames.append(
            query_frame(sql, params, cols, ts_columns=["arrival_us"], text=["side", "order_type", "quantity"])
        )
    return _concat(frames).sort_values("order_id", kind="stable").reset_index(drop=True)


def fills_load(*, parent_ids: Sequence[int]) -> pd.DataFrame:
    """Every trade of the parents and their children, with the parent id and inherited venue/broker."""
    frames = []
    for chunk in _chunks(list(parent_ids)):
        c1, p1 = ids_clause("c.id", chunk)
        c2, p2 = ids_clause("c.parent_id", chunk)
        sql = (
            f"SELECT t.id, COALESCE(c.parent_id, c.id), t.order_id, t.instrument_id, t.side, {epoch_us_sql('t.ts')}, "
            "t.price, t.quantity, t.commission, "
            "COALESCE(NULLIF(t.venue, ''), NULLIF(c.venue, ''), NULLIF(p.venue, ''), ''), "
            "COALESCE(NULLIF(t.broker, ''), NULLIF(c.broker, ''), NULLIF(p.broker, ''), '') "
            "FROM portfolios_trade t JOIN portfolios_order c ON c.id = t.order_id "
            "LEFT JOIN portfolios_order p ON p.id = c.parent_id "
            f"WHERE ({c1} OR {c2})"
        )
        cols = [
            "trade_id",
            "order_id",
            "child_order_id",
            "instrument_id",
            "side",
            "ts_us",
            "price",
            "quantity",
            "fee",
            "venue",
            "broker",
        ]
        text = ["side", "price", "quantity", "venue", "broker"]
        frames.append(query_frame(sql, [*p1, *p2], cols, ts_columns=["ts_us"], text=text))
    return _concat(frames).sort_values(["order_id", "ts_us", "trade_id"], kind="stable").reset_index(drop=True)


def order_ends_load(*, parent_ids: Sequence[int]) -> pd.Series:
    """Per parent id, the time (µs) of the last cancel, reject or fill event of the parent or a child."""
    frames = []
    for chunk in _chunks(list(parent_ids)):
        c1, p1 = ids_clause("c.id", chunk)
        c2, p2 = ids_clause("c.parent_id", chunk)
        sql = (
            f"SELECT COALESCE(c.parent_id, c.id), MAX({epoch_us_sql('e.ts')}) FROM portfolios_orderevent e "
            "JOIN portfolios_order c ON c.id = e.order_id "
            f"WHERE e.event_type IN ('cancel', 'reject', 'fill', 'partial_fill') AND ({c1} OR {c2}) "
            "GROUP BY COALESCE(c.parent_id, c.id)"
        )
        frames.append(query_frame(sql, [*p1, *p2], ["order_id", "end_us"], ts_columns=["end_us"]))
    df = _concat(frames)
    return pd.Series(int_column(df["end_us"]), index=int_column(df["order_id"]), dtype="int64")


# ---------------------------------------------------------------------------- market data


def _day_windows(instrument: IntArray, first_us: IntArray, last_us: IntArray) -> list[tuple[int, datetime, datetime]]:
    """Per instrument, merged [day start, day after end) windows in UTC covering every order."""
    lo_day = first_us // US_PER_DAY
    hi_day = last_us // US_PER_DAY + 1
    windows: list[tuple[int, datetime, datetime]] = []
    order = np.lexsort((lo_day, instrument))
    cur: list[int] | None = None
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for k in order.tolist():
        inst, lo, hi = int(instrument[k]), int(lo_day[k]), int(hi_day[k])
        if cur is not None and cur[0] == inst and lo <= cur[2]:
            cur[2] = max(cur[2], hi)
            continue
        if cur is not None:
            windows.append((cur[0], epoch + timedelta(days=cur[1]), epoch + timedelta(days=cur[2])))
        cur = [inst, lo, hi]
    if cur is not None:
        windows.append((cur[0], epoch + timedelta(days=cur[1]), epoch + timedelta(days=cur[2])))
    return windows


def _windowed(table: str, columns: str, windows: list[tuple[int, datetime, datetime]]) -> tuple[str, list[Any]]:
    clauses = " OR ".join(["(x.instrument_id = %s AND x.ts >= %s AND x.ts < %s)"] * len(windows)) or "FALSE"
    params = [v for w in windows for v in w]
    return f"SELECT {columns} FROM {table} x WHERE {clauses}", params


def quotes_load(*, windows: list[tuple[int, datetime, datetime]]) -> Quotes:
    """Consolidated top of book over the windows, sorted by (instrument, ts)."""
    if not windows:
        return Quotes(instrument=_NO_INT, ts_us=_NO_INT, bid=_NO_FLOAT, ask=_NO_FLOAT)
    sql, params = _windowed(
        "portfolios_quote", f"x.instrument_id, {epoch_us_sql('x.ts')}, x.venue, x.bid, x.ask", windows
    )
    df = query_frame(sql, params, ["instrument", "ts_us", "venue", "bid", "ask"], ts_columns=["ts_us"], text=["venue"])
    if df.empty:
        return Quotes(instrument=_NO_INT, ts_us=_NO_INT, bid=_NO_FLOAT, ask=_NO_FLOAT)
    df["bid"], df["ask"] = float_column(df["bid"]), float_column(df["ask"])
    df = df.sort_values(["instrument", "ts_us", "venue"], kind="stable")
    if df.groupby("instrument")["venue"].nunique().max() > 1:
        df = _consolidate(df)
    return Quotes(
        instrument=int_column(df["instrument"]),
        ts_us=int_column(df["ts_us"]),
        bid=float_column(df["bid"]),
        ask=float_column(df["ask"]),
    )


def _consolidate(df: pd.DataFrame) -> pd.DataFrame:
    """Best bid and offer across venues after every update (each venue's quote holds until its next)."""
    wide = df.pivot_table(index=["instrument", "ts_us"], columns="venue", values=["bid", "ask"], aggfunc="last")
    wide = wide.groupby(level="instrument").ffill()
    out = pd.DataFrame({"bid": wide["bid"].max(axis=1), "ask": wide["ask"].min(axis=1)}).reset_index()
    return out.dropna(subset=["bid", "ask"])


def tape_load(*, windows: list[tuple[int, datetime, datetime]]) -> Tape:
    """Public prints over the windows, sorted by (instrument, ts)."""
    if not windows:
        return Tape(instrument=_NO_INT, ts_us=_NO_INT, price=_NO_FLOAT, quantity=_NO_FLOAT)
    sql, params = _windowed(
        "portfolios_markettrade", f"x.instrument_id, {epoch_us_sql('x.ts')}, x.price, x.quantity", windows
    )
    df = query_frame(sql, params, ["instrument", "ts_us", "price", "quantity"], ts_columns=["ts_us"])
    instrument, ts_us = int_column(df["instrument"]), int_column(df["ts_us"])
    price, quantity = float_column(df["price"]), float_column(df["quantity"])
    order = tape_order(instrument, ts_us, price, quantity)
    return Tape(instrument=instrument[order], ts_us=ts_us[order], price=price[order], quantity=quantity[order])


def tape_order(instrument: IntArray, ts_us: IntArray, price: FloatArray, quantity: FloatArray) -> IntArray:
    """Row order by (instrument, ts); prints sharing a microsecond by price, then size.

    Their true sequence is unknown, and the PWP counts only part of the print that completes
    its volume, so a fixed rule keeps it from depending on the order the rows happen to be
    stored in. Only the tied rows are sorted a second time (few: timestamps are µs).
    """
    order = np.lexsort((ts_us, instrument))
    inst, ts = instrument[order], ts_us[order]
    same = (inst[1:] == inst[:-1]) & (ts[1:] == ts[:-1])  # row k+1 ties with row k
    if same.any():
        block = np.cumsum(np.concatenate(([True], ~same)))  # id of each row's (instrument, ts) block
        tied = np.flatnonzero(np.concatenate(([False], same)) | np.concatenate((same, [False])))
        rows = order[tied]
        # Tied blocks are contiguous, so sorting their rows by (block, price, size) and putting
        # them back in the same places reorders each block in place.
        order[tied] = rows[np.lexsort((quantity[rows], price[rows], block[tied]))]
    return order


def bars_load(*, instrument_ids: Sequence[int], first_us: int, last_us: int) -> DailyBars:
    """Daily bars of the instruments from ``BARS_LOOKBACK_DAYS`` before the first day to the last day."""
    if not instrument_ids:
        return bars_empty()
    start = datetime.fromtimestamp(first_us / 1e6, tz=UTC).date() - timedelta(days=BARS_LOOKBACK_DAYS)
    end = datetime.fromtimestamp(last_us / 1e6, tz=UTC).date()
    clause, ids = ids_clause("b.instrument_id", list(instrument_ids))
    sql = (
        "SELECT b.instrument_id, b.date, b.open, b.close, b.volume FROM portfolios_pricebar b "
        f"WHERE b.date >= %s AND b.date <= %s AND {clause}"
    )
    df = query_frame(sql, [start, end, *ids], ["instrument", "date", "open", "close", "volume"], text=["date"])
    days = (pd.to_datetime(df["date"]) - pd.Timestamp("1970-01-01")).dt.days
    df = df.assign(day=days).sort_values(["instrument", "day"], kind="stable")
    close = float_column(df["close"])
    open_ = float_column(df["open"])
    return DailyBars(
        instrument=int_column(df["instrument"]),
        day=int_column(df["day"]),
        open=np.where(np.isfinite(open_) & (open_ > 0), open_, close),
        close=close,
        volume=np.nan_to_num(float_column(df["volume"]), nan=0.0),
    )


# ---------------------------------------------------------------------------- everything


def tca_inputs_load(*, order_ids: Sequence[int]) -> TcaInputs:
    """The orders among ``order_ids`` that are parents, their fills and the market data around them."""
    meta = parent_orders_load(order_ids=order_ids)
    parent_ids = int_column(meta["order_id"]).tolist()
    fills_df = fills_load(parent_ids=parent_ids)
    ends = order_ends_load(parent_ids=parent_ids)
    arrival = int_column(meta["arrival_us"])
    last_fill = fills_df.groupby("order_id")["ts_us"].max().reindex(meta["order_id"]).to_numpy(np.float64, na_value=-1)
    last_event = ends.reindex(meta["order_id"]).to_numpy(dtype=np.float64, na_value=-1)
    # µs timestamps (~1.7e15) are exact in float64 (< 2**53).
    end = np.maximum(arrival, np.maximum(last_fill, last_event).astype(np.int64))
    meta = meta.assign(end_us=end)

    venues = Codes.of(list(fills_df["venue"]))
    brokers = Codes.of(list(fills_df["broker"]))
    orders = Orders(
        order_id=int_column(meta["order_id"]),
        instrument=int_column(meta["instrument_id"]),
        side=side_column(meta["side"]),
        quantity=float_column(meta["quantity"]),
        arrival_us=arrival,
        end_us=end,
        limit_price=float_column(meta["limit_price"]),
        order_type=np.array([ORDER_TYPE_CODES[t] for t in meta["order_type"]], dtype=np.int64),
    )
    fills = Fills(
        execution_id=int_column(fills_df["trade_id"]),
        order_id=int_column(fills_df["order_id"]),
        child_order_id=int_column(fills_df["child_order_id"]),
        instrument=int_column(fills_df["instrument_id"]),
        side=side_column(fills_df["side"]),
        ts_us=int_column(fills_df["ts_us"]),
        price=float_column(fills_df["price"]),
        quantity=float_column(fills_df["quantity"]),
        fee=float_column(fills_df["fee"]),
        venue=venues.codes(list(fills_df["venue"])),
        broker=brokers.codes(list(fills_df["broker"])),
    )
    # Windows reach the last fill as well as the order's end (a fill reported after a cancel).
    reach = np.maximum(end, last_fill.astype(np.int64))
    windows = _day_windows(orders.instrument, arrival, reach)
    instruments = sorted(set(orders.instrument.tolist()))
    return TcaInputs(
        orders=orders,
        fills=fills,
        quotes=quotes_load(windows=windows),
        tape=tape_load(windows=windows),
        bars=bars_load(
            instrument_ids=instruments,
            first_us=int(arrival.min()) if arrival.size else 0,
            last_us=int(reach.max()) if reach.size else 0,
        ),
        venues=venues,
        brokers=brokers,
        order_meta=meta,
        fill_meta=fills_df,
    )
