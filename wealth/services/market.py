"""Market inputs of the wealth engines, read from the shared price bars.

``market_inputs`` turns daily ``PriceBar.adj_close`` into annualised expected returns (James–Stein
shrunk means, ``mean_shrunk``) and a Ledoit–Wolf covariance over a common window of ``years``
ending at ``as_of``, with the latest closes for trading and the ESG score, asset class and sector
of each instrument. Conventions (docs/wealth-methodology.md, "Services"):

* returns are daily simple returns on the dates every kept instrument has a bar (aligned dates);
* the window starts ``years`` before ``as_of``, or at the start of the data when it is shorter;
  an instrument whose history starts more than ``LATE_START_DAYS`` after that start, or whose
  last bar is more than ``STALE_DAYS`` before ``as_of``, is dropped with the reason in ``dropped``;
* cash-like instruments (asset class ``cash``) keep their own sample mean and variance and no
  covariance with the rest: shrinking a near-riskless asset toward the average stock (both
  estimators shrink toward a cross-sectional average) would make cash look risky and rewarding.
  The risk-free rate is the mean of the cash instruments (0 when there is none).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
from django.db.models import OuterRef, Subquery

from core.frames import ids_clause, query_frame
from portfolios.models import Instrument, PriceBar
from wealth.engine.estimates import (
    EstimationError,
    covariance_ledoit_wolf,
    equilibrium_returns,
    implied_risk_aversion,
    mean_shrunk,
)
from wealth.models import AssetProfile
from wealth.services._common import engine_failed, fail

FloatArray = npt.NDArray[np.float64]
PERIODS_PER_YEAR = 252
LATE_START_DAYS = 31
STALE_DAYS = 10
MIN_OBSERVATIONS = 60
#: Long-run planning assumptions (docs/wealth-methodology.md): the T-bill rate averaged 3.3 % a
#: year from July 1926 to November 2018 in the Fama–French data shipped with ``arch``; the equity
#: premium over it is taken as 5 %, below that series' own 8 % average, as forward-looking
#: capital-market assumptions usually are.
LONG_RUN_RISK_FREE = 0.033
EQUITY_PREMIUM = 0.05


@dataclass(frozen=True)
class MarketInputs:
    """Estimates for ``symbols`` (in that order): ``mu`` annual expected simple returns, ``cov``
    annual covariance, ``prices`` the latest close on or before ``as_of``, and what the optimiser
    needs about each instrument. ``dropped`` maps a symbol asked for but left out to the reason."""

    symbols: list[str]
    mu: FloatArray
    cov: FloatArray
    prices: dict[str, float]
    esg: dict[str, float | None]
    sectors: dict[str, str]
    asset_classes: dict[str, str]
    as_of: dt.date
    start: dt.date
    observations: int
    shrinkage: float
    risk_free: float
    dropped: dict[str, str] = field(default_factory=dict)

    def index(self, symbol: str) -> int:
        return self.symbols.index(symbol)

    def moments(self, weights: dict[str, float]) -> tuple[float, float]:
        """(expected return, volatility) of ``weights`` (symbols missing here are ignored and the
        rest renormalised)."""
        w = np.array([weights.get(s, 0.0) for s in self.symbols], dtype=np.float64)
        total = w.sum()
        if total <= 0:
            raise fail("None of the portfolio's instruments has market data.", {"weights": "No priced instrument."})
        w /= total
        return float(w @ self.mu), float(np.sqrt(max(float(w @ self.cov @ w), 0.0)))

    def equilibrium_mu(self, premium: float = EQUITY_PREMIUM, risk_free: float = LONG_RUN_RISK_FREE) -> FloatArray:
        """CAPM equilibrium returns π = rf + δΣw_m: the market is the equal-weighted equity part of
        the universe and δ is set so that it earns ``premium`` over ``risk_free``. Goal plans use
        these long-run returns rather than a few years' sample means."""
        market = np.array([self.asset_classes.get(s) == "equity" for s in self.symbols], dtype=np.float64)
        variance = float(market @ self.cov @ market) / max(market.sum(), 1.0) ** 2
        if market.sum() == 0 or variance <= 0:
            return np.full(len(self.symbols), risk_free)
        market /= market.sum()
        delta = implied_risk_aversion(risk_free + premium, variance, risk_free)
        return equilibrium_returns(self.cov, market, delta, risk_free)


