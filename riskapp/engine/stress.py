"""Stress tests: historical replay, hypothetical and user-defined shocks, reverse stress test.

Conventions (shared with the rest of the engine): ``values`` are signed position values in base
currency; a shock is a simple return (−0.10 = a 10% fall); P&L is positive for a gain.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt
import pandas as pd

from riskapp.engine.options import OptionBook
from riskapp.engine.types import FloatArray, RiskInputError, check_values

# Windows replayed from real price history. The first date is the base (its close is the starting
# price) and the last date closes the window; each asset's move is its return between the two.
HISTORICAL_SCENARIOS: dict[str, tuple[date, date]] = {
    "lehman_2008": (date(2008, 9, 1), date(2008, 11, 30)),
    "covid_2020": (date(2020, 2, 19), date(2020, 3, 23)),
    "rates_2022": (date(2022, 1, 3), date(2022, 6, 30)),
    "us_downgrade_2011": (date(2011, 7, 22), date(2011, 8, 31)),
    "dotcom_2000_2002": (date(2000, 3, 24), date(2002, 10, 9)),
}

SCENARIO_DESCRIPTIONS: dict[str, str] = {
    "lehman_2008": "2008 Lehman: Lehman Brothers filed for Chapter 11 on 15 Sep 2008; AIG rescue, money-market "
    "fund run and the global sell-off through November 2008.",
    "covid_2020": "COVID-19 crash: the S&P 500 fell from its record close of 19 Feb 2020 to its low of "
    "23 Mar 2020, the fastest bear market on record.",
    "rates_2022": "2022 rate shock: the Federal Reserve started hiking on 16 Mar 2022 (75 bp in June); equities "
    "and bonds fell together in the first half of 2022.",
    "us_downgrade_2011": "August 2011: US debt-ceiling crisis and Standard & Poor's downgrade of US sovereign debt "
    "from AAA to AA+ on 5 Aug 2011, with the euro-area debt crisis.",
    "dotcom_2000_2002": "Dot-com bust: from the S&P 500 peak of 24 Mar 2000 to its trough of 9 Oct 2002.",
}


# A window is covered when prices exist within this many calendar days of both of its ends
# (weekends and holidays, e.g. a window ending on a Sunday).
_EDGE_DAYS = 7
# A base price may be carried forward over at most this many price dates (holidays, halts).
_STALE_ROWS = 5


class ReplayResult(TypedDict):
    """Outcome of :func:`replay_historical` (amounts in base currency, returns as fractions)."""

    start: date  # first price date used (the base)
    end: date  # last price date used
    n_days: int  # price dates in the window
    pnl: float  # P&L over the whole window
    asset_returns: dict[str, float]  # cumulative return applied to each asset
    contributions: dict[str, float]  # P&L per asset; sums to ``pnl``
    worst_pnl: float  # lowest cumulative P&L on any day of the window
    worst_date: date
    max_drawdown: float  # worst peak-to-trough fall of the cumulative P&L path (≥ 0)
    peak_date: date
    trough_date: date
    proxied: list[str]  # assets without prices at the window start, moved with the proxy
    unshocked: list[str]  # assets with neither their own prices nor a proxy (shock 0)
    path: list[tuple[date, float]]  # cumulative P&L per date


def _values_by_asset(values: Any, columns: Sequence[str]) -> dict[str, float]:
    """Position values keyed by asset: a mapping/Series by asset id, or an array aligned with the columns."""
    if isinstance(values, Mapping | pd.Series):
        out = {str(k): float(v) for k, v in values.items()}
    else:
        arr = check_values(values)
        if arr.size != len(columns):
            raise RiskInputError(f"{arr.size} position values for {len(columns)} price columns.")
        out = dict(zip(columns, arr.tolist(), strict=True))
    if not out:
        raise RiskInputError("The portfolio has no positions.")
    if not all(math.isfinite(v) for v in out.values()):
        raise RiskInputError("Position values must be finite numbers.")
    return out


def _price_frame(prices: Any) -> pd.DataFrame:
    if not isinstance(prices, pd.DataFrame) or prices.empty:
        raise RiskInputError("Prices must be a non-empty pandas DataFrame (dates × assets).")
    try:
        index = pd.DatetimeIndex(pd.to_datetime(prices.index))
    except (TypeError, ValueError) as exc:
        raise RiskInputError("The price index must be dates.") from exc
    if index.tz is not None:
        index = index.tz_convert(None)
    frame = prices.astype(np.float64).set_axis(index.normalize(), axis=0)
    frame.columns = [str(c) for c in frame.columns]
    if frame.index.has_duplicates:
        raise RiskInputError("The price history has duplicate dates.")
    arr = frame.to_numpy()
    if np.any(np.isinf(arr)) or np.any(arr[np.isfinite(arr)] <= 0):
        raise RiskInputError("Prices must be positive finite numbers (missing prices may be NaN).")
    return frame.sort_index()


def replay_historical(
    prices: pd.DataFrame,
    values: Any,
    *,
    start: date | str,
    end: date | str,
    proxy: str | pd.Series | None = None,
    proxy_betas: Mapping[str, float] | None = None,
) -> ReplayResult:
    """Replay a historical window on today's book.

    ``prices``: DataFrame of prices (dates × assets, NaN where missing); ``values``: today's position
    values by asset (mapping/Series keyed by column name, or an array aligned with the columns).
    Each asset's path is its price relative to the window's first date (prices are carried forward
    over gaps, never backward; a halted or delisted name keeps its last price); the P&L path is
    Σ value·(relative price − 1). The history must cover the window (prices within a week of both
    ends). An asset with no recent price on the first date (not yet listed, stopped trading long
    before, or not in ``prices``) moves with ``proxy`` — a column name or a
    price Series such as the market index — times its ``proxy_betas`` entry (default 1) and is listed
    in ``proxied``; without a usable proxy it is left unshocked and listed in ``unshocked``.
    """
    frame = _price_frame(prices)
    book = _values_by_asset(values, list(frame.columns))
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    if t1 <= t0:
        raise RiskInputError(f"The scenario ends ({end}) before it starts ({start}).")
    upto_end = frame.loc[frame.index <= t1]
    known = upto_end.ffill()
    window = known.loc[known.index >= t0]
    if len(window) < 2:
        raise RiskInputError(f"No price history between {t0.date()} and {t1.date()} (need at least two dates).")
    slack = pd.Timedelta(days=_EDGE_DAYS)
    if window.index[0] > t0 + slack or window.index[-1] < t1 - slack:
        raise RiskInputError(
            f"The price history covers {window.index[0].date()}..{window.index[-1].date()} of the scenario "
            f"window {t0.date()}..{t1.date()}; it must cover the whole window."
        )
    # Whether an asset has a base price: its last price at most _STALE_ROWS price dates old, so a
    # series that stopped long before the window is proxied rather than replayed as flat.
    base_known = upto_end.ffill(limit=_STALE_ROWS).loc[window.index[0]]

    proxy_path: FloatArray | None = None
    if proxy is not None:
        if isinstance(proxy, str):
            if proxy not in frame.columns:
                raise RiskInputError(f"The proxy {proxy!r} is not a column of the prices.")
            proxy_prices = window[proxy]
        else:
            series = _price_frame(proxy.to_frame()).iloc[:, 0]
            series = series.loc[series.index <= t1]
            proxy_prices = series.reindex(series.index.union(window.index)).ffill().loc[window.index]
        proxy_arr = proxy_prices.to_numpy(dtype=np.float64)
        if np.isfinite(proxy_arr[0]):
            proxy_path = proxy_arr / proxy_arr[0] - 1.0

    dates = window.index
    paths: dict[str, FloatArray] = {}
    proxied: list[str] = []
    unshocked: list[str] = []
    for asset in book:
        col = window[asset].to_numpy(dtype=np.float64) if asset in window.columns else None
        if col is not None and np.isfinite(base_known[asset]):
            paths[asset] = col / col[0] - 1.0
        elif proxy_path is not None:
            beta = float((proxy_betas or {}).get(asset, 1.0))
            paths[asset] = beta * proxy_path
            proxied.append(asset)
        else:
            paths[asset] = np.zeros(len(dates))
            unshocked.append(asset)

    pnl_path = np.zeros(len(dates))
    for asset, v in book.items():
        pnl_path += v * paths[asset]
    running_peak = np.maximum.accumulate(pnl_path)
    trough = int(np.argmax(running_peak - pnl_path))
    peak = int(np.argmax(pnl_path[: trough + 1]))
    worst = int(np.argmin(pnl_path))
    as_date = [ts.date() for ts in dates]
    return ReplayResult(
        start=as_date[0],
        end=as_date[-1],
        n_days=len(dates),
        pnl=float(pnl_path[-1]),
        asset_returns={a: float(p[-1]) for a, p in paths.items()},
        contributions={a: float(book[a] * paths[a][-1]) for a in book},
        worst_pnl=float(pnl_path[worst]),
        worst_date=as_date[worst],
        max_drawdown=float(running_peak[trough] - pnl_path[trough]),
        peak_date=as_date[peak],
        trough_date=as_date[trough],
        proxied=proxied,
        unshocked=unshocked,
        path=list(zip(as_date, pnl_path.tolist(), strict=True)),
    )


# ---------------------------------------------------------------------------------------------------
# Hypothetical and user-defined shocks
# ---------------------------------------------------------------------------------------------------

SHOCK_KEYS = frozenset({"equity", "sector", "country", "asset", "factor", "fx", "vol", "vol_shift"})


def _mapping(shocks: Mapping[str, Any], key: str) -> dict[str, float]:
    raw = shocks.get(key) or {}
    if not isinstance(raw, Mapping):
        raise RiskInputError(f"Shock {key!r} must map names to moves, e.g. {{'Technology': -0.15}}.")
    out = {}
    for name, move in raw.items():
        m = float(move)
        if not math.isfinite(m) or m < -1.0:
            raise RiskInputError(f"Shock {key}[{name!r}] = {move!r} must be a finite move of at least −100%.")
        out[str(name)] = m
    return out


def _labels(name: str, labels: Sequence[str] | None, n: int) -> list[str]:
    if labels is None:
        raise RiskInputError(f"The scenario shocks by {name}, but no {name} per position was given.")
    if len(labels) != n:
        raise RiskInputError(f"{len(labels)} {name} labels for {n} positions.")
    return [str(x) for x in labels]


def shocked_returns(
    n_assets: int,
    *,
    shocks: Mapping[str, Any],
    sectors: Sequence[str] | None = None,
    countries: Sequence[str] | None = None,
    asset_ids: Sequence[str] | None = None,
    betas: npt.ArrayLike | None = None,
    factor_names: Sequence[str] | None = None,
) -> FloatArray:
    """Price return of each asset (N) under a scenario, before currency moves.

    The moves that apply to an asset add up: ``equity`` (all assets) + its ``sector`` move + its
    ``country`` move + its own ``asset`` move + the factor move Σₖ βᵢₖ·fₖ (``factor``: name → factor
    return, with ``betas`` N × K named by ``factor_names``). A combined move below −100% is rejected.
    """
    unknown = set(shocks) - SHOCK_KEYS
    if unknown:
        raise RiskInputError(f"Unknown shock types {sorted(unknown)}; allowed: {sorted(SHOCK_KEYS)}.")
    r = np.zeros(n_assets)
    equity = float(shocks.get("equity", 0.0))
    if not math.isfinite(equity) or equity < -1.0:
        raise RiskInputError("The equity shock must be a finite move of at least −100%.")
    r += equity
    for key, labels in (("sector", sectors), ("country", countries), ("asset", asset_ids)):
        moves = _mapping(shocks, key)
        if moves:
            names = _labels(key, labels, n_assets)
            r += np.array([moves.get(x, 0.0) for x in names])
    factor_moves = _mapping(shocks, "factor")
    if factor_moves:
        if betas is None or factor_names is None:
            raise RiskInputError("A factor shock needs the assets' betas and the factor names.")
        b = np.asarray(betas, dtype=np.float64)
        if b.shape != (n_assets, len(factor_names)) or not np.all(np.isfinite(b)):
            raise RiskInputError(f"Betas must be a finite {n_assets} × {len(factor_names)} matrix.")
        missing = set(factor_moves) - {str(f) for f in factor_names}
        if missing:
            raise RiskInputError(f"No betas for the shocked factors {sorted(missing)}.")
        f = np.array([factor_moves.get(str(name), 0.0) for name in factor_names])
        r += b @ f
    if np.any(r < -1.0):
        raise RiskInputError("The combined shock moves a price below zero (a fall of more than 100%).")
    return r


def shock_pnl_by_asset(
    values: npt.ArrayLike,
    *,
    shocks: Mapping[str, Any],
    sectors: Sequence[str] | None = None,
    countries: Sequence[str] | None = None,
    currencies: Sequence[str] | None = None,
    asset_ids: Sequence[str] | None = None,
    betas: npt.ArrayLike | None = None,
    factor_names: Sequence[str] | None = None,
    option_book: OptionBook | None = None,
) -> FloatArray:
    """P&L per asset (N) of a scenario; option P&L is attributed to the option's underlying.

    ``shocks`` is a user-defined scenario, e.g.::

        {"equity": -0.05, "sector": {"Technology": -0.15}, "country": {"US": -0.03},
         "asset": {"AAPL": -0.20}, "factor": {"MKT": -0.10}, "fx": {"EUR": -0.08},
         "vol": 1.5, "vol_shift": 0.05}

    ``fx`` moves the base-currency value of one unit of a currency (−0.08: EUR positions lose 8% in
    base currency), applied on top of the price move: P&L = v·((1 + r)(1 + fx) − 1). ``vol`` multiplies
    and ``vol_shift`` adds to every implied volatility (options only, by full revaluation with
    ``option_book`` whose underlyings are the same N assets as ``values``).
    """
    v = check_values(values)
    n = v.size
    r = shocked_returns(
        n,
        shocks=shocks,
        sectors=sectors,
        countries=countries,
        asset_ids=asset_ids,
        betas=betas,
        factor_names=factor_names,
    )
    fx = np.zeros(n)
    fx_moves = _mapping(shocks, "fx")
    if fx_moves:
        fx = np.array([fx_moves.get(c, 0.0) for c in _labels("currency", currencies, n)])
    pnl = v * ((1.0 + r) * (1.0 + fx) - 1.0)
    vol_mult = float(shocks.get("vol", 1.0))
    vol_shift = float(shocks.get("vol_shift", 0.0))
    if not (math.isfinite(vol_mult) and vol_mult >= 0 and math.isfinite(vol_shift)):
        raise RiskInputError("The vol shock must be a non-negative multiplier and vol_shift a finite number.")
    if option_book is not None and option_book.underlying.size:
        if option_book.n_underlyings != n:
            raise RiskInputError(f"The option book has {option_book.n_underlyings} underlyings for {n} positions.")
        before = option_book.position_values()
        after = option_book.scenario_option_values(r[None, :], vol_multiplier=vol_mult, vol_shift=vol_shift)[0]
        opt_pnl = after * (1.0 + fx[option_book.underlying]) - before
        pnl += np.bincount(option_book.underlying, weights=opt_pnl, minlength=n)
    return pnl


def apply_shocks(
    values: npt.ArrayLike,
    *,
    shocks: Mapping[str, Any],
    sectors: Sequence[str] | None = None,
    countries: Sequence[str] | None = None,
    currencies: Sequence[str] | None = None,
    asset_ids: Sequence[str] | None = None,
    betas: npt.ArrayLike | None = None,
    factor_names: Sequence[str] | None = None,
    option_book: OptionBook | None = None,
) -> float:
    """Total P&L of a hypothetical or user-defined scenario (see :func:`shock_pnl_by_asset`)."""
    return float(
        shock_pnl_by_asset(
            values,
            shocks=shocks,
            sectors=sectors,
            countries=countries,
            currencies=currencies,
            asset_ids=asset_ids,
            betas=betas,
            factor_names=factor_names,
            option_book=option_book,
        ).sum()
    )


# ---------------------------------------------------------------------------------------------------
# Reverse stress test
# ---------------------------------------------------------------------------------------------------

_GRID_POINTS = 400  # scan resolution for non-linear books before bisection


def reverse_stress(
    values: npt.ArrayLike,
    direction: npt.ArrayLike | None = None,
    *,
    loss_threshold: float,
    option_book: OptionBook | None = None,
    max_move: float = 1.0,
    vol_multiplier: float = 1.0,
    tol: float = 1e-10,
) -> float:
    """The smallest move m whose scenario ``returns = m · direction`` loses at least ``loss_threshold``.

    Without ``direction`` every asset moves by the same m and the sign is chosen adversely (the
    returned m is negative when the book loses in a fall); with a ``direction`` (N, e.g. a historical
    scenario's returns) only m ≥ 0 is searched. Moves are limited to |m| ≤ ``max_move`` and to prices
    staying non-negative; ``math.inf`` means no such move breaks the threshold.

    A linear book (no ``option_book``) has the closed form m = threshold / |d·v|; a book with options
    is scanned on a grid of moves and the first crossing refined by bisection (to ``tol``), so the
    answer is the smallest breaking move even when the loss is not monotone in m.
    """
    v = check_values(values)
    n = v.size
    threshold = float(loss_threshold)
    if not (math.isfinite(threshold) and threshold > 0):
        raise RiskInputError("The loss threshold must be a positive amount.")
    if not (math.isfinite(max_move) and max_move > 0):
        raise RiskInputError("max_move must be a positive number.")
    if direction is None:
        d = np.ones(n)
        signs: tuple[float, ...] = (-1.0, 1.0)
    else:
        d = np.asarray(direction, dtype=np.float64).reshape(-1)
        if d.size != n or not np.all(np.isfinite(d)) or not np.any(d):
            raise RiskInputError(f"The direction must be {n} finite numbers, not all zero.")
        signs = (1.0,)
    if option_book is not None and option_book.n_underlyings != n:
        raise RiskInputError(f"The option book has {option_book.n_underlyings} underlyings for {n} positions.")

    best = math.inf
    for sign in signs:
        step = sign * d
        # Largest m keeping 1 + m·stepᵢ ≥ 0 for every asset (a price cannot fall below zero).
        falls = step[step < 0]
        bound = min(max_move, 1.0 / float(-falls.min())) if falls.size else max_move
        if option_book is None or option_book.underlying.size == 0:
            slope = -float(step @ v)  # loss per unit of m
            m = threshold / slope if slope > 0 else math.inf
        else:
            m = _first_crossing(v, step, option_book, threshold, bound, vol_multiplier, tol)
        if m <= bound and m < abs(best):
            best = sign * m
    return best


def _first_crossing(
    v: FloatArray, step: FloatArray, book: OptionBook, threshold: float, bound: float, vol_mult: float, tol: float
) -> float:
    def loss(ms: FloatArray) -> FloatArray:
        scenarios = np.clip(ms[:, None] * step[None, :], -1.0, None)
        return -book.pnl(scenarios, equity_values=v, vol_multiplier=vol_mult)

    grid = np.linspace(0.0, bound, _GRID_POINTS + 1)
    losses = loss(grid)
    hits = np.flatnonzero(losses >= threshold)
    if hits.size == 0:
        return math.inf
    j = int(hits[0])
    if j == 0:  # already broken with no move (e.g. a vol shock alone)
        return 0.0
    lo, hi = float(grid[j - 1]), float(grid[j])
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if loss(np.array([mid]))[0] >= threshold:
            hi = mid
        else:
            lo = mid
    return hi
