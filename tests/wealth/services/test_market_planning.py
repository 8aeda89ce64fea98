"""Market inputs from the price bars, and goal plans."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from audit.models import AuditEvent
from core.errors import ValidationFailed
from portfolios.models import PriceBar
from tests.factories import ClientFactory, GoalFactory, InstrumentFactory
from tests.wealth.services.conftest import AS_OF
from tests.wealth.services.helpers import answers_at, counts
from wealth.engine.estimates import covariance_ledoit_wolf, mean_shrunk
from wealth.models import GoalPlan
from wealth.services import goal_plan, market_inputs, profile_submit
from wealth.services.market import price_history
from wealth.services.planning import plan_seed

RISKY = ["AAPL", "MSFT", "JPM", "XOM", "MTUM"]


@pytest.mark.django_db
def test_market_inputs_match_the_engine_on_the_same_returns(market):
    got = market_inputs(symbols=[*RISKY, "USD-TBILL"])
    wide = price_history([*RISKY, "USD-TBILL"], date(2017, 1, 1), AS_OF).dropna()
    r = wide.pct_change().iloc[1:]
    mu, _ = mean_shrunk(r[RISKY].to_numpy())
    assert got.symbols == [*RISKY, "USD-TBILL"] and got.as_of == AS_OF
    np.testing.assert_allclose(got.mu[:5], mu)
    np.testing.assert_allclose(got.cov[:5, :5], covariance_ledoit_wolf(r[RISKY].to_numpy()))
    # Cash keeps its own sample moments and no covariance (module docstring): the T-bill bars
    # grow 1 bp a day, so its mean is 252 bp a year and its variance is ~0.
    assert got.mu[5] == pytest.approx(0.0252, rel=1e-6)
    assert got.cov[5, 5] < 1e-12 and not got.cov[5, :5].any()
    assert got.risk_free == pytest.approx(0.0252, rel=1e-6)
    assert got.prices["AAPL"] == float(PriceBar.objects.get(instrument__symbol="AAPL", date=AS_OF).close)
    assert got.sectors["JPM"] == "Financials" and got.asset_classes["USD-TBILL"] == "cash"


@pytest.mark.django_db
def test_an_instrument_without_enough_history_is_dropped_with_the_reason(market):
    late = InstrumentFactory(symbol="NEWCO")
    for k in range(30):
        PriceBar.objects.create(instrument=late, date=AS_OF - timedelta(days=29 - k), close=10, adj_close=10)
    stale = InstrumentFactory(symbol="GONE")
    PriceBar.objects.create(instrument=stale, date=date(2021, 6, 1), close=10, adj_close=10)
    got = market_inputs(symbols=["AAPL", "MSFT", "NEWCO", "GONE", "NOPE"])
    assert got.symbols == ["AAPL", "MSFT"]
    assert "after the window start" in got.dropped["NEWCO"]
    assert "no price since 2021-06-01" in got.dropped["GONE"]
    assert got.dropped["NOPE"] == "no prices in the window"


@pytest.mark.django_db
def test_market_inputs_bad_requests_are_field_errors(market):
    with pytest.raises(ValidationFailed) as err:
        market_inputs(symbols=[])
    assert "symbols" in err.value.extra["fields"]
    with pytest.raises(ValidationFailed) as err:
        market_inputs(symbols=["AAPL"], years=0)
    assert "years" in err.value.extra["fields"]
    with pytest.raises(ValidationFailed):
        market_inputs(symbols=["NOPE"])


@pytest.mark.django_db
def test_goal_plan_uses_the_profile_model_and_is_reproducible(market, advisor):
    client = ClientFactory(advisor=advisor)
    profile_submit(actor=advisor, client=client, answers=answers_at(9))  # profile 5
    goal = GoalFactory(client=client, horizon_years=10, glide_path=True)
    first = goal_plan(actor=advisor, goal=goal)
    again = goal_plan(actor=advisor, goal=goal)
    # The default seed is derived from the goal and the price date: the same plan twice.
    assert first.seed == again.seed == plan_seed(goal, AS_OF)
    assert first.success_probability == again.success_probability
    assert first.fan["months"] == list(range(0, 121, 12))
    assert all(len(first.fan[k]) == 11 for k in ("p5", "p25", "p50", "p75", "p95"))
    assert first.fan["p5"][-1] <= first.fan["p50"][-1] <= first.fan["p95"][-1]
    params = first.parameters
    assert params["profile"] == 5 and not params["profile_assumed"] and params["glide_path"]
    assert params["glide_to"]["profile"] == 1 and first.paths == 10_000
    mi = market_inputs(symbols=["MTUM", "AAPL", "MSFT", "XOM"])
    weights = np.array([0.25 if s in {"MTUM", "AAPL", "MSFT", "XOM"} else 0.0 for s in mi.symbols])
    vol = float(np.sqrt(weights @ mi.cov @ weights))
    # Long-run CAPM equilibrium (He & Litterman 1999): π = rf + δΣw_m with w_m the equal-weighted
    # equities and δ = premium / σ²_m, here rf = 3.3 % and premium = 5 % (docs/wealth-methodology.md).
    market = np.array([mi.asset_classes[s] == "equity" for s in mi.symbols], dtype=float)
    market /= market.sum()
    pi = 0.033 + 0.05 / float(market @ mi.cov @ market) * (mi.cov @ market)
    assert params["portfolio"]["mu"] == pytest.approx(float(weights @ pi))
    assert params["portfolio"]["sigma"] == pytest.approx(vol)
    event = AuditEvent.objects.filter(action="wealth.plan").latest("id")
    assert event.parameters["seed"] == first.seed and event.inputs_hash


@pytest.mark.django_db
def test_goal_plan_without_a_profile_assumes_balanced_and_says_so(market, advisor):
    goal = GoalFactory(client=ClientFactory(advisor=advisor), horizon_years=3, glide_path=False)
    plan = goal_plan(actor=advisor, goal=goal, seed=42)
    assert plan.seed == 42 and plan.parameters["profile"] == 3 and plan.parameters["profile_assumed"]
    assert "Balanced" in plan.parameters["note"]


@pytest.mark.django_db
def test_goal_plan_bad_seed_writes_nothing(market, advisor):
    goal = GoalFactory(client=ClientFactory(advisor=advisor))
    before = counts(GoalPlan, AuditEvent)
    with pytest.raises(ValidationFailed) as err:
        goal_plan(actor=advisor, goal=goal, seed=-1)
    assert "seed" in err.value.extra["fields"]
    goal.initial_amount = Decimal(-1)  # bypassing the services: the engine's own check answers
    with pytest.raises(ValidationFailed):
        goal_plan(actor=advisor, goal=goal)
    assert counts(GoalPlan, AuditEvent) == before
