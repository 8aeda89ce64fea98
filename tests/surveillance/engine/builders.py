"""Tiny hand-built surveillance inputs for engine tests: tables from lists of dicts.

Times are given in seconds after ``T0`` (the session open of a fixed winter day, UTC) and
converted to epoch microseconds; sides may be ``"buy"``/``"sell"`` or ±1; event kinds are the
``OrderEvent`` type names. Every builder sorts its rows the way ``surveillance.engine.types``
requires, so a test can list rows in whatever order reads best.

Typical use::

    events = [*order_life(1, account=10, side="buy", at_s=0, price=99.9, quantity=5_000, cancel_s=2)]
    data = market(orders=events, trades=fills_as_trades(events), accounts=[{"account_id": 10}])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from surveillance.engine.types import (
    ACCOUNT_KIND_BY_NAME,
    EVENT_KIND_BY_NAME,
    US_PER_DAY,
    US_PER_SECOND,
    Accounts,
    DailyBars,
    NewsEvents,
    OrderEvents,
    Quotes,
    SurveillanceData,
    Tape,
    Trades,
)

DAY = 20_088  # 2024-12-31, days since the epoch (a winter day: the session is 14:30–21:00 UTC)
OPEN_US = DAY * US_PER_DAY + (14 * 60 + 30) * 60 * US_PER_SECOND
T0 = OPEN_US

Row = Mapping[str, Any]


def at(seconds: float, day: int = 0) -> int:
    """Epoch µs of ``seconds`` after the open of ``DAY + day``."""
    return int(OPEN_US + day * US_PER_DAY + round(seconds * US_PER_SECOND))


def _side(value: Any) -> int:
    if isinstance(value, str):
        return {"buy": 1, "sell": -1}[value]
    return 1 if value > 0 else -1


def _ts(row: Row) -> int:
    if "ts_us" in row:
        return int(row["ts_us"])
    return at(float(row.get("t", 0.0)), int(row.get("day", 0)))


def _order(keys: Sequence[Sequence[float]]) -> np.ndarray:
    """Row order sorting by the first key, then the next ones (as ``np.lexsort`` wants them reversed)."""
    if not keys or not len(keys[0]):
        return np.empty(0, np.int64)
    return np.lexsort(tuple(np.asarray(k) for k in reversed(keys)))


# ---------------------------------------------------------------------------- orders and trades


def order_events(rows: Iterable[Row]) -> OrderEvents:
    """Rows with ``order_id, account, instrument (default 1), side, kind, t|ts_us, price,
    quantity, order_quantity`` (``order_quantity`` defaults to ``quantity`` for new/replace;
    missing prices are NaN)."""
    rows = list(rows)
    ts = [_ts(r) for r in rows]
    oq: list[float] = []
    totals: dict[int, float] = {}
    for r in sorted(rows, key=_ts):
        oid = int(r["order_id"])
        if r["kind"] in ("new", "replace"):
            totals[oid] = float(r.get("order_quantity", r["quantity"]))
    for r in rows:
        oq.append(float(r.get("order_quantity", totals.get(int(r["order_id"]), r.get("quantity", 0.0)))))
    order = _order([ts, [int(r["order_id"]) for r in rows]])

    def col(values: list[Any], dtype: type) -> np.ndarray:
        return np.asarray(values, dtype=dtype)[order] if values else np.empty(0, dtype)

    return OrderEvents(
        order_id=col([int(r["order_id"]) for r in rows], np.int64),
        account=col([int(r["account"]) for r in rows], np.int64),
        instrument=col([int(r.get("instrument", 1)) for r in rows], np.int64),
        side=col([_side(r["side"]) for r in rows], np.int8),
        kind=col([EVENT_KIND_BY_NAME[r["kind"]] for r in rows], np.int8),
        ts_us=col(ts, np.int64),
        price=col([float(r["price"]) if r.get("price") is not None else np.nan for r in rows], np.float64),
        quantity=col([float(r.get("quantity", 0.0)) for r in rows], np.float64),
        order_quantity=col(oq, np.float64),
    )


def order_life(
    order_id: int,
    *,
    account: int,
    side: str | int,
    at_s: float,
    quantity: float,
    price: float | None = None,
    instrument: int = 1,
    cancel_s: float | None = None,
    fills: Sequence[tuple[float, float, float]] = (),
    day: int = 0,
) -> list[dict[str, Any]]:
    """Event rows of one order: ``new`` at ``at_s``, ``fills`` as ``(t_s, price, qty)``
    (``partial_fill`` until complete, then ``fill``), then a ``cancel`` of the rest at
    ``cancel_s`` if given."""
    base = {"order_id": order_id, "account": account, "instrument": instrument, "side": side, "day": day}
    rows: list[dict[str, Any]] = [{**base, "kind": "new", "t": at_s, "price": price, "quantity": quantity}]
    filled = 0.0
    for t, px, qty in fills:
        filled += qty
        kind = "fill" if filled >= quantity else "partial_fill"
        rows.append({**base, "kind": kind, "t": t, "price": px, "quantity": qty, "order_quantity": quantity})
    if cancel_s is not None and filled < quantity:
        rows.append(
            {
                **base,
                "kind": "cancel",
                "t": cancel_s,
                "price": price,
                "quantity": quantity - filled,
                "order_quantity": quantity,
            }
        )
    return rows


def trades(rows: Iterable[Row]) -> Trades:
    """Rows with ``trade_id, account, instrument (1), side, t|ts_us, price, quantity``, optional
    ``order_id`` and ``counterparty`` (-1 when absent)."""
    rows = list(rows)
    ts = [_ts(r) for r in rows]
    order = _order([ts, [int(r["trade_id"]) for r in rows]])

    def col(values: list[Any], dtype: type) -> np.ndarray:
        return np.asarray(values, dtype=dtype)[order] if values else np.empty(0, dtype)

    return Trades(
        trade_id=col([int(r["trade_id"]) for r in rows], np.int64),
        order_id=col([int(r.get("order_id", -1)) for r in rows], np.int64),
        account=col([int(r["account"]) for r in rows], np.int64),
        counterparty=col([int(r.get("counterparty", -1)) for r in rows], np.int64),
        instrument=col([int(r.get("instrument", 1)) for r in rows], np.int64),
        side=col([_side(r["side"]) for r in rows], np.int8),
        ts_us=col(ts, np.int64),
        price=col([float(r["price"]) for r in rows], np.float64),
        quantity=col([float(r["quantity"]) for r in rows], np.float64),
    )


def fills_as_trades(events: Iterable[Row], first_trade_id: int = 1) -> list[dict[str, Any]]:
    """Trade rows for every ``partial_fill``/``fill`` row of ``events`` (one trade per fill)."""
    out: list[dict[str, Any]] = []
    for r in events:
        if r["kind"] in ("fill", "partial_fill"):
            out.append(
                {
                    "trade_id": first_trade_id + len(out),
                    "order_id": r["order_id"],
                    "account": r["account"],
                    "instrument": r.get("instrument", 1),
                    "side": r["side"],
                    "ts_us": _ts(r),
                    "price": r["price"],
                    "quantity": r["quantity"],
                }
            )
    return out


# ---------------------------------------------------------------------------- market data


def quotes(rows: Iterable[Row]) -> Quotes:
    """Rows with ``instrument (1), t|ts_us, bid, ask, bid_size (100), ask_size (100)``."""
    rows = list(rows)
    ts = [_ts(r) for r in rows]
    order = _order([ts, [int(r.get("instrument", 1)) for r in rows]])

    def col(values: list[Any], dtype: type) -> np.ndarray:
        return np.asarray(values, dtype=dtype)[order] if values else np.empty(0, dtype)

    return Quotes(
        instrument=col([int(r.get("instrument", 1)) for r in rows], np.int64),
        ts_us=col(ts, np.int64),
        bid=col([float(r["bid"]) for r in rows], np.float64),
        ask=col([float(r["ask"]) for r in rows], np.float64),
        bid_size=col([float(r.get("bid_size", 100.0)) for r in rows], np.float64),
        ask_size=col([float(r.get("ask_size", 100.0)) for r in rows], np.float64),
    )


def tape(rows: Iterable[Row]) -> Tape:
    """Rows with ``instrument (1), t|ts_us, price, quantity``."""
    rows = list(rows)
    ts = [_ts(r) for r in rows]
    order = _order([ts])

    def col(values: list[Any], dtype: type) -> np.ndarray:
        return np.asarray(values, dtype=dtype)[order] if values else np.empty(0, dtype)

    return Tape(
        instrument=col([int(r.get("instrument", 1)) for r in rows], np.int64),
        ts_us=col(ts, np.int64),
        price=col([float(r["price"]) for r in rows], np.float64),
        quantity=col([float(r["quantity"]) for r in rows], np.float64),
    )


def news(rows: Iterable[Row]) -> NewsEvents:
    """Rows with ``event_id, instrument (1), t|ts_us, price_sensitive (True)``."""
    rows = list(rows)
    ts = [_ts(r) for r in rows]
    order = _order([ts])

    def col(values: list[Any], dtype: type) -> np.ndarray:
        return np.asarray(values, dtype=dtype)[order] if values else np.empty(0, dtype)

    return NewsEvents(
        event_id=col([int(r["event_id"]) for r in rows], np.int64),
        instrument=col([int(r.get("instrument", 1)) for r in rows], np.int64),
        ts_us=col(ts, np.int64),
        price_sensitive=col([bool(r.get("price_sensitive", True)) for r in rows], np.bool_),
    )


def bars(rows: Iterable[Row]) -> DailyBars:
    """Rows with ``instrument (1), day`` (offset from ``DAY``), ``close``, ``volume`` (NaN)."""
    rows = list(rows)
    inst = [int(r.get("instrument", 1)) for r in rows]
    days = [DAY + int(r["day"]) for r in rows]
    order = _order([inst, days])

    def col(values: list[Any], dtype: type) -> np.ndarray:
        return np.asarray(values, dtype=dtype)[order] if values else np.empty(0, dtype)

    return DailyBars(
        instrument=col(inst, np.int64),
        day=col(days, np.int64),
        close=col([float(r["close"]) for r in rows], np.float64),
        volume=col([float(r.get("volume", np.nan)) for r in rows], np.float64),
    )


def accounts(rows: Iterable[Row]) -> Accounts:
    """Rows with ``account_id``, optional ``kind`` (name, default ``client``), ``group``
    (default: the account id, i.e. unrelated to everyone), ``owner`` (= group) and
    ``is_employee`` (False)."""
    rows = sorted(rows, key=lambda r: int(r["account_id"]))
    ids = [int(r["account_id"]) for r in rows]
    groups = [int(r.get("group", r["account_id"])) for r in rows]
    return Accounts(
        account_id=np.asarray(ids, np.int64),
        owner=np.asarray([int(r.get("owner", g)) for r, g in zip(rows, groups, strict=True)], np.int64),
        kind=np.asarray([ACCOUNT_KIND_BY_NAME[r.get("kind", "client")] for r in rows], np.int8),
        group=np.asarray(groups, np.int64),
        is_employee=np.asarray([bool(r.get("is_employee", False)) for r in rows], np.bool_),
    )


def market(
    *,
    orders: Iterable[Row] = (),
    trades_rows: Iterable[Row] = (),
    quote_rows: Iterable[Row] = (),
    tape_rows: Iterable[Row] = (),
    news_rows: Iterable[Row] = (),
    bar_rows: Iterable[Row] = (),
    account_rows: Iterable[Row] = (),
) -> SurveillanceData:
    """A ``SurveillanceData`` from row lists (any may be omitted)."""
    return SurveillanceData(
        orders=order_events(orders),
        trades=trades(trades_rows),
        quotes=quotes(quote_rows),
        tape=tape(tape_rows),
        news=news(news_rows),
        bars=bars(bar_rows),
        accounts=accounts(account_rows),
    )


def flat_quotes(
    *, bid: float, ask: float, until_s: float, every_s: float = 1.0, instrument: int = 1, size: float = 300.0
) -> list[dict[str, Any]]:
    """A steady market: the same bid/ask every ``every_s`` seconds from 0 to ``until_s``."""
    n = int(until_s / every_s) + 1
    return [
        {"instrument": instrument, "t": k * every_s, "bid": bid, "ask": ask, "bid_size": size, "ask_size": size}
        for k in range(n)
    ]


# ---------------------------------------------------------------------------- background flow


def market_maker_flow(
    *,
    account: int,
    first_order_id: int,
    n_orders: int,
    bid: float,
    ask: float,
    start_s: float = 0.0,
    every_s: float = 0.5,
    instrument: int = 1,
    lot: float = 100.0,
    fill_every: int = 7,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """A market maker's normal quoting: alternately a bid at ``bid`` and an offer at ``ask``
    every ``every_s`` seconds, 1–5 lots each, living 0.5–8 s; every ``fill_every``-th order is
    filled in full at its limit (both sides, so fills on the opposite side of resting orders
    happen all the time), the rest are cancelled — a cancel rate near 85%, as real market
    makers show."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for k in range(n_orders):
        side = "buy" if k % 2 == 0 else "sell"
        price = bid if side == "buy" else ask
        t = start_s + k * every_s
        qty = lot * int(rng.integers(1, 6))
        life = float(rng.uniform(0.5, 8.0))
        if k % fill_every == fill_every - 1:
            rows += order_life(
                first_order_id + k,
                account=account,
                side=side,
                at_s=t,
                quantity=qty,
                price=price,
                instrument=instrument,
                fills=[(t + life / 2, price, qty)],
            )
        else:
            rows += order_life(
                first_order_id + k,
                account=account,
                side=side,
                at_s=t,
                quantity=qty,
                price=price,
                instrument=instrument,
                cancel_s=t + life,
            )
    return rows


def client_flow(
    *,
    accounts_ids: Sequence[int],
    first_order_id: int,
    n_orders: int,
    price: float,
    start_s: float = 0.0,
    every_s: float = 3.0,
    instrument: int = 1,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Ordinary small client orders: 100–300 shares, random side, filled at ``price`` a second
    after arrival (one in four is cancelled after a minute instead)."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for k in range(n_orders):
        account = int(accounts_ids[k % len(accounts_ids)])
        side = "buy" if rng.uniform() < 0.5 else "sell"
        t = start_s + k * every_s
        qty = 100.0 * int(rng.integers(1, 4))
        if k % 4 == 3:
            rows += order_life(
                first_order_id + k,
                account=account,
                side=side,
                at_s=t,
                quantity=qty,
                price=price,
                instrument=instrument,
                cancel_s=t + 60,
            )
        else:
            rows += order_life(
                first_order_id + k,
                account=account,
                side=side,
                at_s=t,
                quantity=qty,
                price=price,
                instrument=instrument,
                fills=[(t + 1.0, price, qty)],
            )
    return rows