def latest_prices(symbols: Iterable[str], as_of: dt.date | None = None) -> dict[str, tuple[float, dt.date]]:
    """``{symbol: (close, date)}`` of the last bar on or before ``as_of`` (any date when None).

    The bars of the last ``STALE_DAYS`` are read in one indexed range scan; only symbols with no
    bar in that range fall back to a per-instrument "newest bar" subquery."""
    wanted = sorted(set(symbols))
    if not wanted:
        return {}
    out: dict[str, tuple[float, dt.date]] = {}
    if as_of is not None:
        recent = PriceBar.objects.filter(
            instrument__symbol__in=wanted, date__lte=as_of, date__gte=as_of - dt.timedelta(days=STALE_DAYS)
        ).values_list("instrument__symbol", "close", "date")
        for sym, close, day in recent:
            if sym not in out or day > out[sym][1]:
                out[sym] = (float(close), day)
    rest = [s for s in wanted if s not in out]
    if rest:
        inner = PriceBar.objects.filter(instrument=OuterRef("instrument"))
        if as_of is not None:
            inner = inner.filter(date__lte=as_of)
        last = inner.order_by("-date").values("date")[:1]
        rows = PriceBar.objects.filter(instrument__symbol__in=rest, date=Subquery(last)).values_list(
            "instrument__symbol", "close", "date"
        )
        out.update({sym: (float(close), day) for sym, close, day in rows})
    return out


def price_date_latest(symbols: Iterable[str] | None = None) -> dt.date | None:
    """The newest bar date among ``symbols`` (all instruments with an asset profile when None)."""
    qs = PriceBar.objects.all()
    if symbols is None:
        qs = qs.filter(instrument__wealth__isnull=False)
    else:
        qs = qs.filter(instrument__symbol__in=list(symbols))
    day = qs.order_by("-date").values_list("date", flat=True).first()
    return day


