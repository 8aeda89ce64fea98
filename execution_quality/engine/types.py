"""Columnar inputs, parameters, flags and errors of the transaction cost analysis (TCA) engine.

Conventions every engine function follows (docs/tca-methodology.md):

- Costs are in basis points, **positive = cost to the client**, for buys and sells alike:
  ``cost_bps = side · (executed − benchmark) / benchmark · 10⁴`` with ``side`` +1 for a buy and
  −1 for a sell. Markouts are the one exception, signed as a gain (see ``markouts``).
- Timestamps are int64 microseconds since the Unix epoch, UTC (``ts_us``); a trading day is the
  UTC calendar date, as int64 days since the epoch (``ts_us // US_PER_DAY``).
- Prices are float64 in the instrument's currency; quantities float64 shares/contracts (> 0);
  fees float64 currency, positive = paid (a rebate is negative).
- Instruments, venues, brokers and order types are integer codes chosen by the caller.
- Market data (quotes, tape, daily bars) must be sorted by (instrument, time); fills and orders
  may come in any row order and results come back aligned with the input rows.
- Bad input raises :class:`TcaInputError` with a message meant for a person. Missing market data
  never raises: the figure is NaN and a :class:`TcaFlag` says why.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Int8Array = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
US_PER_DAY = 86_400 * US_PER_SECOND
BPS = 1e4
#: Stands for "not known" in optional int64 time columns (e.g. a bar without its session open).
UNKNOWN_TS = int(np.iinfo(np.int64).min)


class TcaInputError(ValueError):
    """Inputs or parameters the TCA engine cannot use; the message is meant for a person."""


class TcaFlag(enum.IntFlag):
    """Why a figure is missing or deserves a second look; bits combine in an int64 column.

    Order-level bits are set on order rows, execution-level bits on execution rows; an
    execution also inherits nothing from its order (read both).
    """

    NONE = 0
    # ---- orders
    NO_ARRIVAL_QUOTE = 1 << 0  # no quote at or before arrival: arrival price (and TWAP) NaN
    STALE_ARRIVAL_QUOTE = 1 << 1  # the arrival quote is older than ``stale_quote_s``
    NO_TAPE = 1 << 2  # no print in [arrival, end]: interval VWAP NaN
    PWP_SHORT = 1 << 3  # the day's tape after arrival traded less than filled / participation
    NO_DAILY_BAR = 1 << 4  # no bar for the order's day: open and close NaN
    NO_PREVIOUS_CLOSE = 1 << 5  # no bar before the order's day
    NO_FILLS = 1 << 6
    PARTIAL_FILL = 1 << 7  # filled less than the order quantity: opportunity cost applies
    OVERFILL = 1 << 8  # filled more than the order quantity
    ZERO_DURATION = 1 << 9  # arrival == end
    DECISION_IS_ARRIVAL = 1 << 10  # no decision price: the arrival mid stands in, delay cost 0
    NO_HISTORY = 1 << 11  # too few daily bars before the day for ADV / volatility
    FILL_OUTSIDE_ORDER_LIFE = 1 << 12  # a fill before arrival or after end
    NO_OPPORTUNITY_PRICE = 1 << 13  # unfilled quantity but no end-of-order price
    # ---- executions
    NO_FILL_QUOTE = 1 << 20  # no quote before the fill: spreads and markouts NaN
    OUTSIDE_QUOTE = 1 << 21  # price below the prevailing bid or above the ask
    LOCKED_OR_CROSSED = 1 << 22  # prevailing bid >= ask: spread capture NaN
    MARKOUT_BEYOND_DATA = 1 << 23  # fill + longest horizon is after the instrument's last quote


# ---------------------------------------------------------------------------- column coercion


_ABSENT: npt.NDArray[np.generic] = np.empty(0)


def _absent() -> Any:
    """Default of an optional column; recognised by identity, then filled to the table's length."""
    return _ABSENT


def _ints(name: str, values: npt.ArrayLike) -> IntArray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise TcaInputError(f"{name} must be a one-dimensional column; got shape {arr.shape}.")
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise TcaInputError(f"{name} must hold whole numbers (int64); got {arr.dtype}.")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _floats(name: str, values: npt.ArrayLike) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TcaInputError(f"{name} must hold numbers: {exc}.") from None
    if arr.ndim != 1:
        raise TcaInputError(f"{name} must be a one-dimensional column; got shape {arr.shape}.")
    return np.ascontiguousarray(arr)


def _sides(name: str, values: npt.ArrayLike) -> Int8Array:
    arr = _ints(name, values)
    bad = (arr != 1) & (arr != -1)
    if np.any(bad):
        raise TcaInputError(
            f"{name} must be +1 (buy) or -1 (sell); {int(bad.sum())} rows are not, e.g. {int(arr[bad][0])}."
        )
    return arr.astype(np.int8)


