"""The measures of a risk run beyond VaR/ES: stress tests, factor exposures, concentration,
liquidity, market regime and the VaR backtest.

Each function reads what it needs beyond the run's :class:`~riskapp.inputs.RiskInputs` (stress
windows, factor and index series, volumes, quotes), calls the engine and returns plain,
JSON-safe data; nothing here writes. ``services/runs.py`` saves the results.

A measure that cannot be computed on the data at hand (a stress window before the history
starts, no factor series, no quotes, too short a history) is skipped with a reason a person can
read, never failing the whole run.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.db.models import Avg, Count, DecimalField, ExpressionWrapper, F, Sum
from django.db.models.functions import TruncDate
from threadpoolctl import threadpool_limits

from portfolios.models import Instrument, MarketTrade, PriceBar, Quote
from riskapp.engine import backtest, concentration, factors, liquidity, regime, stress
from riskapp.engine.types import FloatArray, RiskInputError
from riskapp.inputs import RiskInputs, series_returns
from riskapp.models import Scenario

#: Market index used as the market factor, the proxy of stress replays and the regime model,
#: in order of preference (the first with enough history on the run's dates is used).
MARKET_INDICES = ("SPX", "^GSPC")
#: Style factors: the MSCI factor ETFs of the demo data. Regressed as returns in excess of the
#: market (long factor ETF, short the index), so the market beta is not split between six
#: nearly collinear long-only series and each style beta reads as a tilt.
STYLE_FACTORS = ("MTUM", "QUAL", "SIZE", "USMV", "VLUE")
BACKTEST_METHODS = ("historical", "parametric_normal", "fhs_ewma")
BACKTEST_WINDOW_DAYS = 250
BACKTEST_DAYS = 250
MIN_BACKTEST_DAYS = 20
ADV_LOOKBACK_DAYS = 20
SPREAD_LOOKBACK_DAYS = 7
REGIME_HISTORY_DAYS = 1000
REGIME_PATH_DAYS = 250
REGIME_CACHE_SECONDS = 24 * 3600
LIQUIDITY_HORIZONS = (1, 2, 5, 10, 20)
# Buckets of the days-to-liquidate histogram on the page.
_NOT_TRADABLE = {Instrument.Kind.INDEX, Instrument.Kind.OPTION}


@dataclass
class StressOutcome:
    """Rows for ``StressResult`` plus the scenarios that could not be run."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    @property
    def worst_loss(self) -> float:
        """The largest loss (positive) over the historical, hypothetical and user scenarios."""
        losses = [-float(r["pnl"]) for r in self.rows if r["kind"] != "reverse"]
        return max([0.0, *losses])


def market_betas(inp: RiskInputs, market: pd.Series | None) -> FloatArray | None:
    """Each factor's single-index beta to the market return over the run's window (N), or None."""
    if market is None:
        return None
    m = market.to_numpy(dtype=np.float64)
    var_m = float(np.var(m, ddof=1))
    if var_m <= 0:
        return None
    r = inp.returns
    cov = ((r - r.mean(axis=0)) * (m - m.mean())[:, None]).sum(axis=0) / (m.size - 1)
    return np.asarray(cov / var_m, dtype=np.float64)


def market_returns(inp: RiskInputs, *, window_days: int) -> pd.Series | None:
    """The market index's returns on the run's dates (first of ``MARKET_INDICES`` available)."""
    frame = series_returns(symbols=list(MARKET_INDICES), price_dates=list(inp.prices.index), window_days=window_days)
    for sym in MARKET_INDICES:
        if sym in frame.columns:
            series: pd.Series = frame[sym].rename(sym)
            return series
    return None


# ---------------------------------------------------------------------------- stress tests


#: Display names of the engine's historical windows (``stress.HISTORICAL_SCENARIOS`` keys).
HISTORICAL_NAMES = {
    "lehman_2008": "2008 Lehman (Sep–Nov 2008)",
    "covid_2020": "COVID crash (Feb–Mar 2020)",
    "rates_2022": "2022 rate shock (H1 2022)",
    "us_downgrade_2011": "Aug 2011 US downgrade",
    "dotcom_2000_2002": "Dot-com fall (2000–2002)",
}

