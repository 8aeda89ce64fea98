"""Allocation proposals: an optimised target allocation for one client.

Universe: every active instrument with an asset profile, less the client's ESG-excluded sectors.
Constraints: long-only and fully invested (always), at most 25 % per instrument (40 % for bond
and cash instruments), at most 35 % per sector, the client's minimum ESG score (an instrument
without a score counts as 0 toward it), and a turnover limit against the current holdings when
asked. The default objective is the highest return at the volatility of the client's profile
model portfolio, so the proposal matches the profile; when that volatility is below the least any
allowed portfolio has (whatever the profile), the proposal is the minimum-variance portfolio and
``explanation["note"]`` says so. ``objective`` names another.

Expected returns (``returns``): ``historical`` (shrunk sample means), ``equilibrium`` (reverse
optimisation π = rf + δΣw from the market weights: the model portfolio's weights, else equal
weights; δ implied by those weights' historical return and variance, 2.5 when that is not
positive) or ``black_litterman`` (the equilibrium prior blended with the advisor's absolute views
``[{"symbol", "return", "confidence"}]``; returns are annual fractions, confidences in (0, 1]).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from django.contrib.auth.models import User

from portfolios.models import Instrument
from wealth.engine.estimates import EstimationError, black_litterman, equilibrium_returns, implied_risk_aversion
from wealth.engine.optimize import (
    Constraints,
    GroupBound,
    InfeasibleError,
    Objective,
    OptimalPortfolio,
    efficient_frontier,
    optimize,
)
from wealth.models import AssetProfile, Client, Recommendation
from wealth.services._common import engine_failed, fail, json_safe
from wealth.services._proposals import proposal_store
from wealth.services.market import MarketInputs, market_inputs
from wealth.services.state import CASH, client_profile, client_state, model_active, model_weights

FloatArray = npt.NDArray[np.float64]
UPPER_DEFAULT = 0.25
UPPER_DEFENSIVE = 0.40  # bond and cash instruments
SECTOR_UPPER = 0.35
DEFAULT_RISK_AVERSION = 2.5
FRONTIER_POINTS = 20
RETURN_SOURCES = ("historical", "equilibrium", "black_litterman")


def universe_symbols(client: Client) -> list[str]:
    excluded = set(client.esg_excluded_sectors or [])
    rows = Instrument.objects.filter(wealth__isnull=False, is_active=True).values_list("symbol", "sector")
    return sorted(sym for sym, sector in rows if not (sector and sector in excluded))


def _constraints(
    market: MarketInputs, client: Client, current: FloatArray | None, max_turnover: float | None
) -> tuple[Constraints, dict[str, Any]]:
    n = len(market.symbols)
    defensive = {AssetProfile.AssetClass.BOND, AssetProfile.AssetClass.CASH}
    upper = np.array(
        [UPPER_DEFENSIVE if market.asset_classes[s] in defensive else UPPER_DEFAULT for s in market.symbols]
    )
    if upper.sum() < 1.0:  # a tiny universe: let it be fully invested
        upper = np.ones(n)
    sectors = sorted({market.sectors[s] for s in market.symbols if market.sectors[s]})
    groups = tuple(
        GroupBound(
            name=sector,
            members=np.array([market.sectors[s] == sector for s in market.symbols], dtype=bool),
            lower=0.0,
            upper=SECTOR_UPPER,
        )
        for sector in sectors
    )
    esg_min = float(client.esg_min_score) if client.esg_min_score is not None else None
    esg = np.array([market.esg[s] if market.esg[s] is not None else 0.0 for s in market.symbols])
    constraints = Constraints(
        upper=upper,
        groups=groups,
        esg=esg if esg_min is not None else None,
        esg_min=esg_min,
        current=current if max_turnover is not None else None,
        max_turnover=max_turnover,
    )
    used = {
        "long_only": True,
        "fully_invested": True,
        "upper": {s: float(u) for s, u in zip(market.symbols, upper, strict=True)},
        "sector_upper": {g.name: g.upper for g in groups},
        "esg_min": esg_min,
        "excluded_sectors": list(client.esg_excluded_sectors or []),
        "max_turnover": max_turnover,
    }
    return constraints, used


def _market_weights(market: MarketInputs, client: Client) -> tuple[FloatArray, str]:
    profile, _ = client_profile(client)
    model = model_active(profile)
    if model is not None:
        weights = model_weights(model)
        w = np.array([weights.get(s, 0.0) for s in market.symbols])
        if w.sum() > 0:
            return w / w.sum(), f"model portfolio {model.name}"
    return np.full(len(market.symbols), 1.0 / len(market.symbols)), "equal weights"


def _views(views: Any, market: MarketInputs) -> tuple[FloatArray, FloatArray, list[float]]:
    if not isinstance(views, list) or not views:
        raise fail("Black–Litterman needs at least one view.", {"views": "Give at least one view."})
    errors: list[str] = []
    rows, q, conf = [], [], []
    for k, view in enumerate(views):
        if not isinstance(view, dict):
            errors.append(f"View {k + 1}: expected an object with symbol, return and confidence.")
            continue
        sym = view.get("symbol")
        ret, c = view.get("return"), view.get("confidence", 0.5)
        if sym not in market.symbols:
            errors.append(f"View {k + 1}: {sym!r} is not in the client's universe.")
            continue
        try:
            ret, c = float(ret), float(c)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            errors.append(f"View {k + 1}: return and confidence must be numbers.")
            continue
        if not (math.isfinite(ret) and -1.0 < ret < 2.0):
            errors.append(f"View {k + 1}: the annual return must be between -100 % and 200 %.")
            continue
        if not (math.isfinite(c) and 0.0 < c <= 1.0):
            errors.append(f"View {k + 1}: the confidence must be more than 0 and at most 1.")
            continue
        row = np.zeros(len(market.symbols))
        row[market.index(sym)] = 1.0
        rows.append(row)
        q.append(ret)
        conf.append(c)
    if errors:
        raise fail("Some views are not valid.", {"views": errors})
    return np.array(rows), np.array(q), conf


def _expected_returns(
    returns: str, market: MarketInputs, client: Client, views: Any
) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
    """(mu, cov, description) for the requested source."""
    if returns == "historical":
        return market.mu, market.cov, {"source": "historical", "shrinkage": market.shrinkage}
    w, basis = _market_weights(market, client)
    m_ret, m_var = float(w @ market.mu), float(w @ market.cov @ w)
    try:
        delta = implied_risk_aversion(m_ret, m_var, market.risk_free)
    except EstimationError:
        delta = DEFAULT_RISK_AVERSION
    try:
        prior = equilibrium_returns(market.cov, w, delta, market.risk_free)
        info: dict[str, Any] = {"source": returns, "market_weights": basis, "risk_aversion": delta}
        if returns == "equilibrium":
            return prior, market.cov, info
        p, q, conf = _views(views, market)
        mu_bl, cov_bl = black_litterman(market.cov, prior, p, q, confidences=conf)
    except EstimationError as exc:
        raise engine_failed(exc) from exc
    info["views"] = [
        {"symbol": market.symbols[int(np.argmax(r))], "return": float(v), "confidence": c}
        for r, v, c in zip(p, q, conf, strict=True)
    ]
    return mu_bl, cov_bl, info


def _point(mu: FloatArray, cov: FloatArray, w: FloatArray) -> dict[str, float]:
    return {"ret": float(w @ mu), "vol": float(math.sqrt(max(float(w @ cov @ w), 0.0)))}


def _weights(symbols: list[str], w: FloatArray) -> dict[str, float]:
    return {s: round(float(x), 6) for s, x in zip(symbols, w, strict=True) if x > 5e-5}


def allocation_propose(
    *,
    actor: User | None,
    client: Client,
    objective: str = Objective.TARGET_RISK,
    target: float | None = None,
    max_turnover: float | None = None,
    views: list[dict[str, Any]] | None = None,
    returns: str = "historical",
    market: MarketInputs | None = None,
) -> Recommendation:
    """Propose a target allocation (see the module docstring). With ``target_risk`` and no
    ``target`` the target volatility is that of the client's profile model portfolio."""
    if objective not in Objective.__members__.values():
        raise fail("Unknown objective.", {"objective": f"One of: {', '.join(o.value for o in Objective)}."})
    if returns not in RETURN_SOURCES:
        raise fail("Unknown source of expected returns.", {"returns": f"One of: {', '.join(RETURN_SOURCES)}."})
    if target is not None and (isinstance(target, bool) or not math.isfinite(float(target))):
        raise fail("The target must be a number.", {"target": "A number (annual fraction)."})
    if max_turnover is not None and not (0 <= float(max_turnover) <= 1):
        raise fail("The turnover limit must be between 0 and 1.", {"max_turnover": "Between 0 and 1."})
    symbols = universe_symbols(client)
    if len(symbols) < 2:
        raise fail("Fewer than two instruments are left to invest in.", {"universe": "Fewer than two instruments."})
    market = market if market is not None and market.symbols == symbols else market_inputs(symbols=symbols)
    state = client_state(client, as_of=market.as_of, extra_symbols=market.symbols)
    held = state.weights(with_cash=False)
    current = np.array([held.get(s, 0.0) for s in market.symbols]) if held else None
    if max_turnover is not None and current is None:
        raise fail("A turnover limit needs current holdings.", {"max_turnover": "The client holds nothing yet."})
    constraints, used = _constraints(market, client, current, None if max_turnover is None else float(max_turnover))
    mu, cov, source = _expected_returns(returns, market, client, views)
    profile, assumed = client_profile(client)
    model = model_active(profile)
    model_point = None
    if model is not None:
        mw = model_weights(model)
        wm = np.array([mw.get(s, 0.0) for s in market.symbols])
        if wm.sum() > 0:
            model_point = _point(mu, cov, wm / wm.sum())
    default_target = objective == Objective.TARGET_RISK and target is None
    if default_target:
        if model_point is None:
            raise fail(
                "No model portfolio to take the target volatility from.", {"target": "Give a target volatility."}
            )
        target = model_point["vol"]
    note = ""
    try:
        best: OptimalPortfolio = optimize(
            mu, cov, Objective(objective), constraints, risk_free=market.risk_free, target=target
        )
    except InfeasibleError as exc:
        if not (default_target and "target" in exc.fields):
            raise engine_failed(exc) from exc
        # Any profile's model may be less risky than the constraints allow (more cash than a
        # proposal may hold, an ESG floor, excluded sectors): take the least risk allowed.
        try:
            best = optimize(mu, cov, Objective.MIN_VARIANCE, constraints, risk_free=market.risk_free)
        except InfeasibleError as again:
            raise engine_failed(again) from again
        note = (
            f"The profile {profile} model's volatility ({target:.1%}) is below the least any allowed portfolio "
            f"has; this is the minimum-variance portfolio ({best.volatility:.1%})."
        )
    try:
        frontier = efficient_frontier(mu, cov, constraints, points=FRONTIER_POINTS, risk_free=market.risk_free)
    except InfeasibleError:
        frontier = []
    proposed = {**_point(mu, cov, best.weights), "sharpe": best.sharpe, "esg": best.esg, "turnover": best.turnover}
    weights = _weights(market.symbols, best.weights)
    explanation: dict[str, Any] = {
        "as_of": market.as_of,
        "objective": str(objective),
        "target": target,
        "frontier": [{"vol": p.volatility, "ret": p.expected_return} for p in frontier],
        "current": _point(mu, cov, current) if current is not None else None,
        "model": model_point,
        "proposed": proposed,
        "weights": weights,
        "current_weights": {k: round(v, 6) for k, v in held.items() if k != CASH} if held else {},
        "constraints": used,
        "returns_source": source,
        "market": {"start": market.start, "observations": market.observations, "dropped": market.dropped},
        "profile": profile,
        "profile_assumed": assumed,
        "note": note,
    }
    top = sorted(weights.items(), key=lambda kv: -kv[1])[:3]
    if note:
        aim = f"Least risk allowed (the profile {profile} model's risk is below it)"
    elif default_target:
        aim = f"Highest expected return at the volatility of the profile {profile} model portfolio"
    else:
        aim = str(objective).replace("_", " ").capitalize()
    reason = (
        f"{aim} ({source['source'].replace('_', '–')} returns): expected return {proposed['ret']:.1%}, "
        f"volatility {proposed['vol']:.1%}; largest weights {', '.join(f'{s} {w:.0%}' for s, w in top)}."
    )
    return proposal_store(
        actor=actor,
        client=client,
        kind=Recommendation.Kind.ALLOCATION,
        title=f"New allocation ({objective.replace('_', ' ')})",
        reason=reason,
        explanation=explanation,
        parameters=json_safe(
            {"objective": objective, "target": target, "max_turnover": max_turnover, "returns": returns, "views": views}
        ),
    )
