"""Load the columnar detection inputs (``surveillance.engine.types``) from the database.

Each table is read with ``core.frames.query_frame`` (COPY into pandas on PostgreSQL).
Timestamps become int64 microseconds since the epoch (UTC).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from core.frames import (
    bool_column,
    epoch_us_sql,
    float_column,
    ids_clause,
    int_column,
    query_frame,
    side_column,
)
from surveillance.engine.types import (
    ACCOUNT_KIND_BY_NAME,
    EVENT_KIND_BY_NAME,
    Accounts,
    DailyBars,
    EventKind,
    NewsEvents,
    OrderEvents,
    Quotes,
    SurveillanceData,
    Tape,
    Trades,
)

# Daily bars reach this far back for average daily volume and volatility, and a little past the
# window so the return after a late news item is known.
BARS_LOOKBACK_DAYS = 90
BARS_LOOKAHEAD_DAYS = 10


def _instrument_clause(alias: str, instrument_ids: Sequence[int] | None) -> tuple[str, list[Any]]:
    if instrument_ids is None:
        return "", []
    clause, params = ids_clause(f"{alias}.instrument_id", instrument_ids)
    return f" AND {clause}", params


def order_events_load(*, since: datetime, until: datetime, instrument_ids: Sequence[int] | None = None) -> OrderEvents:
    """Every event of orders that reach the market (parents, whose fills mirror their children's,
    are left out) with ``since <= ts < until``, sorted by time."""
    clause, ids = _instrument_clause("o", instrument_ids)
    sql = (
        f"SELECT e.order_id, o.account_id, o.instrument_id, o.side, e.event_type, {epoch_us_sql('e.ts')}, e.price, "
        "e.quantity, o.quantity, o.limit_price, e.sequence "
        "FROM portfolios_orderevent e JOIN portfolios_order o ON o.id = e.order_id "
        "WHERE e.ts >= %s AND e.ts < %s AND NOT EXISTS "
        "(SELECT 1 FROM portfolios_order c WHERE c.parent_id = o.id)" + clause
    )
    cols = [
        "order_id",
        "account",
        "instrument",
        "side",
        "kind",
        "ts_us",
        "price",
        "quantity",
        "order_qty",
        "limit",
        "seq",
    ]
    df = query_frame(sql, [since, until, *ids], cols, ts_columns=["ts_us"])
    if df.empty:
        return OrderEvents()
    df["kind"] = df["kind"].map(EVENT_KIND_BY_NAME).astype("int8")
    for c in ("price", "quantity", "order_qty", "limit"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    df = df.sort_values(["order_id", "seq"], kind="stable")
    # The quantity in force: the order's, until a replace sets a new total.
    is_replace = df["kind"] == EventKind.REPLACE
    df["in_force_qty"] = df["quantity"].where(is_replace).groupby(df["order_id"]).ffill().fillna(df["order_qty"])
    # The limit in force: the order's, until a replace re-prices it; fills keep their own price.
    is_quote = df["kind"].isin([EventKind.NEW, EventKind.REPLACE])
    quoted = df["price"].where(is_quote & df["price"].notna())
    df["limit_in_force"] = quoted.groupby(df["order_id"]).ffill().fillna(df["limit"])
    is_fill = df["kind"].isin([EventKind.PARTIAL_FILL, EventKind.FILL])
    df["price"] = df["price"].where(is_fill, df["limit_in_force"])
    filled = df["quantity"].where(is_fill, 0.0).groupby(df["order_id"]).cumsum()
    is_cancel = df["kind"] == EventKind.CANCEL
    open_qty = (df["in_force_qty"] - filled).clip(lower=0.0)
    df["quantity"] = df["quantity"].where(~is_cancel, open_qty).where(~is_quote, df["in_force_qty"])
    df = df.sort_values(["ts_us", "order_id", "seq"], kind="stable")
    return OrderEvents(
        order_id=int_column(df["order_id"]),
        account=int_column(df["account"]),
        instrument=int_column(df["instrument"]),
        side=side_column(df["side"]),
        kind=df["kind"].to_numpy(dtype=np.int8),
        ts_us=int_column(df["ts_us"]),
        price=float_column(df["price"]),
        quantity=float_column(df["quantity"]),
        order_quantity=float_column(df["in_force_qty"]),
    )


def trades_load(*, since: datetime, until: datetime, instrument_ids: Sequence[int] | None = None) -> Trades:
    clause, ids = _instrument_clause("t", instrument_ids)
    sql = (
        "SELECT t.id, t.order_id, t.account_id, t.counterparty_account_id, t.instrument_id, t.side, "
        f"{epoch_us_sql('t.ts')}, t.price, t.quantity FROM portfolios_trade t WHERE t.ts >= %s AND t.ts < %s" + clause
    )
    cols = ["trade_id", "order_id", "account", "counterparty", "instrument", "side", "ts_us", "price", "quantity"]
    df = query_frame(sql, [since, until, *ids], cols, ts_columns=["ts_us"])
    if df.empty:
        return Trades()
    df = df.sort_values(["ts_us", "trade_id"], kind="stable")
    return Trades(
        trade_id=int_column(df["trade_id"]),
        order_id=int_column(df["order_id"]),
        account=int_column(df["account"]),
        counterparty=int_column(df["counterparty"]),
        instrument=int_column(df["instrument"]),
        side=side_column(df["side"]),
        ts_us=int_column(df["ts_us"]),
        price=float_column(df["price"]),
        quantity=float_column(df["quantity"]),
    )


def quotes_load(*, since: datetime, until: datetime, instrument_ids: Sequence[int] | None = None) -> Quotes:
    clause, ids = _instrument_clause("q", instrument_ids)
    sql = (
        f"SELECT q.instrument_id, {epoch_us_sql('q.ts')}, q.bid, q.ask, q.bid_size, q.ask_size FROM portfolios_quote q "
        "WHERE q.ts >= %s AND q.ts < %s" + clause
    )
    cols = ["instrument", "ts_us", "bid", "ask", "bid_size", "ask_size"]
    df = query_frame(sql, [since, until, *ids], cols, ts_columns=["ts_us"])
    if df.empty:
        return Quotes()
    df = df.sort_values(["ts_us", "instrument"], kind="stable")
    return Quotes(
        instrument=int_column(df["instrument"]),
        ts_us=int_column(df["ts_us"]),
        bid=float_column(df["bid"]),
        ask=float_column(df["ask"]),
        bid_size=float_column(df["bid_size"]),
        ask_size=float_column(df["ask_size"]),
    )


def tape_load(*, since: datetime, until: datetime, instrument_ids: Sequence[int] | None = None) -> Tape:
    clause, ids = _instrument_clause("m", instrument_ids)
    sql = (
        f"SELECT m.instrument_id, {epoch_us_sql('m.ts')}, m.price, m.quantity FROM portfolios_markettrade m "
        "WHERE m.ts >= %s AND m.ts < %s" + clause
    )
    df = query_frame(sql, [since, until, *ids], ["instrument", "ts_us", "price", "quantity"], ts_columns=["ts_us"])
    if df.empty:
        return Tape()
    df = df.sort_values(["ts_us", "instrument"], kind="stable")
    return Tape(
        instrument=int_column(df["instrument"]),
        ts_us=int_column(df["ts_us"]),
        price=float_column(df["price"]),
        quantity=float_column(df["quantity"]),
    )


def news_load(*, since: datetime, until: datetime, instrument_ids: Sequence[int] | None = None) -> NewsEvents:
    clause, ids = _instrument_clause("n", instrument_ids)
    sql = (
        f"SELECT n.id, n.instrument_id, {epoch_us_sql('n.ts')}, n.price_sensitive FROM portfolios_marketevent n "
        "WHERE n.ts >= %s AND n.ts < %s" + clause
    )
    df = query_frame(sql, [since, until, *ids], ["event_id", "instrument", "ts_us", "sensitive"], ts_columns=["ts_us"])
    if df.empty:
        return NewsEvents()
    df = df.sort_values(["ts_us", "event_id"], kind="stable")
    return NewsEvents(
        event_id=int_column(df["event_id"]),
        instrument=int_column(df["instrument"]),
        ts_us=int_column(df["ts_us"]),
        price_sensitive=bool_column(df["sensitive"]),
    )


def bars_load(*, start: date, end: date, instrument_ids: Sequence[int] | None = None) -> DailyBars:
    clause, ids = _instrument_clause("b", instrument_ids)
    sql = (
        "SELECT b.instrument_id, b.date, b.close, b.volume FROM portfolios_pricebar b "
        "WHERE b.date >= %s AND b.date <= %s" + clause
    )
    df = query_frame(sql, [start, end, *ids], ["instrument", "date", "close", "volume"])
    if df.empty:
        return DailyBars()
    days = (pd.to_datetime(df["date"]) - pd.Timestamp("1970-01-01")).dt.days
    df = df.assign(day=days).sort_values(["instrument", "day"], kind="stable").drop_duplicates(["instrument", "day"])
    return DailyBars(
        instrument=int_column(df["instrument"]),
        day=int_column(df["day"]),
        close=float_column(df["close"]),
        volume=float_column(df["volume"]),
    )


def accounts_load() -> Accounts:
    """Every account with its owner, kind and economic group: the connected components of
    "same beneficial owner" and "linked accounts" (union-find over both relations)."""
    df = query_frame(
        "SELECT a.id, a.owner_id, a.kind, o.is_employee FROM portfolios_account a "
        "JOIN portfolios_beneficialowner o ON o.id = a.owner_id",
        [],
        ["account_id", "owner", "kind", "employee"],
    )
    links = query_frame("SELECT from_account_id, to_account_id FROM portfolios_account_linked_accounts", [], ["a", "b"])
    if df.empty:
        return Accounts()
    df = df.sort_values("account_id")
    ids = int_column(df["account_id"])
    position = {int(a): k for k, a in enumerate(ids)}
    parent = list(range(len(ids)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(x: int, y: int) -> None:
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)

    first_of_owner: dict[int, int] = {}
    for k, owner in enumerate(int_column(df["owner"]).tolist()):
        union(k, first_of_owner.setdefault(owner, k))
    for a, b in zip(int_column(links["a"]).tolist(), int_column(links["b"]).tolist(), strict=True):
        if a in position and b in position:
            union(position[a], position[b])
    group = np.array([int(ids[find(k)]) for k in range(len(ids))], dtype=np.int64)
    return Accounts(
        account_id=ids,
        owner=int_column(df["owner"]),
        kind=df["kind"].map(ACCOUNT_KIND_BY_NAME).to_numpy(dtype=np.int8),
        group=group,
        is_employee=bool_column(df["employee"]),
    )


def surveillance_data_load(
    *, since: datetime, until: datetime, instrument_ids: Sequence[int] | None = None
) -> SurveillanceData:
    """Everything a detection pass over ``[since, until)`` reads, optionally for some instruments.

    Bars reach ``BARS_LOOKBACK_DAYS`` before and ``BARS_LOOKAHEAD_DAYS`` after the window.
    """
    return SurveillanceData(
        orders=order_events_load(since=since, until=until, instrument_ids=instrument_ids),
        trades=trades_load(since=since, until=until, instrument_ids=instrument_ids),
        quotes=quotes_load(since=since, until=until, instrument_ids=instrument_ids),
        tape=tape_load(since=since, until=until, instrument_ids=instrument_ids),
        news=news_load(since=since, until=until, instrument_ids=instrument_ids),
        bars=bars_load(
            start=since.date() - timedelta(days=BARS_LOOKBACK_DAYS),
            end=until.date() + timedelta(days=BARS_LOOKAHEAD_DAYS),
            instrument_ids=instrument_ids,
        ),
        accounts=accounts_load(),
    )