HYPOTHETICAL_SCENARIOS: dict[str, dict[str, Any]] = {
    "Equities −10 %": {"equity": -0.10},
    "Equities −20 %, vol ×1.5": {"equity": -0.20, "vol": 1.5},
    "Equities +10 %": {"equity": 0.10},
    "Technology −25 %": {"sector": {"Information Technology": -0.25}},
    "Financials −20 %": {"sector": {"Financials": -0.20}},
    "Energy −30 %": {"sector": {"Energy": -0.30}},
}
MARKET_SHOCK = ("Market −10 % (beta-scaled)", -0.10)
VOL_SHOCK = ("Implied vol ×2", 2.0)
FX_SHOCK = ("Base currency +10 %", -0.10)


def user_shocks(raw: Mapping[str, float]) -> dict[str, Any]:
    """A user scenario's percent shocks (``forms.validate_shocks`` format) in engine form.

    ``all`` → equity move, ``sector:X`` / ``country:XX`` / ``instrument:SYM`` / ``fx:CCY`` →
    moves of those groups, ``vol`` → implied vols × (1 + move). Percent → fraction.
    """
    out: dict[str, Any] = {}
    groups = {"sector": "sector", "country": "country", "instrument": "asset", "fx": "fx"}
    for key, move in raw.items():
        frac = float(move) / 100.0
        if key == "all":
            out["equity"] = frac
        elif key == "vol":
            out["vol"] = 1.0 + frac
        else:
            kind, _, name = key.partition(":")
            out.setdefault(groups[kind], {})[name] = frac
    return out


def _shock_row(inp: RiskInputs, name: str, kind: str, shocks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    by_asset = stress.shock_pnl_by_asset(
        inp.linear_values,
        shocks=shocks,
        sectors=inp.sectors,
        countries=inp.countries,
        currencies=inp.currencies,
        asset_ids=inp.factors,
        option_book=inp.option_book,
        **extra,
    )
    contributions = {s: float(v) for s, v in zip(inp.factors, by_asset, strict=True) if v != 0.0}
    return {
        "scenario": name,
        "kind": kind,
        "pnl": float(by_asset.sum()),
        "details": {"shocks": shocks, "contributions": contributions},
    }


def _window_prices(instruments: list[Instrument], start: date, end: date) -> pd.DataFrame:
    rows = PriceBar.objects.filter(
        instrument__in=instruments, date__gte=start - timedelta(days=14), date__lte=end
    ).values_list("date", "instrument__symbol", "adj_close")
    frame = pd.DataFrame([(d, s, float(p)) for d, s, p in rows], columns=["date", "symbol", "price"])
    if frame.empty:
        return frame
    return frame.pivot(index="date", columns="symbol", values="price").sort_index()


def historical_stress(inp: RiskInputs, betas: FloatArray | None, out: StressOutcome) -> None:
    """Replay each ``stress.HISTORICAL_SCENARIOS`` window on today's book from real DB prices.

    Assets without prices at the window start move with the market index × their beta.
    With options, the headline P&L revalues them in full on the window's cumulative returns;
    the path and drawdown are those of the delta-equivalent book.
    """
    index_inst = list(Instrument.objects.filter(symbol__in=MARKET_INDICES))
    proxy_sym = next((s for s in MARKET_INDICES if any(i.symbol == s for i in index_inst)), None)
    instruments = [*inp.instruments, *[i for i in index_inst if i.symbol == proxy_sym and i.symbol not in inp.factors]]
    exposures = dict(zip(inp.factors, inp.exposures.tolist(), strict=True))
    proxy_betas = dict(zip(inp.factors, betas.tolist(), strict=True)) if betas is not None else None
    for key, (start, end) in stress.HISTORICAL_SCENARIOS.items():
        name = HISTORICAL_NAMES.get(key, key)
        prices = _window_prices(instruments, start, end)
        try:
            if prices.empty:
                raise RiskInputError("No prices in the scenario window.")
            proxy: pd.Series | None = None
            if proxy_sym and proxy_sym in prices.columns:
                proxy = prices[proxy_sym].dropna()
            frame = prices.reindex(columns=inp.factors)
            replay = stress.replay_historical(
                frame, exposures, start=start, end=end, proxy=proxy, proxy_betas=proxy_betas
            )
        except RiskInputError as exc:
            out.skipped.append({"scenario": name, "reason": str(exc)})
            continue
        moves = np.array([replay["asset_returns"][s] for s in inp.factors])
        pnl = inp.scenario_pnl(moves) if inp.has_options else replay["pnl"]
        out.rows.append(
            {
                "scenario": name,
                "kind": "historical",
                "pnl": pnl,
                "details": {
                    "key": key,
                    "description": stress.SCENARIO_DESCRIPTIONS.get(key, ""),
                    "start": replay["start"],
                    "end": replay["end"],
                    "n_days": replay["n_days"],
                    "worst_pnl": replay["worst_pnl"],
                    "worst_date": replay["worst_date"],
                    "max_drawdown": replay["max_drawdown"],
                    "asset_returns": replay["asset_returns"],
                    "contributions": replay["contributions"],
                    "proxied": replay["proxied"],
                    "unshocked": replay["unshocked"],
                    "revaluation": "full" if inp.has_options else "linear",
                },
            }
        )


def hypothetical_stress(inp: RiskInputs, betas: FloatArray | None, out: StressOutcome) -> None:
    """Built-in shocks; the market, vol and FX shocks only where they mean something."""
    scenarios: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        (name, shocks, {}) for name, shocks in HYPOTHETICAL_SCENARIOS.items()
    ]
    if betas is not None:
        scenarios.append(
            (MARKET_SHOCK[0], {"factor": {"MKT": MARKET_SHOCK[1]}}, {"betas": betas[:, None], "factor_names": ["MKT"]})
        )
    if inp.has_options:
        scenarios.append((VOL_SHOCK[0], {"vol": VOL_SHOCK[1]}, {}))
    if inp.foreign_currency:
        foreign = {c: FX_SHOCK[1] for c in set(inp.currencies) if c and c != inp.portfolio.base_currency}
        scenarios.append((FX_SHOCK[0], {"fx": foreign}, {}))
    for name, shocks, extra in scenarios:
        try:
            out.rows.append(_shock_row(inp, name, "hypothetical", shocks, **extra))
        except RiskInputError as exc:
            out.skipped.append({"scenario": name, "reason": str(exc)})


