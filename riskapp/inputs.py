"""Engine inputs from the database: risk factors, an aligned return history, exposures, options.

A risk run values the book at the latest closes (``selectors.portfolio_valuation``) and turns it
into the arrays the engine expects (``riskapp/engine/types.py`` conventions):

- **Risk factors** (N columns): every equity, ETF or index held, plus the underlying of every
  option held. Other linear kinds (futures, FX, bonds) are treated like equities: their value
  moves with their own price series.
- **Returns** (T × N): simple daily returns of ``PriceBar.adj_close`` over the last
  ``window_days`` trading days ending ``as_of``, on the dates every factor has a price. A missing
  day is carried forward for at most ``MAX_FFILL_DAYS`` price dates (holidays, halts); a longer
  gap drops the date. Fewer than ``MIN_COMMON_DAYS`` common price dates (a year of trading
  days, so ``MIN_COMMON_DAYS`` − 1 returns) is an error.
- **Exposures**: ``linear_values`` (N) is the market value of the linear positions in each
  factor (quantity × close × multiplier, base currency); ``exposures`` (N) adds the options'
  dollar deltas (the delta-equivalent exposure used by parametric, FHS and EVT methods, the
  Euler components, concentration and backtests).
- **Options**: an :class:`~riskapp.engine.options.OptionBook` on the factors, for full
  revaluation (historical and Monte Carlo VaR, stress tests). Spots are today's closes (not
  adjusted: strikes are in traded prices); implied volatility is proxied by the underlying's
  trailing ``VOL_LOOKBACK_DAYS``-day realised volatility annualised with √252; the rate is a
  flat ``DEFAULT_RATE`` (continuously compounded); no dividends. Time to expiry in calendar
  days / 365.
- **Inputs hash**: SHA-256 of the quantities, the closes used, a digest of the aligned price
  matrix and the parameters, so any stored figure can be tied to exactly what produced it.

Base currency: every instrument is taken to be in the portfolio's base currency (the demo is
all USD); positions in another currency are flagged in ``foreign_currency`` for the FX shocks.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from audit.services import inputs_hash_of
from portfolios.models import Instrument, Portfolio, PriceBar
from riskapp.engine.options import OptionBook
from riskapp.engine.types import FloatArray, RiskInputError
from riskapp.selectors import Valuation, portfolio_valuation

DEFAULT_WINDOW_DAYS = 1000
MIN_COMMON_DAYS = 250
MAX_FFILL_DAYS = 5
VOL_LOOKBACK_DAYS = 60
TRADING_DAYS_PER_YEAR = 252
#: Flat risk-free rate for option revaluation: 3-month US T-bills yielded about 4 % in December
#: 2022, where the demo data ends (the same rate the demo used to price its option bars).
DEFAULT_RATE = 0.04
# Calendar days fetched per trading day of window: 365/252 ≈ 1.45, plus slack for holidays.
_CALENDAR_PER_TRADING_DAY = 1.5
_CALENDAR_SLACK_DAYS = 30


class RiskDataError(RiskInputError):
    """The database cannot give a risk run what it needs (a message meant for a person)."""


class EmptyBookError(RiskDataError):
    """The portfolio holds nothing on the day."""


class MissingPricesError(RiskDataError):
    """A position (or an option's underlying) has no usable price history."""


class InsufficientHistoryError(RiskDataError):
    """Fewer common days of history than the methods need."""


@dataclass(frozen=True)
class OptionPosition:
    """One option position as the run sees it (``value`` at the day's close, base currency)."""

    symbol: str
    underlying: str
    quantity: float
    strike: float
    expiry: date
    right: str
    multiplier: float
    vol: float
    value: float


@dataclass
class RiskInputs:
    """Everything a risk run computes from, aligned on the factor columns (see module docstring)."""

    portfolio: Portfolio
    as_of: date
    valuation: Valuation
    factors: list[str]
    instruments: list[Instrument]
    dates: list[date]
    prices: pd.DataFrame
    returns: FloatArray
    linear_values: FloatArray
    exposures: FloatArray
    spots: FloatArray
    sectors: list[str]
    countries: list[str]
    currencies: list[str]
    options: list[OptionPosition] = field(default_factory=list)
    option_book: OptionBook | None = None
    rate: float = DEFAULT_RATE
    inputs_hash: str = ""

    @property
    def nav(self) -> float:
        return self.valuation.nav

    @property
    def n_days(self) -> int:
        return int(self.returns.shape[0])

    @property
    def has_options(self) -> bool:
        return bool(self.options)

    @property
    def foreign_currency(self) -> bool:
        base = self.portfolio.base_currency
        return any(c and c != base for c in self.currencies)

    def revalue(self) -> Callable[[FloatArray], FloatArray] | None:
        """Full revaluation (scenario returns k × N → P&L k) when the book holds options, else None."""
        if self.option_book is None:
            return None
        return self.option_book.revaluer(equity_values=self.linear_values)

    def scenario_pnl(self, scenario_returns: FloatArray) -> float:
        """P&L of one scenario of factor returns (N), options revalued in full."""
        r = np.asarray(scenario_returns, dtype=np.float64).reshape(1, -1)
        if self.option_book is None:
            return float(r[0] @ self.linear_values)
        return float(self.option_book.pnl(np.maximum(r, -1.0), equity_values=self.linear_values)[0])


def _is_option(inst: Instrument) -> bool:
    return inst.kind == Instrument.Kind.OPTION


def _factor_instruments(val: Valuation) -> list[Instrument]:
    """Held non-option instruments plus the underlyings of options, in symbol order."""
    factors: dict[str, Instrument] = {}
    for sym, inst in val.instruments.items():
        if _is_option(inst):
            if inst.underlying is None:
                raise MissingPricesError(f"The option {sym} has no underlying.")
            factors[inst.underlying.symbol] = inst.underlying
        else:
            factors[sym] = inst
    return [factors[s] for s in sorted(factors)]


def price_frame(
    *, instruments: list[Instrument], as_of: date, window_days: int, column: str = "adj_close"
) -> pd.DataFrame:
    """Prices (dates × symbols, float) over about ``window_days`` trading days ending ``as_of``.

    Unaligned: a date appears when any instrument has a bar; NaN where one has none.
    """
    start = as_of - timedelta(days=math.ceil(window_days * _CALENDAR_PER_TRADING_DAY) + _CALENDAR_SLACK_DAYS)
    by_id = {inst.pk: inst.symbol for inst in instruments}
    rows = (
        PriceBar.objects.filter(instrument_id__in=list(by_id), date__gt=start, date__lte=as_of)
        .order_by()
        .values_list("date", "instrument_id", column)
    )
    data = [(d, by_id[iid], float(p)) for d, iid, p in rows.iterator(chunk_size=20_000)]
    frame = pd.DataFrame(data, columns=["date", "symbol", "price"])
    if frame.empty:
        return pd.DataFrame(columns=[inst.symbol for inst in instruments], dtype=np.float64)
    wide = frame.pivot(index="date", columns="symbol", values="price").sort_index()
    return wide.reindex(columns=[inst.symbol for inst in instruments])


def align_prices(frame: pd.DataFrame, *, window_days: int) -> pd.DataFrame:
    """The last ``window_days`` + 1 dates on which every column has a price (gaps ≤ 5 dates filled).

    Raises ``MissingPricesError`` for a column without any price or whose prices stop more than
    ``MAX_FFILL_DAYS`` dates before the others, ``InsufficientHistoryError`` when fewer than
    ``MIN_COMMON_DAYS`` common dates remain.
    """
    empty = [str(c) for c in frame.columns if frame[c].notna().sum() == 0]
    if empty:
        raise MissingPricesError(f"No price history for {', '.join(empty)} up to this day.")
    filled = frame.ffill(limit=MAX_FFILL_DAYS)
    last = filled.iloc[-1]
    stale = [str(c) for c in filled.columns if not np.isfinite(last[c])]
    if stale:
        raise MissingPricesError(
            f"Prices of {', '.join(stale)} stop more than {MAX_FFILL_DAYS} trading days before the others' last date."
        )
    common = filled.dropna(how="any")
    if len(common) < MIN_COMMON_DAYS:
        starts = {str(c): frame[c].first_valid_index() for c in frame.columns}
        shortest = max(starts, key=lambda c: starts[c] or date.min)
        raise InsufficientHistoryError(
            f"Only {len(common)} days of common price history (at least {MIN_COMMON_DAYS} are needed); "
            f"the shortest series is {shortest}, from {starts[shortest]}."
        )
    return common.iloc[-(window_days + 1) :]


def _option_positions(
    val: Valuation, factors: list[str], returns: pd.DataFrame, closes: dict[str, float]
) -> list[OptionPosition]:
    recent = returns.iloc[-VOL_LOOKBACK_DAYS:]
    vols = (recent.std(ddof=1) * math.sqrt(TRADING_DAYS_PER_YEAR)).to_dict()
    out = []
    for sym in sorted(val.instruments):
        inst = val.instruments[sym]
        if not _is_option(inst):
            continue
        assert inst.underlying is not None and inst.strike is not None and inst.expiry is not None
        und = inst.underlying.symbol
        if und not in closes:
            raise MissingPricesError(f"No close for {und}, the underlying of {sym}.")
        out.append(
            OptionPosition(
                symbol=sym,
                underlying=und,
                quantity=float(val.quantities[sym]),
                strike=float(inst.strike),
                expiry=inst.expiry,
                right=inst.option_right,
                multiplier=float(inst.multiplier),
                vol=float(vols[und]),
                value=val.values.get(sym, 0.0),
            )
        )
    return out


def _option_book(
    options: list[OptionPosition], factors: list[str], spots: FloatArray, as_of: date, rate: float
) -> OptionBook | None:
    if not options:
        return None
    index = {s: i for i, s in enumerate(factors)}
    return OptionBook.create(
        spots=spots,
        underlying=np.array([index[o.underlying] for o in options], dtype=np.intp),
        strike=[o.strike for o in options],
        expiry_years=[(o.expiry - as_of).days / 365.0 for o in options],
        right=[o.right for o in options],
        quantity=[o.quantity for o in options],
        vols=[o.vol for o in options],
        rate=rate,
        multiplier=[o.multiplier for o in options],
    )


def _latest_closes(instruments: list[Instrument], as_of: date) -> dict[str, float]:
    """Each instrument's last close on or before ``as_of`` (not adjusted)."""
    out: dict[str, float] = {}
    for inst in instruments:
        close = (
            PriceBar.objects.filter(instrument=inst, date__lte=as_of)
            .order_by("-date")
            .values_list("close", flat=True)
            .first()
        )
        if close is not None:
            out[inst.symbol] = float(close)
    return out


def inputs_hash(
    *, portfolio: Portfolio, as_of: date, val: Valuation, aligned: pd.DataFrame, parameters: dict[str, Any]
) -> str:
    """SHA-256 of the quantities, closes, aligned price matrix (its own SHA-256) and parameters."""
    matrix = np.ascontiguousarray(aligned.to_numpy(dtype=np.float64))
    payload = {
        "portfolio": portfolio.code,
        "as_of": as_of.isoformat(),
        "quantities": {s: str(q) for s, q in sorted(val.quantities.items())},
        "closes": {s: repr(p) for s, p in sorted(val.prices.items())},
        "factors": [str(c) for c in aligned.columns],
        "dates": [aligned.index[0].isoformat(), aligned.index[-1].isoformat(), len(aligned)],
        "prices_sha256": hashlib.sha256(matrix.tobytes()).hexdigest(),
        "parameters": parameters,
    }
    return inputs_hash_of(payload)


def risk_inputs_load(
    *,
    portfolio: Portfolio,
    as_of: date,
    window_days: int = DEFAULT_WINDOW_DAYS,
    rate: float = DEFAULT_RATE,
    parameters: dict[str, Any] | None = None,
) -> RiskInputs:
    """Load and align everything a risk run of ``portfolio`` on ``as_of`` needs (see module docstring).

    Raises a ``RiskDataError`` (a ``RiskInputError``) with a message for a person when the book is
    empty, a position has no prices, or the common history is shorter than ``MIN_COMMON_DAYS``.
    """
    val = portfolio_valuation(portfolio=portfolio, as_of=as_of)
    held = {s: q for s, q in val.quantities.items() if q != 0}
    if not held:
        raise EmptyBookError(f"{portfolio.code} holds no positions on {as_of.isoformat()}.")
    if val.unpriced:
        raise MissingPricesError(
            f"No price on or before {as_of.isoformat()} for {', '.join(sorted(val.unpriced))}: "
            "load their price bars or close the positions."
        )
    instruments = _factor_instruments(val)
    symbols = [inst.symbol for inst in instruments]
    raw = price_frame(instruments=instruments, as_of=as_of, window_days=window_days)
    aligned = align_prices(raw, window_days=window_days)
    returns_frame = aligned.pct_change().iloc[1:]
    closes = {s: val.prices[s] for s in symbols if s in val.prices}
    missing = [inst for inst in instruments if inst.symbol not in closes]
    closes.update(_latest_closes(missing, as_of))
    spots = np.array([closes[s] for s in symbols], dtype=np.float64)
    # Factors are never options, so a factor's linear value is simply that of its own position (if held).
    linear = np.array([val.values.get(s, 0.0) for s in symbols], dtype=np.float64)
    options = _option_positions(val, symbols, returns_frame, closes)
    book = _option_book(options, symbols, spots, as_of, rate)
    exposures = linear.copy() if book is None else book.sensitivities(equity_values=linear)[0]
    return RiskInputs(
        portfolio=portfolio,
        as_of=as_of,
        valuation=val,
        factors=symbols,
        instruments=instruments,
        dates=list(returns_frame.index),
        prices=aligned,
        returns=np.ascontiguousarray(returns_frame.to_numpy(dtype=np.float64)),
        linear_values=linear,
        exposures=np.asarray(exposures, dtype=np.float64),
        spots=spots,
        sectors=[inst.sector for inst in instruments],
        countries=[inst.country for inst in instruments],
        currencies=[inst.currency for inst in instruments],
        options=options,
        option_book=book,
        rate=rate,
        inputs_hash=inputs_hash(
            portfolio=portfolio, as_of=as_of, val=val, aligned=aligned, parameters=parameters or {}
        ),
    )


def series_returns(*, symbols: list[str], price_dates: list[date], window_days: int) -> pd.DataFrame:
    """Simple returns of other series (factor ETFs, the index) between the run's price dates.

    ``price_dates`` are the T + 1 dates of the run's aligned prices; the result has T rows (the
    return dates). Each series is carried forward over at most ``MAX_FFILL_DAYS`` of its own
    dates; a series that still misses any date is dropped (returned columns ⊆ ``symbols``).
    """
    index = pd.Index(price_dates)
    instruments = list(Instrument.objects.filter(symbol__in=symbols))
    if not instruments or len(index) < 2:
        return pd.DataFrame(index=index[1:])
    frame = price_frame(instruments=instruments, as_of=price_dates[-1], window_days=window_days + 10)
    frame = frame.reindex(frame.index.union(index)).ffill(limit=MAX_FFILL_DAYS).reindex(index)
    rets = frame.pct_change(fill_method=None).iloc[1:]
    keep = [s for s in symbols if s in rets.columns and bool(rets[s].notna().all())]
    return rets[keep]