def _require(ok: BoolArray | bool, message: str) -> None:
    if not np.all(ok):
        raise TcaInputError(message)


def _count_bad(ok: BoolArray) -> int:
    return int(ok.size - np.count_nonzero(ok))


def _positive(name: str, arr: FloatArray, *, allow_zero: bool = False, allow_nan: bool = False) -> None:
    with np.errstate(invalid="ignore"):
        ok = (arr >= 0) if allow_zero else (arr > 0)
    ok &= np.isfinite(arr)
    if allow_nan:
        ok |= np.isnan(arr)
    if not np.all(ok):
        what = "finite and not negative" if allow_zero else "finite and positive"
        nan = " (or NaN)" if allow_nan else ""
        raise TcaInputError(f"{name} must be {what}{nan}; {_count_bad(ok)} rows are not.")


def _sorted_by(table: str, instrument: IntArray, key: IntArray, key_name: str, *, strict: bool = False) -> None:
    """Rows must be sorted by (instrument, key); ``strict`` also forbids repeated keys."""
    if instrument.size < 2:
        return
    d_inst = np.diff(instrument)
    d_key = np.diff(key)
    same = d_inst == 0
    bad = (d_inst < 0) | (same & ((d_key <= 0) if strict else (d_key < 0)))
    if np.any(bad):
        row = int(np.argmax(bad)) + 1
        order = "strictly increasing" if strict else "sorted"
        raise TcaInputError(
            f"{table} must be {order} by (instrument, {key_name}); row {row} is out of order "
            f"(instrument {int(instrument[row])}, {key_name} {int(key[row])})."
        )


def _unique(table: str, name: str, ids: IntArray) -> None:
    if ids.size < 2:
        return
    s = np.sort(ids)
    dup = s[1:] == s[:-1]
    if np.any(dup):
        raise TcaInputError(f"{table}: {name} must be unique; {int(s[1:][dup][0])} appears more than once.")