def user_stress(inp: RiskInputs, scenarios: list[Scenario], out: StressOutcome) -> None:
    for sc in scenarios:
        name = sc.name[:100]
        try:
            row = _shock_row(inp, name, "user", user_shocks(sc.shocks))
        except (RiskInputError, KeyError, TypeError, ValueError) as exc:
            out.skipped.append({"scenario": name, "reason": str(exc)})
            continue
        row["details"]["scenario_id"] = sc.pk
        row["details"]["shocks_pct"] = sc.shocks
        out.rows.append(row)


def reverse_stress_row(inp: RiskInputs, threshold: float, source: str, out: StressOutcome) -> None:
    """The smallest uniform move of every factor that loses ``threshold`` (options revalued)."""
    name = f"Reverse: loss of {threshold:,.0f}"
    try:
        move = stress.reverse_stress(inp.linear_values, loss_threshold=threshold, option_book=inp.option_book)
    except RiskInputError as exc:
        out.skipped.append({"scenario": name, "reason": str(exc)})
        return
    if not math.isfinite(move):
        out.skipped.append({"scenario": name, "reason": "No uniform move up to ±100 % loses that much."})
        return
    pnl = inp.scenario_pnl(np.full(len(inp.factors), move))
    out.rows.append(
        {
            "scenario": name[:100],
            "kind": "reverse",
            "pnl": pnl,
            "details": {"move": move, "threshold": threshold, "threshold_source": source},
        }
    )


# ---------------------------------------------------------------------------- factor risk


def factor_risk(inp: RiskInputs, market: pd.Series | None, *, window_days: int) -> dict[str, Any]:
    """Regress the factors' returns on the market and style factors (excess of the market).

    Returns ``{"exposures": [{factor, beta, contribution}], "systematic_share", ...}`` or
    ``{"skipped": reason}``.
    """
    if market is None:
        return {"skipped": "No market index series (SPX) covers the run's dates."}
    styles = series_returns(symbols=list(STYLE_FACTORS), price_dates=list(inp.prices.index), window_days=window_days)
    names = [str(market.name)] + [f"{s}−{market.name}" for s in styles.columns]
    cols = [market.to_numpy()] + [styles[s].to_numpy() - market.to_numpy() for s in styles.columns]
    f = np.column_stack(cols).astype(np.float64)
    try:
        res = factors.factor_exposures(inp.returns, f, inp.exposures, factor_names=names, nav=inp.nav or None)
    except RiskInputError as exc:
        return {"skipped": str(exc)}
    sys_var = res.systematic_var
    rows = [
        {
            "factor": name,
            "beta": float(res.portfolio_betas[k]),
            "exposure": float(res.exposures[k]),
            "contribution": float(res.contribution_per_factor[k] / sys_var) if sys_var > 0 else 0.0,
        }
        for k, name in enumerate(res.factor_names)
    ]
    return {
        "exposures": rows,
        "systematic_var": sys_var,
        "idiosyncratic_var": res.idiosyncratic_var,
        "systematic_share": res.systematic_share,
        "r_squared": {s: float(r) for s, r in zip(inp.factors, res.r_squared, strict=True)},
        "style_definition": "style factor return = factor ETF return − market index return",
    }


