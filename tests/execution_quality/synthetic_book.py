"""A seeded synthetic book for the best-execution pages: the TCA engine's synthetic market
(``execution_quality.engine.synthetic.tca_market_generate``) written into the shared model.

Instruments ``SYN1``..``SYNn`` with quotes (venue ``NBBO``), tape prints, daily bars with volume
(so ADV and size as % of ADV exist), parent orders of one account on the given desk, and one
``Trade`` per fill on the parent order, with venues and brokers named after the engine's codes.
Prices are rounded to 4 decimals and fill quantities to whole shares (the database's grid); the
same seed gives the same book.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from execution_quality.engine.synthetic import FIRST_DAY, tca_market_generate
from portfolios import models as m
from tests.factories import AccountFactory, InstrumentFactory, OwnerFactory

VENUES = ("", "XNAS", "XNYS", "ARCX", "BATS", "IEXG", "EDGX")  # engine venue codes 1..6
BROKERS = ("", "BRK-ALPHA", "BRK-BETA", "BRK-GAMMA")  # engine broker codes 1..3
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ts(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(us))


def _price(x: float) -> Decimal:
    return Decimal(f"{float(x):.4f}")


def _whole_shares(order_id: npt.NDArray[np.int64], quantity: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Fill quantities rounded to whole shares so each order's fills still add up to its rounded
    total (cumulative rounding within each order); a fill rounded to 0 is dropped by the caller."""
    out = np.zeros(quantity.size, dtype=np.int64)
    for oid in np.unique(order_id):
        rows = np.flatnonzero(order_id == oid)
        cum = np.round(np.cumsum(quantity[rows])).astype(np.int64)
        out[rows] = np.diff(cum, prepend=0)
    return out


def synthetic_book_build(
    desk: m.Desk,
    *,
    seed: int = 11,
    orders: int = 120,
    ticks: int = 12_000,
    instruments: int = 4,
    days: int = 3,
    account_code: str = "SYN-ACC",
) -> list[m.Order]:
    """Write the synthetic market and its parent orders; returns the orders (arrival order)."""
    market = tca_market_generate(seed, orders, ticks, instruments=instruments, days=days, history_days=70)
    codes = sorted({int(c) for c in market.bars.instrument})
    insts = {c: InstrumentFactory(symbol=f"SYN{k + 1}", name=f"Synthetic {k + 1} Corp.") for k, c in enumerate(codes)}
    account = AccountFactory(code=account_code, desk=desk, owner=OwnerFactory(code=f"BO-{account_code}"))

    b = market.bars
    m.PriceBar.objects.bulk_create(
        [
            m.PriceBar(
                instrument=insts[int(b.instrument[i])],
                date=date(1970, 1, 1) + timedelta(days=int(b.day[i])),
                open=_price(b.open[i]),
                close=_price(b.close[i]),
                adj_close=_price(b.close[i]),
                volume=int(b.volume[i]),
            )
            for i in range(len(b))
        ]
    )
    q = market.quotes
    m.Quote.objects.bulk_create(
        [
            m.Quote(
                instrument=insts[int(q.instrument[i])],
                ts=_ts(q.ts_us[i]),
                venue="NBBO",
                bid=_price(q.bid[i]),
                ask=_price(q.ask[i]),
                bid_size=Decimal(100),
                ask_size=Decimal(100),
            )
            for i in range(len(q))
        ],
        batch_size=5000,
        ignore_conflicts=True,  # two quotes may share a microsecond; the first is kept
    )
    t = market.tape
    m.MarketTrade.objects.bulk_create(
        [
            m.MarketTrade(
                instrument=insts[int(t.instrument[i])],
                ts=_ts(t.ts_us[i]),
                venue=VENUES[1 + i % 5],
                tape_id=f"SYN-{seed}-{i}",
                price=_price(t.price[i]),
                quantity=Decimal(int(t.quantity[i])),
            )
            for i in range(len(t))
        ],
        batch_size=5000,
    )
    o = market.orders
    created = m.Order.objects.bulk_create(
        [
            m.Order(
                client_order_id=f"SYN-{seed}-{int(o.order_id[i])}",
                account=account,
                instrument=insts[int(o.instrument[i])],
                side="buy" if o.side[i] > 0 else "sell",
                order_type="limit" if o.order_type[i] else "market",
                limit_price=_price(o.limit_price[i]) if o.order_type[i] else None,
                quantity=Decimal(int(o.quantity[i])),
                arrival_ts=_ts(o.arrival_us[i]),
            )
            for i in range(len(o))
        ]
    )
    by_id = {int(o.order_id[i]): created[i] for i in range(len(o))}
    f = market.fills
    whole = _whole_shares(f.order_id, f.quantity)
    m.Trade.objects.bulk_create(
        [
            m.Trade(
                trade_id=f"SYN-{seed}-X{int(f.execution_id[j])}",
                order=by_id[int(f.order_id[j])],
                account=account,
                instrument=insts[int(f.instrument[j])],
                side="buy" if f.side[j] > 0 else "sell",
                price=_price(f.price[j]),
                quantity=Decimal(int(whole[j])),
                venue=VENUES[int(f.venue[j])],
                broker=BROKERS[int(f.broker[j])],
                commission=Decimal(f"{max(0.0, float(f.fee[j])):.4f}"),
                ts=_ts(f.ts_us[j]),
            )
            for j in range(len(f))
        ],
        batch_size=5000,
    )
    return sorted(created, key=lambda order: order.arrival_ts)


def synthetic_first_day() -> date:
    """The first simulated trading day of the synthetic market (UTC)."""
    return date(1970, 1, 1) + timedelta(days=FIRST_DAY)
