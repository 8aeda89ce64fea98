"""A risk run's Monte Carlo split into shards (a Celery chord, run in-process here) stores exactly
what the one-process run stores; a failing shard fails the run with its error.

The real two-worker run is tests/integration/test_risk_mc_shards.py; the merge itself is proved
in tests/riskapp/engine/test_montecarlo_blocks.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.models import CalculationRun
from riskapp.engine import montecarlo
from riskapp.engine.types import RiskInputError
from riskapp.models import RiskRun
from riskapp.services import mc_shards
from riskapp.services.mc_shards import Shard, mc_shard_plan
from riskapp.services.runs import risk_run_create, risk_run_parameters_clean
from riskapp.tasks import risk_run_shards_failed_task

pytestmark = pytest.mark.django_db

# 60,000 scenarios = 3 blocks of 20,000: three shards per Monte Carlo method.
PARAMETERS = {
    "n_scenarios": 60_000,
    "methods": ["parametric_normal", "historical", "monte_carlo", "monte_carlo_t"],
}


@pytest.fixture
def sharding(settings):
    settings.RISK_MC_SHARDS = 3
    settings.RISK_MC_SHARD_MIN_SCENARIOS = 50_000
    settings.RISK_MC_SHARD_EAGER = True
    return settings


def _run(capture, portfolio) -> RiskRun:
    with capture(execute=True):
        run = risk_run_create(portfolio=portfolio, user=None, parameters=PARAMETERS)
    run.refresh_from_db()
    run.calculation.refresh_from_db()
    return run


def _rows(run: RiskRun) -> dict[str, list[tuple]]:
    return {
        "results": sorted(
            run.results.values_list("method", "confidence", "horizon_days", "var", "es", "var_pct_nav", "details")
        ),
        "components": sorted(run.components.values_list("instrument__symbol", "marginal_var", "component_es")),
        "stress": sorted(run.stress_results.values_list("scenario", "pnl", "pnl_pct_nav")),
        "factors": sorted(run.factor_exposures.values_list("factor", "beta")),
    }


# ---------------------------------------------------------------------------- the plan


def test_given_a_large_run_then_each_monte_carlo_method_is_split_into_contiguous_block_ranges(sharding):
    p = risk_run_parameters_clean({**PARAMETERS, "n_scenarios": 1_000_000})  # 50 blocks
    plan = mc_shard_plan(parameters=p)
    assert [s.method for s in plan] == ["monte_carlo"] * 3 + ["monte_carlo_t"] * 3
    assert [(s.block_start, s.block_stop) for s in plan[:3]] == [(0, 17), (17, 33), (33, 50)]
    assert all(s.horizon == 1 for s in plan)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"RISK_MC_SHARDS": 1}, "switched off"),
        ({"RISK_MC_SHARD_MIN_SCENARIOS": 60_001}, "below the threshold"),
        ({"RISK_MC_SHARD_EAGER": False}, "no broker, not forced"),
    ],
)
def test_given_a_run_that_does_not_qualify_then_no_shards(sharding, change, why):
    for name, value in change.items():
        setattr(sharding, name, value)
    assert mc_shard_plan(parameters=risk_run_parameters_clean(PARAMETERS)) == [], why


def test_given_no_monte_carlo_method_or_a_single_block_then_no_shards(sharding):
    assert mc_shard_plan(parameters=risk_run_parameters_clean({**PARAMETERS, "methods": ["historical"]})) == []
    sharding.RISK_MC_SHARD_MIN_SCENARIOS = 1_000
    assert mc_shard_plan(parameters=risk_run_parameters_clean({**PARAMETERS, "n_scenarios": 20_000})) == []
    assert mc_shard_plan(parameters=risk_run_parameters_clean({**PARAMETERS, "n_scenarios": 20_001})) == [
        Shard("monte_carlo", 1, 0, 1),
        Shard("monte_carlo", 1, 1, 2),
        Shard("monte_carlo_t", 1, 0, 1),
        Shard("monte_carlo_t", 1, 1, 2),
    ]


# ---------------------------------------------------------------------------- a sharded run


def test_given_the_same_run_sharded_and_in_one_process_then_the_stored_rows_are_identical(
    priced, sharding, django_capture_on_commit_callbacks
):
    # Given the priced book (with an option: Monte Carlo revalues it in full in every shard)
    # When it is run once in 3 shards per Monte Carlo method and once in one process
    sharded = _run(django_capture_on_commit_callbacks, priced.portfolio)
    sharding.RISK_MC_SHARDS = 1
    single = _run(django_capture_on_commit_callbacks, priced.portfolio)

    # Then both succeeded, and only the first went through shards
    assert sharded.calculation.status == single.calculation.status == "succeeded", sharded.calculation.error
    shards = sharded.calculation.result["monte_carlo_shards"]
    assert sorted((s["method"], *s["blocks"]) for s in shards) == [
        (m, a, b) for m in ("monte_carlo", "monte_carlo_t") for a, b in ((0, 1), (1, 2), (2, 3))
    ]
    assert "monte_carlo_shards" not in single.calculation.result
    assert sharded.calculation.progress == 100
    # ... with the very same rows: VaR and ES to the stored cent fraction and the % of NAV to the
    # last bit of a double, every method, confidence and horizon, and the rest of the run alike
    rows = _rows(sharded)
    assert len(rows["results"]) == 4 * 3 * 2
    assert rows == _rows(single)
    drop = {"saved_at"}
    assert {k: v for k, v in sharded.summary.items() if k not in drop} == {
        k: v for k, v in single.summary.items() if k not in drop
    }
    mc = sharded.results.get(method="monte_carlo_t", confidence=Decimal("0.99"), horizon_days=1)
    assert mc.details["revaluation"] == "full" and mc.details["n_scenarios"] == 60_000


def test_given_the_engine_refuses_a_method_in_its_shards_then_it_is_skipped_as_in_one_process(
    priced, sharding, django_capture_on_commit_callbacks, monkeypatch
):
    real = montecarlo.mc_block_tail

    def refuse_t(*args, method, **kw):
        if method == "monte_carlo_t":
            raise RiskInputError("Revaluation returned missing or non-finite P&L values.")
        return real(*args, method=method, **kw)

    monkeypatch.setattr(mc_shards.montecarlo, "mc_block_tail", refuse_t)
    run = _run(django_capture_on_commit_callbacks, priced.portfolio)
    assert run.calculation.status == "succeeded", run.calculation.error
    assert run.summary["skipped"] == [
        {"method": "monte_carlo_t", "reason": "Revaluation returned missing or non-finite P&L values."}
    ]
    assert set(run.results.values_list("method", flat=True)) == {"parametric_normal", "historical", "monte_carlo"}


# ---------------------------------------------------------------------------- failures


def test_given_a_shard_that_fails_then_the_run_fails_with_its_error_and_stores_nothing(
    priced, sharding, django_capture_on_commit_callbacks, monkeypatch
):
    real = montecarlo.mc_block_tail

    def fail_second_block(*args, block_start, **kw):
        if block_start == 1:
            raise OSError("disk on fire")
        return real(*args, block_start=block_start, **kw)

    monkeypatch.setattr(mc_shards.montecarlo, "mc_block_tail", fail_second_block)
    run = _run(django_capture_on_commit_callbacks, priced.portfolio)
    assert run.calculation.status == "failed"
    assert run.calculation.error == "Monte Carlo shard monte_carlo block 1 failed: OSError: disk on fire"
    assert not run.results.exists() and not run.summary


def test_given_the_chord_reports_a_failure_then_its_error_callback_fails_the_run_once(priced):
    # Given a run whose chord failed without any shard recording it (e.g. a lost task)
    run = risk_run_create(portfolio=priced.portfolio, user=None, parameters=PARAMETERS)
    CalculationRun.objects.filter(pk=run.calculation_id).update(status="running")

    # When Celery calls the chord body's error callback (new-style: request, exc, traceback)
    risk_run_shards_failed_task(
        None, RuntimeError("Dependency abc raised WorkerLostError()"), None, run_id=run.calculation_id
    )
    risk_run_shards_failed_task(None, RuntimeError("a second report"), None, run_id=run.calculation_id)

    # Then the run failed with the first error, and the second report changed nothing
    run.calculation.refresh_from_db()
    assert run.calculation.status == "failed"
    assert run.calculation.error == "Monte Carlo shards failed: RuntimeError: Dependency abc raised WorkerLostError()"