# ---------------------------------------------------------------------------- concentration, liquidity


def concentration_summary(inp: RiskInputs) -> dict[str, Any]:
    """HHI and exposures by name, sector and country of the delta-equivalent exposures."""
    try:
        rep = concentration.concentration_report(
            inp.exposures, names=inp.factors, sectors=inp.sectors, countries=inp.countries, top_n=10
        )
    except RiskInputError as exc:
        return {"skipped": str(exc)}
    return {
        "hhi_name": rep.hhi_name,
        "effective_names": rep.effective_names,
        "hhi_sector": rep.hhi_sector,
        "hhi_country": rep.hhi_country,
        "top": [{"name": n, "net": v, "weight": w} for n, v, w in rep.top],
        "top_share": rep.top_share,
        "by_sector": rep.by_sector,
        "by_country": rep.by_country,
        "basis": "delta-equivalent exposure per risk factor, gross weights",
    }


def _adv(instrument_ids: list[int], as_of: date) -> tuple[dict[int, float], dict[int, str]]:
    """Average daily volume (units) over the last ``ADV_LOOKBACK_DAYS`` days with data.

    From ``PriceBar.volume`` when the bars carry it, else from the public tape (the sum of the
    prints per day); the second map names the source per instrument.
    """
    adv: dict[int, float] = {}
    source: dict[int, str] = {}
    bars = (
        PriceBar.objects.filter(instrument_id__in=instrument_ids, date__lte=as_of, volume__isnull=False)
        .order_by("instrument_id", "-date")
        .values_list("instrument_id", "volume")
    )
    volumes: dict[int, list[int]] = {}
    for iid, vol in bars.iterator():
        lst = volumes.setdefault(iid, [])
        if vol is not None and len(lst) < ADV_LOOKBACK_DAYS:
            lst.append(int(vol))
    for iid, lst in volumes.items():
        if lst and sum(lst) > 0:
            adv[iid] = float(np.mean(lst))
            source[iid] = "daily volume"
    rest = [i for i in instrument_ids if i not in adv]
    if rest:
        start = as_of - timedelta(days=2 * ADV_LOOKBACK_DAYS)
        per_day = (
            MarketTrade.objects.filter(instrument_id__in=rest, ts__date__gt=start, ts__date__lte=as_of)
            .annotate(day=TruncDate("ts"))
            .values("instrument_id", "day")
            .annotate(q=Sum("quantity"))
            .order_by("instrument_id", "-day")
        )
        tape: dict[int, list[float]] = {}
        for row in per_day:
            lst_f = tape.setdefault(row["instrument_id"], [])
            if len(lst_f) < ADV_LOOKBACK_DAYS:
                lst_f.append(float(row["q"]))
        for iid, lst_f in tape.items():
            adv[iid] = float(np.mean(lst_f))
            source[iid] = "tape"
    return adv, source


def _spreads(instrument_ids: list[int], as_of: date) -> dict[int, tuple[float, float, int]]:
    """Mean and standard deviation of the relative quoted spread (ask − bid)/mid, and the count,
    over the quotes of the last ``SPREAD_LOOKBACK_DAYS`` calendar days up to ``as_of``.

    Moments come from Avg(x) and Avg(x²) so the query runs on SQLite too (no StdDev there).
    """
    rel = ExpressionWrapper(
        (F("ask") - F("bid")) * Decimal(2) / (F("ask") + F("bid")),
        output_field=DecimalField(max_digits=30, decimal_places=12),
    )
    rows = (
        Quote.objects.filter(
            instrument_id__in=instrument_ids,
            ts__date__lte=as_of,
            ts__date__gt=as_of - timedelta(days=SPREAD_LOOKBACK_DAYS),
        )
        .annotate(rel=rel)
        .values("instrument_id")
        .annotate(m=Avg("rel"), m2=Avg(F("rel") * F("rel")), n=Count("id"))
        .order_by()
    )
    out = {}
    for row in rows:
        m, m2, n = float(row["m"]), float(row["m2"]), int(row["n"])
        var = max(m2 - m * m, 0.0) * (n / (n - 1) if n > 1 else 1.0)
        out[row["instrument_id"]] = (m, math.sqrt(var), n)
    return out


