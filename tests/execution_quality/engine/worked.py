"""A small hand-computed market shared by the engine tests (not a test module itself).

Instrument 1 on day D (UTC date), times in seconds after T0 = 14:30:00 UTC:

    quotes   t=0  99.98/100.02 (mid 100.00)     t=10 100.03/100.07 (mid 100.05)
             t=30 100.08/100.12 (mid 100.10)    t=60 100.13/100.17 (mid 100.15)
    tape     t=4 100.02×500   t=5 100.01×200   t=12 100.07×300   t=35 100.12×500
             t=40 100.10×100  t=50 100.15×1000
    bars     D−2 open 97.00 close 98.00 vol 1.0e6;  D−1 open 98.50 close 99.50 vol 2.0e6;
             D open 99.80 close 100.40 vol 3.0e6

Instrument 2: one quote at t=0 50.00/50.10 and one print at t=100 (50.08×100).

Orders (id: side qty arrival→end, decision; fills t price×qty fee venue broker):

    7  buy  1000  5→40  dec 99.90   fills t=12 100.07×300 fee 1.5 v3 b1; t=35 100.12×500 fee 2.5 v4 b1
    8  sell  400 10→30  no decision fill  t=20 100.03×400 fee 1.0 v3 b2
    9  buy   100  5→20  (instrument 2) fill t=15 50.10×100 fee 0.1 v1 b1   -- no tape in [5, 20]
    10 buy   100 12→12  zero duration    fill t=12 100.07×100 fee 0.2 v2 b1
    11 buy   500 40→50  dec 100.00       no fills (cancelled at t=50)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execution_quality.engine.types import US_PER_DAY, US_PER_SECOND, DailyBars, Fills, Orders, Quotes, Tape

DAY = 19_724  # 2024-01-02
T0 = DAY * US_PER_DAY + (14 * 3600 + 30 * 60) * US_PER_SECOND
S = US_PER_SECOND


def at(seconds: float) -> int:
    return T0 + round(seconds * S)


@dataclass(frozen=True)
class Market:
    fills: Fills
    orders: Orders
    quotes: Quotes
    tape: Tape
    bars: DailyBars

    def tables(self) -> dict[str, object]:
        return {"fills": self.fills, "orders": self.orders, "quotes": self.quotes, "tape": self.tape, "bars": self.bars}


def quotes() -> Quotes:
    return Quotes(
        instrument=np.array([1, 1, 1, 1, 2]),
        ts_us=np.array([at(0), at(10), at(30), at(60), at(0)]),
        bid=np.array([99.98, 100.03, 100.08, 100.13, 50.00]),
        ask=np.array([100.02, 100.07, 100.12, 100.17, 50.10]),
    )


def tape() -> Tape:
    return Tape(
        instrument=np.array([1, 1, 1, 1, 1, 1, 2]),
        ts_us=np.array([at(4), at(5), at(12), at(35), at(40), at(50), at(100)]),
        price=np.array([100.02, 100.01, 100.07, 100.12, 100.10, 100.15, 50.08]),
        quantity=np.array([500.0, 200, 300, 500, 100, 1000, 100]),
    )


def bars() -> DailyBars:
    return DailyBars(
        instrument=np.array([1, 1, 1]),
        day=np.array([DAY - 2, DAY - 1, DAY]),
        open=np.array([97.0, 98.5, 99.8]),
        close=np.array([98.0, 99.5, 100.4]),
        volume=np.array([1.0e6, 2.0e6, 3.0e6]),
    )


def orders() -> Orders:
    return Orders(
        order_id=np.array([7, 8, 9, 10, 11]),
        instrument=np.array([1, 1, 2, 1, 1]),
        side=np.array([1, -1, 1, 1, 1]),
        quantity=np.array([1000.0, 400, 100, 100, 500]),
        arrival_us=np.array([at(5), at(10), at(5), at(12), at(40)]),
        end_us=np.array([at(40), at(30), at(20), at(12), at(50)]),
        limit_price=np.array([np.nan, 100.00, np.nan, 100.10, np.nan]),
        order_type=np.array([0, 1, 0, 1, 0]),
        decision_price=np.array([99.90, np.nan, np.nan, np.nan, 100.00]),
    )


def fills() -> Fills:
    return Fills(
        execution_id=np.array([101, 102, 103, 104, 105]),
        order_id=np.array([7, 7, 8, 9, 10]),
        child_order_id=np.array([70, 71, 80, 90, 100]),
        instrument=np.array([1, 1, 1, 2, 1]),
        side=np.array([1, 1, -1, 1, 1]),
        ts_us=np.array([at(12), at(35), at(20), at(15), at(12)]),
        price=np.array([100.07, 100.12, 100.03, 50.10, 100.07]),
        quantity=np.array([300.0, 500, 400, 100, 100]),
        fee=np.array([1.5, 2.5, 1.0, 0.1, 0.2]),
        venue=np.array([3, 4, 3, 1, 2]),
        broker=np.array([1, 1, 2, 1, 1]),
    )


def market() -> Market:
    return Market(fills=fills(), orders=orders(), quotes=quotes(), tape=tape(), bars=bars())


# Rows of the orders above, for readable tests.
A, B, C, D, E = range(5)