def price_history(symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
    """Adjusted closes, one column per symbol, indexed by date (NaN where a bar is missing)."""
    ids = dict(Instrument.objects.filter(symbol__in=list(symbols)).values_list("id", "symbol"))
    if not ids:
        return pd.DataFrame()
    clause, params = ids_clause("instrument_id", list(ids))
    frame = query_frame(
        f"SELECT instrument_id, date, adj_close FROM {PriceBar._meta.db_table} "
        f"WHERE {clause} AND date >= %s AND date <= %s",
        [*params, start, end],
        ["instrument_id", "date", "adj_close"],
        text=["date"],
    )
    if frame.empty:
        return pd.DataFrame()
    frame["symbol"] = frame["instrument_id"].map(ids)
    frame["date"] = pd.to_datetime(frame["date"].str.slice(0, 10))
    frame["adj_close"] = frame["adj_close"].astype(float)
    return frame.pivot_table(index="date", columns="symbol", values="adj_close", aggfunc="last").sort_index()


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _select(wide: pd.DataFrame, wanted: list[str], start: dt.date, as_of: dt.date) -> tuple[list[str], dict[str, str]]:
    dropped: dict[str, str] = {}
    firsts: dict[str, dt.date] = {}
    for sym in wanted:
        column = wide[sym].dropna() if sym in wide else pd.Series(dtype=float)
        if column.empty:
            dropped[sym] = "no prices in the window"
            continue
        first, last = column.index[0].date(), column.index[-1].date()
        if (as_of - last).days > STALE_DAYS:
            dropped[sym] = f"no price since {last.isoformat()} (as of {as_of.isoformat()})"
            continue
        firsts[sym] = first
    if firsts:
        common = max(start, min(firsts.values()))
        for sym, first in firsts.items():
            if (first - common).days > LATE_START_DAYS:
                dropped[sym] = f"prices start {first.isoformat()}, after the window start {common.isoformat()}"
    return [s for s in wanted if s not in dropped], dropped


def _moments(returns: FloatArray, cash: npt.NDArray[np.bool_]) -> tuple[FloatArray, FloatArray, float]:
    n = returns.shape[1]
    mu = returns.mean(axis=0) * PERIODS_PER_YEAR
    cov = np.zeros((n, n), dtype=np.float64)
    risky = np.flatnonzero(~cash)
    shrinkage = 0.0
    try:
        if risky.size >= 2:
            mu_r, shrinkage = mean_shrunk(returns[:, risky], PERIODS_PER_YEAR)
            mu[risky] = mu_r
            cov[np.ix_(risky, risky)] = covariance_ledoit_wolf(returns[:, risky], PERIODS_PER_YEAR)
        elif risky.size == 1:
            cov[risky[0], risky[0]] = float(np.var(returns[:, risky[0]], ddof=1)) * PERIODS_PER_YEAR
    except EstimationError as exc:
        raise engine_failed(exc) from exc
    for i in np.flatnonzero(cash):
        cov[i, i] = float(np.var(returns[:, i], ddof=1)) * PERIODS_PER_YEAR
    return mu, cov, float(shrinkage)


def market_inputs(*, symbols: list[str], as_of: dt.date | None = None, years: int = 5) -> MarketInputs:
    """Estimates for ``symbols`` over ``years`` of daily history ending at ``as_of`` (the newest
    bar of the symbols when None). See the module docstring for the conventions."""
    wanted = list(dict.fromkeys(str(s) for s in symbols))
    if not wanted:
        raise fail("Name at least one instrument.", {"symbols": "No instruments."})
    if not isinstance(years, int) or not 1 <= years <= 30:
        raise fail("The estimation window must be 1 to 30 years.", {"years": "1 to 30."})
    as_of = as_of or price_date_latest(wanted)
    if as_of is None:
        raise fail("None of these instruments has prices.", {"symbols": "No prices."})
    start = _years_before(as_of, years)
    wide = price_history(wanted, start, as_of)
    kept, dropped = _select(wide, wanted, start, as_of)
    if not kept:
        reasons = "; ".join(f"{s}: {why}" for s, why in dropped.items())
        raise fail(f"No instrument has enough price history ({reasons}).", {"symbols": reasons})
    aligned = wide[kept].dropna()
    returns = aligned.pct_change().iloc[1:].to_numpy(dtype=np.float64)
    if returns.shape[0] < MIN_OBSERVATIONS:
        raise fail(
            f"Only {returns.shape[0]} daily returns on common dates; at least {MIN_OBSERVATIONS} are needed.",
            {"symbols": f"Fewer than {MIN_OBSERVATIONS} common daily returns."},
        )
    meta = {
        p.instrument_id: p
        for p in AssetProfile.objects.filter(instrument__symbol__in=kept).select_related("instrument")
    }
    instruments = {i.symbol: i for i in Instrument.objects.filter(symbol__in=kept)}
    asset_classes: dict[str, str] = {}
    esg: dict[str, float | None] = {}
    for sym in kept:
        inst = instruments[sym]
        profile = meta.get(inst.pk)
        default = "bond" if inst.kind == Instrument.Kind.BOND else "equity"
        asset_classes[sym] = profile.asset_class if profile else default
        esg[sym] = float(profile.esg_score) if profile and profile.esg_score is not None else None
    cash = np.array([asset_classes[s] == AssetProfile.AssetClass.CASH for s in kept], dtype=bool)
    mu, cov, shrinkage = _moments(returns, cash)
    closes = latest_prices(kept, as_of)
    return MarketInputs(
        symbols=kept,
        mu=mu,
        cov=cov,
        prices={s: closes[s][0] for s in kept if s in closes},
        esg=esg,
        sectors={s: instruments[s].sector for s in kept},
        asset_classes=asset_classes,
        as_of=as_of,
        start=aligned.index[0].date(),
        observations=int(returns.shape[0]),
        shrinkage=shrinkage,
        risk_free=float(mu[cash].mean()) if cash.any() else 0.0,
        dropped=dropped,
    )


def validation_summary(inputs: MarketInputs) -> dict[str, object]:
    """What an audit event records about the market inputs used."""
    return {
        "as_of": inputs.as_of.isoformat(),
        "start": inputs.start.isoformat(),
        "observations": inputs.observations,
        "symbols": inputs.symbols,
        "dropped": inputs.dropped,
        "mean_shrinkage": inputs.shrinkage,
        "risk_free": inputs.risk_free,
    }