def liquidity_summary(
    inp: RiskInputs, *, var_99_1d: float | None, participation: float, window_vol_days: int = 60
) -> dict[str, Any]:
    """Days to liquidate at ``participation`` of ADV, square-root impact cost, Bangia LVaR.

    Covers the tradable linear positions (equities, ETFs); options and indices are listed as
    not assessed. Daily volatility for the impact law: the last 60 days of returns.
    """
    val = inp.valuation
    held = [
        (sym, inst)
        for sym, inst in sorted(val.instruments.items())
        if inst.kind not in _NOT_TRADABLE and val.quantities[sym] != 0
    ]
    not_assessed = sorted(s for s, i in val.instruments.items() if i.kind in _NOT_TRADABLE)
    if not held:
        return {"skipped": "No tradable linear positions.", "not_assessed": not_assessed}
    ids = [inst.pk for _, inst in held]
    adv, adv_source = _adv(ids, inp.as_of)
    spreads = _spreads(ids, inp.as_of)
    col = {s: i for i, s in enumerate(inp.factors)}
    vols = inp.returns[-window_vol_days:].std(axis=0, ddof=1)
    positions: list[dict[str, Any]] = []
    for sym, inst in held:
        qty = float(val.quantities[sym])
        price = val.prices[sym]
        row: dict[str, Any] = {
            "symbol": sym,
            "quantity": qty,
            "value": val.values[sym],
            "adv": adv.get(inst.pk),
            "adv_source": adv_source.get(inst.pk, ""),
            "daily_vol": float(vols[col[sym]]) if sym in col else None,
        }
        if inst.pk in adv and adv[inst.pk] > 0:
            row["days_to_liquidate"] = float(
                liquidity.days_to_liquidate([qty], [adv[inst.pk]], participation=participation)[0]
            )
            row["impact_cost"] = float(
                liquidity.sqrt_impact_cost(qty * float(inst.multiplier), adv[inst.pk], row["daily_vol"] or 0.0, price)
            )
        if inst.pk in spreads:
            row["spread_mean"], row["spread_std"], row["n_quotes"] = spreads[inst.pk]
        positions.append(row)
    known = [p for p in positions if "days_to_liquidate" in p]
    profile: dict[str, float] = {}
    if known:
        prof = liquidity.liquidity_profile(
            [p["quantity"] for p in known],
            [p["adv"] for p in known],
            [abs(p["value"] / p["quantity"]) for p in known],
            participation=participation,
            days=LIQUIDITY_HORIZONS,
        )
        profile = {str(d): v for d, v in prof.items()}
    cost = float(sum(p.get("impact_cost", 0.0) for p in positions))
    out: dict[str, Any] = {
        "participation": participation,
        "positions": sorted(positions, key=lambda p: -(p.get("days_to_liquidate") or 0.0)),
        "profile": profile,
        "impact_cost": cost,
        "impact_cost_pct_nav": cost / inp.nav if inp.nav > 0 else None,
        "no_volume": [p["symbol"] for p in positions if p["adv"] is None],
        "not_assessed": not_assessed,
    }
    if var_99_1d is not None:
        quoted = [p for p in positions if "spread_mean" in p]
        values = [p["value"] for p in positions]
        lvar = liquidity.lvar_bangia(
            var_99_1d,
            values,
            [p.get("spread_mean", 0.0) for p in positions],
            [p.get("spread_std", 0.0) for p in positions],
        )
        out["lvar"] = {
            "var": var_99_1d,
            "lvar": lvar,
            "spread_cost": lvar - var_99_1d,
            "z": liquidity.BANGIA_SPREAD_FACTOR,
            "quoted": [p["symbol"] for p in quoted],
            "unquoted": [p["symbol"] for p in positions if "spread_mean" not in p],
            "basis": "historical VaR 99 % 1 day + ½·Σ|v|·(μ + 3σ) of the relative quoted spread",
        }
    return out


# ---------------------------------------------------------------------------- regime, backtest


