"""The demo's synthetic intraday days: quotes, tape, news, orders with their events, trades.

Each instrument-day is generated from its own seeded stream (``stream_rng``) by the pure
generators of ``portfolios.engine.synthetic``, calibrated on the real daily closes; this
module decides who trades what and turns the results into ingestion rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from portfolios.demo_catalogue import ACCOUNTS_BY_CODE, STOCKS, Books
from portfolios.engine import synthetic as syn

if TYPE_CHECKING:
    from portfolios.demo import DemoConfig

Send = Callable[[str, Iterable[dict[str, Any]]], None]

QUOTE_VENUE = "NBBO"  # consolidated best bid and offer
TAPE_VENUES = ("XNAS", "XNYS", "ARCX", "BATS", "IEXG")
ORDER_VENUES = ("XNAS", "XNYS", "ARCX", "BATS")
NEWS_Z = 2.0  # a day whose return is at least this many trailing sigmas gets price-sensitive news
NEWS_PREFIX = "[synthetic] "
_SENSITIVE = {
    True: [
        ("guidance", "{name} raises its full-year outlook"),
        ("news", "{name} announces a strategic partnership"),
        ("regulatory", "{name} receives regulatory approval for a lead product"),
    ],
    False: [
        ("guidance", "{name} cuts its full-year outlook"),
        ("regulatory", "Regulator opens an inquiry into {name}"),
        ("news", "{name} discloses a supply disruption"),
    ],
}
_ROUTINE = [
    ("dividend", "{name} declares its regular quarterly dividend"),
    ("news", "{name} to present at an industry conference"),
    ("news", "{name} announces an executive appointment"),
]
# Single (non-algo) orders: who sends them, with what weight.
_SINGLE_SENDERS = [
    ("ACC-LS-PROP", 0.55),
    ("ACC-DERIV-PROP", 0.15),
    ("ACC-WM-AMARTIN", 0.08),
    ("ACC-WM-BMARTIN", 0.07),
    ("ACC-WM-CCHEN", 0.10),
    ("ACC-EMP-DORTIZ", 0.05),
]
# Accounts whose portfolios must stay long: their sells are capped by what they hold.
_LONG_ONLY = {"ACC-FUND-LC", "ACC-WM-AMARTIN", "ACC-WM-BMARTIN", "ACC-WM-CCHEN", "ACC-EMP-DORTIZ"}


@dataclass(frozen=True)
class _Placed:
    """A simulated order and who placed it."""

    order: syn.SimOrder
    account: str
    instrument: str
    broker: str


@dataclass
class _Day:
    day: date
    open_us: int
    close_us: int
    market: dict[str, tuple[syn.QuotePath, syn.TapePath]]


def _lots(value: float, price: float, lot: int = 100) -> int:
    return max(lot, round(value / price / lot) * lot)


def _simulate_market(config: DemoConfig, stocks: pd.DataFrame, pos: int) -> tuple[_Day, list[dict[str, Any]]]:
    """Quotes and tape for every stock on the day at ``pos``, and that day's news rows."""
    day = stocks.index[pos].date()
    open_us, close_us = syn.session_bounds_us(day)
    span = close_us - open_us
    market = {}
    news: list[dict[str, Any]] = []
    for sym in config.stocks:
        series = stocks[sym].to_numpy()
        prev, close = float(series[pos - 1]), float(series[pos])
        vol = syn.realised_volatility(series[:pos])
        z = math.log(close / prev) / vol
        rng = syn.stream_rng(config.seed, "quotes", sym, day)
        jump_at = float(rng.uniform(0.2, 0.8)) if abs(z) >= NEWS_Z else None
        n_quotes = int(config.quotes_per_day * rng.uniform(0.8, 1.2))
        quotes = syn.quote_day(
            rng,
            prev_close=prev,
            close=close,
            daily_vol=vol,
            open_us=open_us,
            close_us=close_us,
            n_quotes=n_quotes,
            jump_at=jump_at,
        )
        tape_rng = syn.stream_rng(config.seed, "tape", sym, day)
        tape = syn.tape_day(tape_rng, quotes, n_prints=int(config.prints_per_day * tape_rng.uniform(0.8, 1.2)))
        market[sym] = (quotes, tape)
        news_rng = syn.stream_rng(config.seed, "news", sym, day)
        name = STOCKS[sym][0]
        if jump_at is not None:
            kind, text = _SENSITIVE[z > 0][int(news_rng.integers(3))]
            ts = open_us + int(jump_at * span) - int(news_rng.integers(1_000_000, 30_000_000))
            news.append(_news_row(sym, ts, kind, text.format(name=name), sensitive=True))
        elif news_rng.uniform() < 0.04:
            kind, text = _ROUTINE[int(news_rng.integers(3))]
            ts = open_us - int(news_rng.integers(600_000_000, 9_000_000_000))  # before the open
            news.append(_news_row(sym, ts, kind, text.format(name=name), sensitive=False))
    return _Day(day, open_us, close_us, market), news


