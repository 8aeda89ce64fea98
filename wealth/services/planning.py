"""Goal plans: Monte Carlo projections of a goal with the moments of the client's model portfolio.

The portfolio is the active model portfolio of the client's current risk profile (profile 3,
Balanced, when the client has none yet: ``parameters["profile_assumed"]`` says so). Its volatility
is √(wᵀΣw) with the Ledoit–Wolf covariance of ``market_inputs``; its expected return is the
long-run CAPM equilibrium w·π (``MarketInputs.equilibrium_mu``: a 5 % equity premium over a
3.3 % T-bill rate), not a few years' sample mean, which would promise decades of a bull market.
With ``goal.glide_path`` the moments move linearly over the horizon to those of profile 1's
model (engine ``glide_path``).
The seed is derived from the goal id and the price date unless given, so a plan is reproducible
and stored with its seed; 10,000 paths.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction

from audit.services import audit_record, inputs_hash_of
from wealth.engine.goals import GoalError, GoalInputs, GoalResult, glide_path, goal_simulate
from wealth.models import Goal, GoalPlan
from wealth.services._common import engine_failed, fail, json_safe, money
from wealth.services.market import MarketInputs, market_inputs
from wealth.services.state import client_profile, model_active, model_weights

PATHS = 10_000
CONSERVATIVE_PROFILE = 1
PERCENTILE_KEYS = (5, 25, 50, 75, 95)
# The largest amount a plan keeps: beyond it float64 no longer resolves cents (about 15–16
# significant digits) and the figure describes no one's goal; beyond it, or not finite, the
# projection is refused with the goal's fields named.
MAX_AMOUNT = 1e15
GOAL_FIELDS_PROJECTED = ("horizon_years", "contribution_growth", "inflation", "initial_amount", "target_amount")


def plan_seed(goal: Goal, day: dt.date) -> int:
    """A reproducible seed: the first 8 bytes of SHA-256("goal id:date"), as a non-negative int63."""
    digest = hashlib.sha256(f"{goal.pk}:{day.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _model_moments(profile: int, market: MarketInputs | None) -> tuple[float, float, dict[str, Any], MarketInputs]:
    model = model_active(profile)
    if model is None:
        raise fail(
            f"There is no active model portfolio for risk profile {profile}.",
            {"profile": f"No active model portfolio for profile {profile}."},
        )
    weights = model_weights(model)
    if market is None or not set(weights) <= set(market.symbols) | set(market.dropped):
        market = market_inputs(symbols=sorted(weights), as_of=market.as_of if market else None)
    _, sigma = market.moments(weights)
    known = {s: w for s, w in weights.items() if s in market.symbols}
    pi = market.equilibrium_mu()
    mu = float(sum(w * pi[market.index(s)] for s, w in known.items()) / sum(known.values()))
    info = {"profile": profile, "model": model.name, "model_version": model.version, "mu": mu, "sigma": sigma}
    missing = sorted(set(weights) - set(market.symbols))
    if missing:
        info["renormalised_without"] = missing
    return mu, sigma, info, market


def _check_storable(result: GoalResult) -> None:
    """Refuse a projection whose amounts are not finite or reach ``MAX_AMOUNT``: no plan such
    figures describe is meaningful, and they cannot be stored as money."""
    amounts = [result.median_final, result.target_nominal]
    if result.required_contribution is not None:
        amounts.append(result.required_contribution)
    values = np.concatenate([np.asarray(amounts, dtype=float), *(np.ravel(p) for p in result.percentiles.values())])
    if np.all(np.isfinite(values)) and np.all(np.abs(values) < MAX_AMOUNT):
        return
    hint = "With this horizon the projection grows beyond any storable amount; check this value."
    raise fail(
        "The goal cannot be planned: its amounts, rates and horizon project beyond 10^15. "
        "Check the horizon, the contribution growth and the inflation.",
        dict.fromkeys(GOAL_FIELDS_PROJECTED, hint),
    )


def goal_plan(
    *, actor: User | None, goal: Goal, seed: int | None = None, market: MarketInputs | None = None
) -> GoalPlan:
    """Simulate ``goal`` (10,000 monthly paths) and store the plan with its fan chart on a yearly
    grid. ``market`` lets a batch caller share one estimate across many goals (it must cover the
    model portfolios' instruments; otherwise it is re-estimated)."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63):
        raise fail("The seed must be a whole number from 0 to 2^63 − 1.", {"seed": "0 to 2^63 − 1."})
    profile, assumed = client_profile(goal.client)
    mu, sigma, start_info, market = _model_moments(profile, market)
    months = int(goal.horizon_years) * 12
    end_info: dict[str, Any] | None = None
    try:
        if goal.glide_path and profile != CONSERVATIVE_PROFILE:
            mu_end, sigma_end, end_info, market = _model_moments(CONSERVATIVE_PROFILE, market)
            mu_path, sigma_path = glide_path((mu, sigma), (mu_end, sigma_end), months, enabled=True)
            mu_arg: Any = mu_path
            sigma_arg: Any = sigma_path
        else:
            mu_arg, sigma_arg = mu, sigma
        seed = plan_seed(goal, market.as_of) if seed is None else seed
        inputs = GoalInputs(
            initial=float(goal.initial_amount),
            monthly_contribution=float(goal.monthly_contribution),
            months=months,
            target=float(goal.target_amount),
            contribution_growth=float(goal.contribution_growth),
            inflation=float(goal.inflation),
            annual_fee=float(goal.annual_fee),
            mu=mu_arg,
            sigma=sigma_arg,
        )
        result = goal_simulate(inputs, paths=PATHS, seed=seed)
    except GoalError as exc:
        raise engine_failed(exc) from exc
    _check_storable(result)
    grid = [i for i, m in enumerate(result.months.tolist()) if m % 12 == 0 or m == months]
    fan: dict[str, list[Any]] = {"months": [int(result.months[i]) for i in grid]}
    for q in PERCENTILE_KEYS:
        fan[f"p{q}"] = [round(float(result.percentiles[q][i]), 2) for i in grid]
    fan = json_safe(fan)
    parameters = json_safe(
        {
            "paths": PATHS,
            "months": months,
            "profile": profile,
            "profile_assumed": assumed,
            "portfolio": start_info,
            "glide_path": bool(goal.glide_path and profile != CONSERVATIVE_PROFILE),
            "glide_to": end_info,
            "as_of": market.as_of,
            "target_nominal": result.target_nominal,
            "inputs": {
                "initial": inputs.initial,
                "monthly_contribution": inputs.monthly_contribution,
                "target": inputs.target,
                "contribution_growth": inputs.contribution_growth,
                "inflation": inputs.inflation,
                "annual_fee": inputs.annual_fee,
            },
        }
    )
    if assumed:
        parameters["note"] = "No risk profile yet: planned with the Balanced (profile 3) model portfolio."
    with transaction.atomic():
        plan = GoalPlan.objects.create(
            goal=goal,
            success_probability=min(max(float(result.probability), 0.0), 1.0),
            required_contribution=None if result.required_contribution is None else money(result.required_contribution),
            median_outcome=money(result.median_final),
            fan=fan,
            parameters=parameters,
            seed=seed,
            paths=PATHS,
            created_by=actor,
        )
        audit_record(
            action="wealth.plan",
            actor=actor,
            obj=plan,
            parameters={**parameters, "seed": seed},
            inputs_hash=inputs_hash_of({"parameters": parameters, "seed": seed}),
            after={
                "goal": goal.pk,
                "success_probability": plan.success_probability,
                "median_outcome": plan.median_outcome,
                "required_contribution": plan.required_contribution,
            },
        )
    return plan
