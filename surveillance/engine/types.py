"""Columnar inputs and outputs shared by every surveillance detector (no Django).

Conventions (docs/surveillance-methodology.md):

- Every table is a frozen dataclass of equal-length numpy arrays, sorted by time (``ts_us``,
  microseconds since the Unix epoch, UTC). Ids are the database primary keys (int64).
- ``side`` is +1 for a buy and -1 for a sell; prices are float64 in the instrument's currency;
  quantities are float64 shares/contracts.
- An order event's ``price`` is the order's limit in force after the event (NaN for a market
  order), except for fills, where it is the fill price. ``quantity`` is the order's total
  quantity for ``new``/``replace``, the filled amount for fills and the open quantity removed
  for ``cancel``.
- Detectors never mutate their inputs and return ``Detection`` rows with a score in [0, 100].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Int8Array = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
US_PER_DAY = 86_400 * US_PER_SECOND


class SurveillanceInputError(ValueError):
    """Inputs or parameters a detector cannot use; the message is meant for a person."""


class EventKind(IntEnum):
    """Order event types, as small integers (the order matches ``OrderEvent.Type``)."""

    NEW = 0
    REPLACE = 1
    CANCEL = 2
    PARTIAL_FILL = 3
    FILL = 4
    REJECT = 5


EVENT_KIND_BY_NAME: dict[str, int] = {
    "new": EventKind.NEW,
    "replace": EventKind.REPLACE,
    "cancel": EventKind.CANCEL,
    "partial_fill": EventKind.PARTIAL_FILL,
    "fill": EventKind.FILL,
    "reject": EventKind.REJECT,
}


class AccountKind(IntEnum):
    CLIENT = 0
    PROPRIETARY = 1
    MARKET_MAKER = 2


ACCOUNT_KIND_BY_NAME: dict[str, int] = {
    "client": AccountKind.CLIENT,
    "proprietary": AccountKind.PROPRIETARY,
    "market_maker": AccountKind.MARKET_MAKER,
}


def _empty_i() -> IntArray:
    return np.empty(0, dtype=np.int64)


def _empty_f() -> FloatArray:
    return np.empty(0, dtype=np.float64)


def _empty_i8() -> Int8Array:
    return np.empty(0, dtype=np.int8)


def _empty_b() -> BoolArray:
    return np.empty(0, dtype=np.bool_)


@dataclass(frozen=True)
class OrderEvents:
    """Every order event (one row per event), sorted by ``ts_us`` then ``order_id``.

    ``order_quantity`` is the order's total quantity in force at the event; ``account``,
    ``instrument`` and ``side`` repeat the order's, so detectors need no join.
    """

    order_id: IntArray = field(default_factory=_empty_i)
    account: IntArray = field(default_factory=_empty_i)
    instrument: IntArray = field(default_factory=_empty_i)
    side: Int8Array = field(default_factory=_empty_i8)
    kind: Int8Array = field(default_factory=_empty_i8)
    ts_us: IntArray = field(default_factory=_empty_i)
    price: FloatArray = field(default_factory=_empty_f)
    quantity: FloatArray = field(default_factory=_empty_f)
    order_quantity: FloatArray = field(default_factory=_empty_f)

    def __len__(self) -> int:
        return int(self.order_id.shape[0])


@dataclass(frozen=True)
class Trades:
    """Executions in our accounts, sorted by ``ts_us``. ``counterparty`` is the account on the
    other side when it is one of ours (an internal cross), else -1; ``order_id`` is -1 when the
    trade has no order."""

    trade_id: IntArray = field(default_factory=_empty_i)
    order_id: IntArray = field(default_factory=_empty_i)
    account: IntArray = field(default_factory=_empty_i)
    counterparty: IntArray = field(default_factory=_empty_i)
    instrument: IntArray = field(default_factory=_empty_i)
    side: Int8Array = field(default_factory=_empty_i8)
    ts_us: IntArray = field(default_factory=_empty_i)
    price: FloatArray = field(default_factory=_empty_f)
    quantity: FloatArray = field(default_factory=_empty_f)

    def __len__(self) -> int:
        return int(self.trade_id.shape[0])


@dataclass(frozen=True)
class Quotes:
    """Best bid and offer (NBBO) per instrument, sorted by ``ts_us``; each quote holds until
    the next one of the same instrument."""

    instrument: IntArray = field(default_factory=_empty_i)
    ts_us: IntArray = field(default_factory=_empty_i)
    bid: FloatArray = field(default_factory=_empty_f)
    ask: FloatArray = field(default_factory=_empty_f)
    bid_size: FloatArray = field(default_factory=_empty_f)
    ask_size: FloatArray = field(default_factory=_empty_f)

    def __len__(self) -> int:
        return int(self.ts_us.shape[0])


@dataclass(frozen=True)
class Tape:
    """Public prints (everyone's trades, ours included), sorted by ``ts_us``."""

    instrument: IntArray = field(default_factory=_empty_i)
    ts_us: IntArray = field(default_factory=_empty_i)
    price: FloatArray = field(default_factory=_empty_f)
    quantity: FloatArray = field(default_factory=_empty_f)

    def __len__(self) -> int:
        return int(self.ts_us.shape[0])


@dataclass(frozen=True)
class NewsEvents:
    """Corporate events and news, sorted by ``ts_us``; only ``price_sensitive`` ones matter to
    insider dealing."""

    event_id: IntArray = field(default_factory=_empty_i)
    instrument: IntArray = field(default_factory=_empty_i)
    ts_us: IntArray = field(default_factory=_empty_i)
    price_sensitive: BoolArray = field(default_factory=_empty_b)

    def __len__(self) -> int:
        return int(self.ts_us.shape[0])


@dataclass(frozen=True)
class DailyBars:
    """Daily closes per instrument (``day`` = days since the epoch), sorted by instrument then
    day; volume may be NaN when unknown. Used for daily returns and average daily volume."""

    instrument: IntArray = field(default_factory=_empty_i)
    day: IntArray = field(default_factory=_empty_i)
    close: FloatArray = field(default_factory=_empty_f)
    volume: FloatArray = field(default_factory=_empty_f)

    def __len__(self) -> int:
        return int(self.day.shape[0])


@dataclass(frozen=True)
class Accounts:
    """Every account that may appear in the data. ``group`` numbers the connected components of
    "same beneficial owner or linked accounts": two accounts with the same ``group`` count as
    the same economic interest (wash trades, spoofing's other side, front running)."""

    account_id: IntArray = field(default_factory=_empty_i)
    owner: IntArray = field(default_factory=_empty_i)
    kind: Int8Array = field(default_factory=_empty_i8)
    group: IntArray = field(default_factory=_empty_i)
    is_employee: BoolArray = field(default_factory=_empty_b)

    def __len__(self) -> int:
        return int(self.account_id.shape[0])

    def index_of(self, account_ids: IntArray) -> IntArray:
        """Row positions of ``account_ids`` (every id must be present)."""
        order = np.argsort(self.account_id, kind="stable")
        pos = np.searchsorted(self.account_id, account_ids, sorter=order)
        return order[np.minimum(pos, len(order) - 1)] if len(order) else pos.astype(np.int64)

    def group_of(self, account_ids: IntArray) -> IntArray:
        return self.group[self.index_of(account_ids)] if len(self) else np.full(len(account_ids), -1)

    def kind_of(self, account_ids: IntArray) -> Int8Array:
        return self.kind[self.index_of(account_ids)] if len(self) else np.zeros(len(account_ids), np.int8)


@dataclass(frozen=True)
class SurveillanceData:
    """Everything a detection pass reads, for one time window.

    ``open_offset_us``/``close_offset_us`` give the regular session's open and close as offsets
    from midnight UTC of each day (the US equity session in winter time by default, as the
    demo's synthetic days use); marking the close and time-of-day features depend on them.
    """

    orders: OrderEvents = field(default_factory=OrderEvents)
    trades: Trades = field(default_factory=Trades)
    quotes: Quotes = field(default_factory=Quotes)
    tape: Tape = field(default_factory=Tape)
    news: NewsEvents = field(default_factory=NewsEvents)
    bars: DailyBars = field(default_factory=DailyBars)
    accounts: Accounts = field(default_factory=Accounts)
    open_offset_us: int = (14 * 60 + 30) * US_PER_MINUTE
    close_offset_us: int = 21 * 60 * US_PER_MINUTE


@dataclass(frozen=True)
class Detection:
    """One suspected episode: who, what, when, how suspicious (0–100) and the evidence.

    ``order_ids``/``trade_ids`` are the evidence rows; ``features`` holds the measured quantities
    the score came from (named with units, e.g. ``cancel_latency_s``); ``summary`` is one
    sentence a compliance analyst can read.
    """

    scenario: str
    account: int
    instrument: int
    start_us: int
    end_us: int
    score: float
    summary: str
    order_ids: tuple[int, ...] = ()
    trade_ids: tuple[int, ...] = ()
    features: dict[str, float] = field(default_factory=dict)
    occurrences: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