class _Columns:
    """Equal-length numpy columns; subclasses are frozen dataclasses."""

    def _set(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)

    def _check_lengths(self) -> int:
        lengths = {f.name: len(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]
        n = max(lengths.values(), default=0)
        short = {k: v for k, v in lengths.items() if v != n}
        if short:
            listed = ", ".join(f"{k}={v}" for k, v in sorted(short.items()))
            raise TcaInputError(f"{type(self).__name__}: columns differ in length ({n} rows, but {listed}).")
        return n

    def __len__(self) -> int:
        first = fields(self)[0]  # type: ignore[arg-type]
        return len(getattr(self, first.name))

    def take(self, rows: npt.ArrayLike) -> Self:
        """The same table with only ``rows`` (integer positions or a boolean mask), re-validated."""
        idx = np.asarray(rows)
        return replace(self, **{f.name: getattr(self, f.name)[idx] for f in fields(self)})  # type: ignore[arg-type, type-var]


# ---------------------------------------------------------------------------- tables


@dataclass(frozen=True, eq=False)
class Fills(_Columns):
    """Executions (child fills) of our parent orders, one row each, in any row order.

    ``order_id`` is the parent order; ``child_order_id`` the child (algo slice) that filled.
    ``fee`` is the explicit cost of the fill in currency (commission, exchange and clearing
    fees; a rebate is negative). ``venue`` and ``broker`` are integer codes.
    """

    execution_id: IntArray
    order_id: IntArray
    child_order_id: IntArray
    instrument: IntArray
    side: Int8Array
    ts_us: IntArray
    price: FloatArray
    quantity: FloatArray
    fee: FloatArray
    venue: IntArray
    broker: IntArray

    def __post_init__(self) -> None:
        for name in ("execution_id", "order_id", "child_order_id", "instrument", "ts_us", "venue", "broker"):
            self._set(name, _ints(f"Fills.{name}", getattr(self, name)))
        self._set("side", _sides("Fills.side", self.side))
        for name in ("price", "quantity", "fee"):
            self._set(name, _floats(f"Fills.{name}", getattr(self, name)))
        self._check_lengths()
        _positive("Fills.price", self.price)
        _positive("Fills.quantity", self.quantity)
        _require(np.isfinite(self.fee), "Fills.fee must be finite (use 0 when there is no fee).")
        _unique("Fills", "execution_id", self.execution_id)


@dataclass(frozen=True, eq=False)
class Orders(_Columns):
    """Parent orders, one row each, in any row order.

    ``arrival_us`` is when the order reached the desk/broker (the arrival benchmark time),
    ``end_us`` when it stopped working: its last fill, or its cancel/expiry if it did not
    complete. ``limit_price`` is NaN for a market order; ``decision_price`` is the price when
    the investment decision was taken (NaN when unknown: the arrival mid stands in).
    """

    order_id: IntArray
    instrument: IntArray
    side: Int8Array
    quantity: FloatArray
    arrival_us: IntArray
    end_us: IntArray
    limit_price: FloatArray = field(default_factory=_absent)
    order_type: IntArray = field(default_factory=_absent)
    decision_price: FloatArray = field(default_factory=_absent)

    def __post_init__(self) -> None:
        n = len(np.asarray(self.order_id))
        for name, fill in (("limit_price", np.nan), ("decision_price", np.nan), ("order_type", 0)):
            if getattr(self, name) is _ABSENT:
                dtype = np.int64 if name == "order_type" else np.float64
                self._set(name, np.full(n, fill, dtype=dtype))
        for name in ("order_id", "instrument", "arrival_us", "end_us", "order_type"):
            self._set(name, _ints(f"Orders.{name}", getattr(self, name)))
        self._set("side", _sides("Orders.side", self.side))
        for name in ("quantity", "limit_price", "decision_price"):
            self._set(name, _floats(f"Orders.{name}", getattr(self, name)))
        self._check_lengths()
        _positive("Orders.quantity", self.quantity)
        _positive("Orders.limit_price", self.limit_price, allow_nan=True)
        _positive("Orders.decision_price", self.decision_price, allow_nan=True)
        bad = self.end_us < self.arrival_us
        _require(~bad, f"Orders.end_us must not be before arrival_us; {int(bad.sum())} orders end before they arrive.")
        _unique("Orders", "order_id", self.order_id)


@dataclass(frozen=True, eq=False)
class Quotes(_Columns):
    """Top of book, sorted by (instrument, ts_us); a quote holds until the next one.

    Rows with the same timestamp are allowed: the last one is the quote in force. Crossed or
    locked quotes are accepted (they happen on consolidated feeds) and flagged where used.
    """

    instrument: IntArray
    ts_us: IntArray
    bid: FloatArray
    ask: FloatArray

    def __post_init__(self) -> None:
        for name in ("instrument", "ts_us"):
            self._set(name, _ints(f"Quotes.{name}", getattr(self, name)))
        for name in ("bid", "ask"):
            self._set(name, _floats(f"Quotes.{name}", getattr(self, name)))
        self._check_lengths()
        _positive("Quotes.bid", self.bid)
        _positive("Quotes.ask", self.ask)
        _sorted_by("Quotes", self.instrument, self.ts_us, "ts_us")


@dataclass(frozen=True, eq=False)
class Tape(_Columns):
    """Public trade prints (all participants, ours included when reported), sorted by (instrument, ts_us)."""

    instrument: IntArray
    ts_us: IntArray
    price: FloatArray
    quantity: FloatArray

    def __post_init__(self) -> None:
        for name in ("instrument", "ts_us"):
            self._set(name, _ints(f"Tape.{name}", getattr(self, name)))
        for name in ("price", "quantity"):
            self._set(name, _floats(f"Tape.{name}", getattr(self, name)))
        self._check_lengths()
        _positive("Tape.price", self.price)
        _positive("Tape.quantity", self.quantity, allow_zero=True)
        _sorted_by("Tape", self.instrument, self.ts_us, "ts_us")


@dataclass(frozen=True, eq=False)
class DailyBars(_Columns):
    """One row per instrument and trading day, sorted by (instrument, day), days unique.

    ``day`` is int64 days since the epoch (the UTC date); ``volume`` the day's total traded
    quantity. ``session_open_us`` (optional) is when that day's regular session opened; it
    feeds the time-of-day feature and defaults to :data:`UNKNOWN_TS`.
    """

    instrument: IntArray
    day: IntArray
    open: FloatArray
    close: FloatArray
    volume: FloatArray
    session_open_us: IntArray = field(default_factory=_absent)

    def __post_init__(self) -> None:
        if self.session_open_us is _ABSENT:
            self._set("session_open_us", np.full(len(np.asarray(self.day)), UNKNOWN_TS, dtype=np.int64))
        for name in ("instrument", "day", "session_open_us"):
            self._set(name, _ints(f"DailyBars.{name}", getattr(self, name)))
        for name in ("open", "close", "volume"):
            self._set(name, _floats(f"DailyBars.{name}", getattr(self, name)))
        self._check_lengths()
        _positive("DailyBars.open", self.open)
        _positive("DailyBars.close", self.close)
        _positive("DailyBars.volume", self.volume, allow_zero=True)
        _sorted_by("DailyBars", self.instrument, self.day, "day", strict=True)


def bars_empty() -> DailyBars:
    """No daily bars: day-level benchmarks and ADV/volatility features come back NaN."""
    e_i = np.empty(0, dtype=np.int64)
    e_f = np.empty(0, dtype=np.float64)
    return DailyBars(instrument=e_i, day=e_i, open=e_f, close=e_f, volume=e_f)


# ---------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class IStarParams:
    """Kissell's I-Star market impact model (Kissell, Glantz & Malamut 2004; Kissell 2013, ch. 5).

    I* = a1 · (Q/ADV)^a2 · σ^a3 (bps, σ annualised volatility as a decimal) and
    MI = b1 · I* · POV^a4 + (1 − b1) · I*. The defaults are of the size Kissell (2013) reports
    for US equities; they are a starting point, to be recalibrated on the firm's own orders
    with :func:`execution_quality.engine.impact.istar_calibrate`.
    """

    a1: float = 708.0
    a2: float = 0.55
    a3: float = 0.71
    a4: float = 0.50
    b1: float = 0.98


@dataclass(frozen=True)
class TcaParams:
    """Every choice a TCA figure depends on; audited with each run (docs/tca-methodology.md)."""

    #: PWP: the benchmark window ends when the tape has traded filled / participation.
    participation: float = 0.10
    #: Realised spread: the mid this long after the fill.
    realised_spread_horizon_s: float = 300.0
    #: Markout horizons after each fill.
    markout_horizons_s: tuple[float, ...] = (1.0, 5.0, 60.0, 300.0)
    #: An arrival quote older than this is flagged (still used).
    stale_quote_s: float = 300.0
    #: Average daily volume over this many daily bars before the order's day.
    adv_window_days: int = 20
    #: Daily volatility: std (ddof=1) of this many close-to-close log returns before the day.
    volatility_window_days: int = 60
    #: Fewer bars than this before the day: ADV / volatility NaN and flagged.
    min_history_days: int = 5
    #: Opportunity cost of unfilled quantity priced at the mid when the order ended, or the close.
    opportunity_price: Literal["end", "close"] = "end"
    #: Time-of-day feature when a bar has no ``session_open_us``: the open as minutes after 00:00 UTC.
    session_open_minute_utc: int = 14 * 60 + 30
    #: Square-root law coefficient Y (cost_bps = Y · σ_daily_bps · √(Q/ADV)).
    sqrt_impact_y: float = 1.0
    #: I-Star parameters for the pre-trade estimate.
    istar: IStarParams = field(default_factory=IStarParams)
    #: Participation rate assumed by the pre-trade I-Star estimate.
    pretrade_pov: float = 0.10
    #: Trading days per year, to annualise daily volatility for I-Star.
    trading_days_per_year: int = 252

    def __post_init__(self) -> None:
        if not (0.0 < self.participation <= 1.0):
            raise TcaInputError(f"participation must be in (0, 1]; got {self.participation!r}.")
        if not (0.0 < self.pretrade_pov <= 1.0):
            raise TcaInputError(f"pretrade_pov must be in (0, 1]; got {self.pretrade_pov!r}.")
        if not self.markout_horizons_s or any(not (h > 0 and np.isfinite(h)) for h in self.markout_horizons_s):
            raise TcaInputError(f"markout horizons must be positive seconds; got {self.markout_horizons_s!r}.")
        for name in ("realised_spread_horizon_s", "stale_quote_s"):
            value = getattr(self, name)
            if not (value > 0 and np.isfinite(value)):
                raise TcaInputError(f"{name} must be a positive number of seconds; got {value!r}.")
        for name in ("adv_window_days", "volatility_window_days", "min_history_days", "trading_days_per_year"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise TcaInputError(f"{name} must be a positive whole number; got {value!r}.")
        if self.min_history_days > min(self.adv_window_days, self.volatility_window_days + 1):
            raise TcaInputError("min_history_days cannot exceed the ADV or volatility window.")
        if self.opportunity_price not in ("end", "close"):
            raise TcaInputError(f"opportunity_price must be 'end' or 'close'; got {self.opportunity_price!r}.")
        if not (0 <= self.session_open_minute_utc < 24 * 60):
            raise TcaInputError("session_open_minute_utc must be a minute of the day (0–1439).")
        if not (self.sqrt_impact_y >= 0 and np.isfinite(self.sqrt_impact_y)):
            raise TcaInputError(f"sqrt_impact_y must be finite and not negative; got {self.sqrt_impact_y!r}.")


def seconds_to_us(seconds: float) -> int:
    """Whole microseconds in ``seconds`` (rounded to the nearest)."""
    return round(seconds * US_PER_SECOND)