def _news_row(sym: str, ts_us: int, kind: str, headline: str, *, sensitive: bool) -> dict[str, Any]:
    return {
        "instrument": sym,
        "ts": syn.iso_utc([ts_us])[0],
        "event_type": kind,
        "headline": NEWS_PREFIX + headline,
        "price_sensitive": sensitive,
    }


def _simulate_orders(config: DemoConfig, d: _Day, holdings: dict[str, dict[str, int]]) -> list[_Placed]:
    """The day's algo parents with children, single orders, and market-maker quoting."""
    rng = syn.stream_rng(config.seed, "orders", d.day)
    tag = f"{d.day:%Y%m%d}"
    span = d.close_us - d.open_us
    names = list(config.stocks)
    placed: list[_Placed] = []

    def sell_cap(account: str, sym: str, qty: int) -> int:
        if account not in _LONG_ONLY:
            return qty
        held = holdings.get(ACCOUNTS_BY_CODE[account].portfolio or "", {}).get(sym, 0)
        return min(qty, (held // 4 // 100) * 100 if held >= 400 else 0)

    def record(orders: list[syn.SimOrder], account: str, sym: str) -> None:
        acc = ACCOUNTS_BY_CODE[account]
        book = holdings.setdefault(acc.portfolio or "", {})
        for o in orders:
            placed.append(_Placed(o, account, sym, acc.broker))
            if o.executes:
                book[sym] = book.get(sym, 0) + (o.filled_quantity if o.side == "buy" else -o.filled_quantity)

    for k in range(config.parent_orders_per_day):
        account = "ACC-FUND-LC" if k % 2 == 0 else "ACC-INST-NPF"
        sym = str(rng.choice(names))
        quotes, tape = d.market[sym]
        side = "buy" if rng.uniform() < 0.6 else "sell"
        qty = _lots(float(rng.uniform(0.5e6, 3e6)), float(quotes.mid[0]))
        if side == "sell":
            qty = sell_cap(account, sym, qty)
        start = d.open_us + int(rng.uniform(0.02, 0.6) * span)
        end = min(start + int(rng.uniform(1_800, 9_000) * 1e6), d.close_us - 600_000_000)
        if qty <= 0:
            continue
        orders = syn.simulate_parent_order(
            rng,
            quotes,
            tape,
            order_id=f"ALG-{tag}-{k + 1:03d}",
            side=side,
            quantity=qty,
            arrival_us=start,
            end_us=end,
            n_children=int(rng.integers(3, 9)),
            venues=ORDER_VENUES,
        )
        record(orders, account, sym)

    senders, weights = zip(*_SINGLE_SENDERS, strict=True)
    for k in range(config.single_orders_per_day):
        account = str(rng.choice(senders, p=np.array(weights) / sum(weights)))
        hedgeable = [s for s in ("AAPL", "MSFT") if s in names]
        sym = str(rng.choice(hedgeable if account == "ACC-DERIV-PROP" and hedgeable else names))
        quotes, tape = d.market[sym]
        arrival = d.open_us + int(rng.uniform(0.01, 0.95) * span)
        i = quotes.at(arrival)
        side = "buy" if rng.uniform() < 0.55 else "sell"
        prop = ACCOUNTS_BY_CODE[account].kind == "proprietary"
        qty = _lots(float(rng.uniform(1e5, 6e5) if prop else rng.uniform(5e3, 6e4)), float(quotes.mid[i]))
        if side == "sell":
            qty = sell_cap(account, sym, qty)
        if qty <= 0:
            continue
        limit = None
        if account == "ACC-LS-PROP" and rng.uniform() < 0.6:
            limit = float(quotes.bid[i] if side == "buy" else quotes.ask[i])
        reject = None
        if prop and rng.uniform() < 0.08:
            reject = "short sale locate not available" if side == "sell" else "limit price outside price collar"
        replace_at = arrival + int(rng.uniform(30, 600) * 1e6) if limit is not None and rng.uniform() < 0.25 else None
        end = min(arrival + int(rng.uniform(900, 10_800) * 1e6), d.close_us - 1)
        order = syn.simulate_order(
            rng,
            quotes,
            tape,
            order_id=f"ORD-{tag}-{k + 1:04d}",
            side=side,
            quantity=qty,
            arrival_us=arrival,
            end_us=end,
            limit_price=limit,
            venue=str(rng.choice(ORDER_VENUES)),
            reject_reason=reject,
            replace_at_us=replace_at,
            cancel_reason="cancelled by trader",
        )
        record([order], account, sym)

    for sym in config.mm_symbols:
        if sym in d.market:
            quotes, tape = d.market[sym]
            mm = syn.simulate_market_maker(
                syn.stream_rng(config.seed, "mm", sym, d.day),
                quotes,
                tape,
                id_prefix=f"MM-{tag}-{sym}",
                n_orders=config.mm_orders_per_day,
                venue="XNAS",
            )
            record(mm, "ACC-MM-01", sym)
    return placed


# ---------------------------------------------------------------------------- rows


def _quote_rows(days: list[_Day]) -> Iterator[dict[str, Any]]:
    for d in days:
        for sym, (q, _) in d.market.items():
            columns = (syn.iso_utc(q.ts_us), q.bid.tolist(), q.ask.tolist(), q.bid_size.tolist(), q.ask_size.tolist())
            for ts, bid, ask, bid_size, ask_size in zip(*columns, strict=True):
                yield {
                    "instrument": sym,
                    "ts": ts,
                    "venue": QUOTE_VENUE,
                    "bid": bid,
                    "ask": ask,
                    "bid_size": bid_size,
                    "ask_size": ask_size,
                }


def _tape_rows(seed: int, days: list[_Day]) -> Iterator[dict[str, Any]]:
    for d in days:
        for sym, (_, t) in d.market.items():
            picks = syn.stream_rng(seed, "tape-venues", sym, d.day).integers(len(TAPE_VENUES), size=t.ts_us.size)
            venues = [TAPE_VENUES[v] for v in picks.tolist()]
            columns = (syn.iso_utc(t.ts_us), t.price.tolist(), t.quantity.tolist(), venues)
            for n, (ts, price, qty, venue) in enumerate(zip(*columns, strict=True)):
                yield {
                    "instrument": sym,
                    "ts": ts,
                    "venue": venue,
                    "tape_id": f"{sym}-{d.day:%Y%m%d}-{n + 1:06d}",
                    "price": price,
                    "quantity": qty,
                }


def _order_rows(placed: list[_Placed]) -> Iterator[dict[str, Any]]:
    for p in placed:
        o = p.order
        row: dict[str, Any] = {
            "client_order_id": o.order_id,
            "account": p.account,
            "instrument": p.instrument,
            "side": o.side,
            "order_type": o.order_type,
            "quantity": o.quantity,
            "time_in_force": o.time_in_force,
            "venue": o.venue,
            "broker": p.broker,
            "arrival_ts": syn.iso_utc([o.arrival_us])[0],
        }
        if o.limit_price is not None:
            row["limit_price"] = o.limit_price
        if o.parent_id:
            row["parent"] = o.parent_id
        yield row


def _event_rows(placed: list[_Placed]) -> Iterator[dict[str, Any]]:
    for p in placed:
        stamps = syn.iso_utc([e.ts_us for e in p.order.events])
        for seq, (e, ts) in enumerate(zip(p.order.events, stamps, strict=True), start=1):
            row: dict[str, Any] = {"order": p.order.order_id, "sequence": seq, "event_type": e.event_type, "ts": ts}
            if e.price is not None:
                row["price"] = e.price
            if e.quantity is not None:
                row["quantity"] = e.quantity
            if e.reason:
                row["reason"] = e.reason
            yield row


def _trade_rows(placed: list[_Placed]) -> Iterator[dict[str, Any]]:
    """One execution per fill event of an executing order (parents only mirror their children)."""
    for p in placed:
        if not p.order.executes:
            continue
        acc = ACCOUNTS_BY_CODE[p.account]
        for seq, e in enumerate(p.order.events, start=1):
            if e.event_type not in syn.FILL_EVENTS or e.price is None or e.quantity is None:
                continue
            yield {
                "trade_id": f"{p.order.order_id}-X{seq}",
                "order": p.order.order_id,
                "account": p.account,
                "instrument": p.instrument,
                "side": p.order.side,
                "price": e.price,
                "quantity": e.quantity,
                "venue": p.order.venue,
                "broker": p.broker,
                "commission": round(acc.commission_per_share * e.quantity, 4),
                "ts": syn.iso_utc([e.ts_us])[0],
            }


def intraday_load(*, config: DemoConfig, stocks: pd.DataFrame, books: Books, send: Send) -> None:
    """Simulate the last ``config.days`` trading days of ``stocks`` and send them entity by entity."""
    first = len(stocks.index) - config.days
    holdings = {code: dict(book) for code, book in books.holdings.items()}
    days: list[_Day] = []
    news: list[dict[str, Any]] = []
    placed: list[_Placed] = []
    for pos in range(first, len(stocks.index)):
        d, day_news = _simulate_market(config, stocks, pos)
        days.append(d)
        news += day_news
        placed += _simulate_orders(config, d, holdings)
    send("quotes", _quote_rows(days))
    send("market_trades", _tape_rows(config.seed, days))
    send("events", news)
    send("orders", _order_rows(placed))
    send("order_events", _event_rows(placed))
    send("trades", _trade_rows(placed))
