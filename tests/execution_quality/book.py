"""A small hand-built book for the TCA service tests: quotes, prints, daily bars and three parent
orders on 2024-03-05 whose benchmarks and costs are easy to compute by hand.

Quotes of ``TCA1`` (one venue): 14:30:00 99.98/100.02 (mid 100.00), 14:31:00 100.03/100.07 (mid
100.05), 14:35:00 100.08/100.12 (mid 100.10). Prints: 14:30:30 1,000 @ 100.01, 14:32:00 3,000 @
100.06, 14:33:00 2,000 @ 100.04, 14:34:10 500 @ 100.03, 14:36:00 200 @ 100.40.

- ``buy``: parent buy 1,000 arriving 14:30:10.123456 with two child slices, filled 600 @ 100.06
  at 14:31:30.000001 (child 1, venue from the child order) and 400 @ 100.08 at 14:33:00.500000
  (child 2, venue XNAS on the trade).
- ``sell``: parent sell 500 at 14:34:00, filled on the parent itself 500 @ 100.04 at 14:34:30.
- ``poor``: parent buy 200 at 14:35:30, filled 200 @ 100.50 at 14:36:00 (40 bps over the mid).

Daily bars: 30 days before the order day with closes alternating 100/101 and volume 1,000,000,
and the order day's bar (open 100, close 100.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np

from execution_quality.models import TcaOrderResult
from portfolios import models as m
from tests.factories import (
    AccountFactory,
    InstrumentFactory,
    OrderFactory,
    OwnerFactory,
    TcaOrderResultFactory,
    TradeFactory,
)

DAY = date(2024, 3, 5)


def at(h: int, mi: int, s: int = 0, us: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, h, mi, s, us, tzinfo=UTC)


def epoch_us(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@dataclass
class Book:
    instrument: m.Instrument
    account: m.Account
    buy: m.Order
    buy_children: list[m.Order]
    sell: m.Order
    poor: m.Order
    trades: dict[str, m.Trade]

    @property
    def parent_ids(self) -> list[int]:
        return [self.buy.pk, self.sell.pk, self.poor.pk]


def market_build(symbol: str = "TCA1") -> m.Instrument:
    """The instrument with its quotes, prints and bars."""
    inst = InstrumentFactory(symbol=symbol)
    for ts, bid, ask in (
        (at(14, 30), "99.98", "100.02"),
        (at(14, 31), "100.03", "100.07"),
        (at(14, 35), "100.08", "100.12"),
    ):
        m.Quote.objects.create(instrument=inst, ts=ts, bid=Decimal(bid), ask=Decimal(ask), bid_size=100, ask_size=100)
    for k, (ts, price, qty) in enumerate(
        (
            (at(14, 30, 30), "100.01", 1000),
            (at(14, 32), "100.06", 3000),
            (at(14, 33), "100.04", 2000),
            (at(14, 34, 10), "100.03", 500),
            (at(14, 36), "100.40", 200),
        )
    ):
        m.MarketTrade.objects.create(
            instrument=inst, ts=ts, venue="TAPE", tape_id=f"{symbol}-{k}", price=Decimal(price), quantity=qty
        )
    bars = [
        m.PriceBar(
            instrument=inst,
            date=DAY - timedelta(days=30 - k),
            open=Decimal("100"),
            close=Decimal("100" if k % 2 == 0 else "101"),
            adj_close=Decimal("100" if k % 2 == 0 else "101"),
            volume=1_000_000,
        )
        for k in range(30)
    ]
    bars.append(
        m.PriceBar(
            instrument=inst,
            date=DAY,
            open=Decimal("100"),
            close=Decimal("100.2"),
            adj_close=Decimal("100.2"),
            volume=1_000_000,
        )
    )
    m.PriceBar.objects.bulk_create(bars)
    return inst


def book_build(desk: m.Desk, *, symbol: str = "TCA1", account_code: str = "TCA-ACC") -> Book:
    """The market and the three parent orders with their fills (see the module docstring)."""
    inst = market_build(symbol)
    account = AccountFactory(code=account_code, desk=desk, owner=OwnerFactory(code=f"BO-{account_code}"))

    def order(cid: str, side: str, qty: int, ts: datetime, **kw: object) -> m.Order:
        return OrderFactory(
            client_order_id=cid,
            account=account,
            instrument=inst,
            side=side,
            order_type="market",
            limit_price=None,
            quantity=Decimal(qty),
            arrival_ts=ts,
            **kw,
        )

    buy = order(f"{symbol}-BUY", "buy", 1000, at(14, 30, 10, 123456), broker="BRK1")
    child1 = order(f"{symbol}-BUY-1", "buy", 600, at(14, 30, 11), parent=buy, venue="XNYS")
    child2 = order(f"{symbol}-BUY-2", "buy", 400, at(14, 32, 30), parent=buy, venue="XNYS")
    sell = order(f"{symbol}-SELL", "sell", 500, at(14, 34), venue="ARCX", broker="BRK2")
    poor = order(f"{symbol}-POOR", "buy", 200, at(14, 35, 30), venue="XNYS", broker="BRK1")

    def trade(key: str, o: m.Order, price: str, qty: int, ts: datetime, **kw: object) -> m.Trade:
        return TradeFactory(
            trade_id=f"{symbol}-{key}",
            order=o,
            account=account,
            instrument=inst,
            side=o.side,
            price=Decimal(price),
            quantity=Decimal(qty),
            ts=ts,
            **kw,
        )

    trades = {
        "buy1": trade("T1", child1, "100.06", 600, at(14, 31, 30, 1), commission=Decimal("3")),
        "buy2": trade("T2", child2, "100.08", 400, at(14, 33, 0, 500000), venue="XNAS", commission=Decimal("2")),
        "sell": trade("T3", sell, "100.04", 500, at(14, 34, 30)),
        "poor": trade("T4", poor, "100.50", 200, at(14, 36)),
    }
    return Book(
        instrument=inst,
        account=account,
        buy=buy,
        buy_children=[child1, child2],
        sell=sell,
        poor=poor,
        trades=trades,
    )


def cost_history_build(desk: m.Desk, n: int) -> list[TcaOrderResult]:
    """``n`` analysed orders (TCA results only, no fills) one a minute from 30 days before ``DAY``,
    costing 2 + 300·√size + spread/2 + noise bps: enough of them train a cost model."""
    rng = np.random.default_rng(11)
    account = AccountFactory(code="HIST", desk=desk)
    inst = InstrumentFactory(symbol="HIST1")
    start = at(14, 30) - timedelta(days=30)
    out = []
    for k in range(n):
        size, spread = float(rng.uniform(0.0005, 0.05)), float(rng.uniform(1, 20))
        ts = start + timedelta(minutes=k)
        order = OrderFactory(account=account, instrument=inst, arrival_ts=ts, side=("buy", "sell")[k % 2])
        out.append(
            TcaOrderResultFactory(
                order=order,
                arrival_ts=ts,
                end_ts=ts + timedelta(minutes=5),
                venue=("XNYS", "XNAS", "ARCX")[k % 3],
                size_adv=size,
                arrival_spread_bps=spread,
                volatility_daily_bps=float(rng.uniform(50, 300)),
                minutes_since_open=float(k % 390),
                duration_s=300.0,
                pov=float(rng.uniform(0.01, 0.3)),
                cost_arrival_bps=2 + 300 * np.sqrt(size) + spread / 2 + float(rng.normal(0, 1)),
            )
        )
    return out