def regime_summary(*, as_of: date, seed: int) -> dict[str, Any]:
    """Probability of the stressed (high-volatility) state today from a 2-state HMM on the index.

    The same for every portfolio on a day, so it is cached for a day, keyed by the SHA-256 of
    the index prices used and the seed: the fit runs once per day, not once per portfolio.
    """
    inst = next((i for s in MARKET_INDICES for i in Instrument.objects.filter(symbol=s)), None)
    if inst is None:
        return {"skipped": "No market index (SPX) in the database."}
    start = as_of - timedelta(days=int(REGIME_HISTORY_DAYS * 1.5) + 30)
    rows = list(
        PriceBar.objects.filter(instrument=inst, date__gt=start, date__lte=as_of)
        .order_by("date")
        .values_list("date", "adj_close")
    )[-(REGIME_HISTORY_DAYS + 1) :]
    if len(rows) < 2:
        return {"skipped": f"No {inst.symbol} history up to {as_of.isoformat()}."}
    prices = np.array([float(p) for _, p in rows])
    digest = hashlib.sha256(prices.tobytes() + rows[-1][0].isoformat().encode()).hexdigest()
    key = f"risk:regime:v1:{inst.symbol}:{digest}:{seed}"
    cached: dict[str, Any] | None = cache.get(key)
    if cached is None:
        cached = _regime(inst.symbol, rows, prices, seed=seed)
        cache.set(key, cached, REGIME_CACHE_SECONDS)
    return cached


def _regime(symbol: str, rows: list[tuple[date, Any]], prices: FloatArray, *, seed: int) -> dict[str, Any]:
    rets = prices[1:] / prices[:-1] - 1.0
    try:
        # One thread: k-means on a 1,000 × 1 series gains nothing from OpenMP threads and slows
        # to seconds when they compete with other work on the machine.
        with threadpool_limits(limits=1):
            res = regime.stressed_regime_probability(rets, seed=seed)
    except RiskInputError as exc:
        return {"skipped": str(exc)}
    path = res.filtered_probs[-REGIME_PATH_DAYS:, -1]
    dates = [d for d, _ in rows[1:]][-REGIME_PATH_DAYS:]
    return {
        "index": symbol,
        "as_of": rows[-1][0].isoformat(),
        "prob_stressed": res.prob_today,
        "state_vols_annual": (res.state_vols * math.sqrt(252)).tolist(),
        "state_means_annual": (res.state_means * 252).tolist(),
        "dates": [d.isoformat() for d in dates],
        "path": path.tolist(),
    }


def backtest_summary(inp: RiskInputs, *, confidence: float = 0.99) -> dict[str, Any]:
    """Rolling 1-day VaR of the last ``BACKTEST_DAYS`` days against the book's hypothetical P&L
    (today's delta-equivalent exposures × each day's returns), with the tests and Basel zone."""
    t = inp.n_days
    start = max(BACKTEST_WINDOW_DAYS, t - BACKTEST_DAYS)
    if t - start < MIN_BACKTEST_DAYS:
        return {
            "skipped": f"{t} days of history leave {max(t - start, 0)} days to backtest after the "
            f"{BACKTEST_WINDOW_DAYS}-day estimation window (at least {MIN_BACKTEST_DAYS} needed)."
        }
    try:
        paths = backtest.rolling_var_backtest(
            inp.returns,
            inp.exposures,
            window=BACKTEST_WINDOW_DAYS,
            confidence=confidence,
            methods=BACKTEST_METHODS,
            start=start,
        )
    except RiskInputError as exc:
        return {"skipped": str(exc)}
    methods: dict[str, Any] = {}
    pnl: list[float] = []
    for name, path in paths.items():
        s = backtest.backtest_summary(path.hits, confidence=confidence)
        pnl = path.pnl.tolist()
        methods[name] = {
            "var": path.var.tolist(),
            "exceptions": s.exceptions,
            "expected": s.expected,
            "n": s.n,
            "kupiec_p": s.kupiec_p,
            "independence_p": s.independence_p,
            "cc_p": s.cc_p,
            "zone": s.zone,
            "plus_factor": s.plus_factor,
        }
    return {
        "confidence": confidence,
        "window": BACKTEST_WINDOW_DAYS,
        "dates": inp.dates[start:],
        "pnl": pnl,
        "methods": methods,
        "pnl_basis": "hypothetical: today's delta-equivalent exposures × each day's factor returns",
    }
