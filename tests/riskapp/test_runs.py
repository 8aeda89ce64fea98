"""Risk runs end to end through the service and the task: a small priced book with an option,
every method × confidence × horizon, Euler components, stress, factors, audit, idempotency,
and runs that fail on bad inputs with a message a person can act on."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings

from audit.models import AuditEvent
from core.errors import ValidationFailed
from core.models import CalculationRun
from core.services import run_execute
from portfolios.models import PriceBar
from riskapp.engine import var
from riskapp.models import Limit, LimitBreach, RiskComponent, RiskResult, RiskRun, Scenario, StressResult
from riskapp.services.runs import (
    DEFAULT_METHODS,
    risk_run_create,
    risk_run_execute,
    risk_run_parameters_clean,
)
from riskapp.tasks import risk_run_task, risk_runs_all_task
from tests.factories import InstrumentFactory, PortfolioFactory, PositionFactory
from tests.riskapp.books import LAST_DAY, OPENING_DAY, price_history

pytestmark = pytest.mark.django_db


def _run(capture, portfolio, *, user=None, parameters=None) -> RiskRun:
    """Create a run and let its task run in-process (eager Celery, after the commit)."""
    with capture(execute=True):
        run = risk_run_create(portfolio=portfolio, user=user, parameters=parameters)
    run.refresh_from_db()
    run.calculation.refresh_from_db()
    return run


@pytest.fixture
def done(priced, fast_parameters, django_capture_on_commit_callbacks):
    """One finished run of the priced book, with a user scenario and a tight VaR limit."""
    Scenario.objects.create(name="Energy crash", shocks={"sector:Energy": -40, "all": -2})
    Limit.objects.create(
        portfolio=priced.portfolio, kind="var", threshold=Decimal("1"), method="historical",
        confidence=Decimal("0.99"), horizon_days=1,
    )  # fmt: skip
    return _run(django_capture_on_commit_callbacks, priced.portfolio, parameters=fast_parameters)


# ---------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"confidences": [0.99, 1.0]}, "confidences"),
        ({"confidences": [0]}, "confidences"),
        ({"confidences": "0.99"}, "confidences"),
        ({"horizons": [0]}, "horizons"),
        ({"horizons": [1.5]}, "horizons"),
        ({"methods": ["magic"]}, "methods"),
        ({"methods": []}, "methods"),
        ({"n_scenarios": 10}, "n_scenarios"),
        ({"n_scenarios": 10_000_000}, "n_scenarios"),
        ({"seed": "x"}, "seed"),
        ({"seed": True}, "seed"),
        ({"window_days": 20}, "window_days"),
        ({"participation": 0}, "participation"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_given_bad_parameters_when_cleaned_then_validation_failed_names_the_field(bad, field):
    with pytest.raises(ValidationFailed) as exc:
        risk_run_parameters_clean(bad)
    assert field in exc.value.extra["fields"]


def test_given_no_parameters_then_defaults_cover_every_engine_method():
    p = risk_run_parameters_clean(None)
    assert set(p["methods"]) == set(var.ALL_METHODS) == set(DEFAULT_METHODS)
    assert p["confidences"] == [0.95, 0.975, 0.99] and p["horizons"] == [1, 10]
    assert p["n_scenarios"] == 100_000 and p["seed"] == 0


def test_when_created_then_a_queued_calculation_on_the_risk_queue(priced):
    run = risk_run_create(portfolio=priced.portfolio, user=None)
    assert run.as_of == LAST_DAY
    assert run.calculation.kind == "risk.run" and run.calculation.queue == "risk"
    assert run.calculation.status == CalculationRun.Status.QUEUED
    assert run.calculation.task_name == risk_run_task.name


# ---------------------------------------------------------------------------- a full run


def test_given_priced_book_when_run_then_every_method_confidence_and_horizon_has_a_result(done):
    assert done.calculation.status == "succeeded", done.calculation.error
    keys = set(done.results.values_list("method", "confidence", "horizon_days"))
    expected = {(m, Decimal(str(c)), h) for m in DEFAULT_METHODS for c in (0.95, 0.975, 0.99) for h in (1, 10)}
    assert keys == expected
    assert done.summary["skipped"] == []


def test_then_es_is_at_least_var_and_amounts_are_positive_with_nav_shares(done):
    for r in done.results.all():
        assert r.es >= r.var > 0, r
        assert r.var_pct_nav == pytest.approx(float(r.var) / 1_000_000, rel=1e-6)


def test_then_options_are_revalued_in_full_by_historical_and_monte_carlo(done):
    by_method = {r.method: r.details["revaluation"] for r in done.results.filter(confidence=Decimal("0.99"))}
    assert by_method["historical"] == by_method["monte_carlo"] == by_method["monte_carlo_t"] == "full"
    assert by_method["parametric_normal"] == "delta"


def test_then_components_sum_to_the_parametric_99_1d_var(done):
    parametric = done.results.get(method="parametric_normal", confidence=Decimal("0.99"), horizon_days=1)
    components = list(done.components.all())
    assert {c.instrument.symbol for c in components} == {"AAPL", "XOM", "JPM", "MTUM"}
    assert sum(c.component_var for c in components) == pytest.approx(float(parametric.var), rel=1e-6)
    assert sum(c.component_es for c in components) == pytest.approx(float(parametric.es), rel=1e-6)


def test_then_stress_rows_cover_history_hypothetical_user_and_reverse(done):
    kinds = dict(done.stress_results.values_list("scenario", "kind"))
    assert kinds["2022 rate shock (H1 2022)"] == "historical"  # replayed from the generated prices
    assert kinds["Equities −10 %"] == "hypothetical"
    assert kinds["Implied vol ×2"] == "hypothetical"  # the book holds an option
    assert kinds["Energy crash"] == "user"
    assert any(k == "reverse" for k in kinds.values())
    # Windows before the generated history cannot be replayed: recorded, not fatal.
    assert {s["scenario"] for s in done.summary["stress_skipped"]} >= {"2008 Lehman (Sep–Nov 2008)"}
    reverse = done.stress_results.get(kind="reverse")
    assert float(reverse.pnl) == pytest.approx(-0.10 * 1_000_000, rel=1e-4)


def test_then_factor_exposures_are_regressed_on_market_and_style(done):
    betas = dict(done.factor_exposures.values_list("factor", "beta"))
    assert set(betas) == {"SPX", "MTUM−SPX"}
    assert sum(done.factor_exposures.values_list("contribution", flat=True)) == pytest.approx(1.0)


def test_then_summary_holds_book_concentration_liquidity_regime_and_backtest(done):
    s = done.summary
    assert s["nav"] == 1_000_000 and s["positions"] == 5 and s["options"] == 1
    assert 0 < s["concentration"]["hhi_name"] <= 1
    assert s["liquidity"]["not_assessed"] == ["AAPL230317C"]
    assert 0 <= s["regime"]["prob_stressed"] <= 1
    bt = s["backtest"]["methods"]["historical"]
    assert bt["n"] == len(s["backtest"]["pnl"]) == 69  # 319 returns − 250-day estimation window
    assert bt["zone"] in {"green", "yellow", "red"}


def test_then_limits_are_checked_and_an_audit_event_carries_inputs_hash_and_parameters(done):
    breach = LimitBreach.objects.get(run=done)
    assert breach.limit.kind == "var" and breach.severity == "breach"
    event = AuditEvent.objects.get(action="risk.run", object_id=str(done.pk))
    assert event.inputs_hash == done.inputs_hash and len(done.inputs_hash) == 64
    assert event.parameters["n_scenarios"] == 2000
    assert event.code_version == done.code_version
    assert done.calculation.result["risk_run_id"] == done.pk


def test_given_same_inputs_when_run_again_then_same_hash_and_figures(done, priced, django_capture_on_commit_callbacks):
    again = _run(django_capture_on_commit_callbacks, priced.portfolio, parameters={"n_scenarios": 2000})
    assert again.inputs_hash == done.inputs_hash
    pick = {"method": "monte_carlo_t", "confidence": Decimal("0.99"), "horizon_days": 10}
    assert again.results.get(**pick).var == done.results.get(**pick).var


# ---------------------------------------------------------------------------- idempotency


def test_given_finished_run_when_task_redelivered_then_nothing_changes(done):
    counts = (done.results.count(), done.components.count(), done.stress_results.count())
    events = AuditEvent.objects.filter(action="risk.run").count()

    risk_run_task.apply(args=[done.calculation_id])

    done.refresh_from_db()
    assert (done.results.count(), done.components.count(), done.stress_results.count()) == counts
    assert AuditEvent.objects.filter(action="risk.run").count() == events


def test_given_saved_results_when_the_body_runs_again_then_no_duplicates(done):
    """A worker that died after committing but before marking the run finished."""
    CalculationRun.objects.filter(pk=done.calculation_id).update(status="running", heartbeat_at=None)
    counts = (RiskResult.objects.count(), RiskComponent.objects.count(), StressResult.objects.count())
    breaches = LimitBreach.objects.count()

    run_execute(run_id=done.calculation_id, task=None, body=lambda r, p: risk_run_execute(run=r, progress=p))

    done.calculation.refresh_from_db()
    assert done.calculation.status == "succeeded"
    assert (RiskResult.objects.count(), RiskComponent.objects.count(), StressResult.objects.count()) == counts
    assert LimitBreach.objects.count() == breaches
    assert AuditEvent.objects.filter(action="risk.run", object_id=str(done.pk)).count() == 1


# ---------------------------------------------------------------------------- bad inputs


def test_given_empty_book_when_run_then_fails_saying_so(desk, django_capture_on_commit_callbacks):
    inst = InstrumentFactory(symbol="KO")
    PriceBar.objects.create(instrument=inst, date=LAST_DAY, close=1, adj_close=1)
    portfolio = PortfolioFactory(code="EMPTY", desk=desk)
    run = _run(django_capture_on_commit_callbacks, portfolio)
    assert run.calculation.status == "failed"
    assert "EMPTY holds no positions" in run.calculation.error
    assert not run.results.exists()


def test_given_position_without_prices_when_run_then_fails_naming_it(priced, django_capture_on_commit_callbacks):
    PositionFactory(portfolio=priced.portfolio, instrument=InstrumentFactory(symbol="NOPX"), as_of=OPENING_DAY)
    run = _run(django_capture_on_commit_callbacks, priced.portfolio, parameters={"n_scenarios": 2000})
    assert run.calculation.status == "failed"
    assert "MissingPricesError" in run.calculation.error and "NOPX" in run.calculation.error


def test_given_too_little_history_when_run_then_fails_with_the_count(desk, django_capture_on_commit_callbacks):
    inst = InstrumentFactory(symbol="NEW")
    price_history({"AAPL": inst}, days=120)  # the generator's first series, under another name
    portfolio = PortfolioFactory(code="SHORT-HIST", desk=desk)
    PositionFactory(portfolio=portfolio, instrument=inst, as_of=OPENING_DAY, quantity=Decimal(10))
    run = _run(django_capture_on_commit_callbacks, portfolio)
    assert run.calculation.status == "failed"
    assert "Only 120 days of common price history (at least 250 are needed)" in run.calculation.error


def test_given_a_future_day_then_creation_is_refused(priced):
    with pytest.raises(ValidationFailed):
        risk_run_create(portfolio=priced.portfolio, user=None, as_of=date(2999, 1, 1))


# ---------------------------------------------------------------------------- schedule


def test_end_of_day_schedule_queues_one_run_per_portfolio(priced, desk):
    PortfolioFactory(code="SECOND", desk=desk)
    entry = settings.CELERY_BEAT_SCHEDULE["end-of-day-risk-runs"]
    assert entry["task"] == risk_runs_all_task.name

    assert risk_runs_all_task() == 2

    assert set(RiskRun.objects.values_list("portfolio__code", flat=True)) == {"RISK-BOOK", "SECOND"}
    assert set(CalculationRun.objects.values_list("queue", flat=True)) == {"risk"}
