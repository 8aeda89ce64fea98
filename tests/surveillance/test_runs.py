"""Detection runs against PostgreSQL: the nightly sweep over a generated market with labelled
abuse, re-running it, and incremental detection after an ingested batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.db import transaction
from django.test import TestCase

from audit.models import AuditEvent
from audit.services import inputs_hash_of
from core.errors import ValidationFailed
from core.ingest.pipeline import validate_rows, write_batch
from core.models import CalculationRun
from portfolios.ingest import SPECS
from portfolios.models import Desk, Order
from surveillance import services
from surveillance.demo_rows import ENTITIES, market_rows
from surveillance.engine.scenarios import market_generate
from surveillance.models import Alert
from surveillance.services.runs import KIND_INCREMENTAL, KIND_SWEEP
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SHIFT_DAYS = -364  # the generator's 2024-01-02 (Tuesday) becomes 2023-01-03 (Tuesday)
START = datetime(2023, 1, 3, tzinfo=UTC)


@pytest.fixture(scope="module")
def market():
    """Two sessions of two instruments at a tenth of the usual rate, two episodes of each abuse."""
    return market_generate(seed=5, days=2, instruments=2, activity=0.1, episodes_per_scenario=2)


def _sweep(user, since, until) -> CalculationRun:
    """Queue a sweep and run it: the task is dispatched when the transaction commits."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        run = services.surveillance_sweep_create(user=user, since=since, until=until)
    run.refresh_from_db()
    return run


def _send(user, entity: str, rows: list[dict]) -> None:
    with transaction.atomic():
        batch = validate_rows(SPECS[entity], user, rows)
        write_batch(batch, inputs_hash=inputs_hash_of(orjson.dumps({"rows": rows})), idempotency_key=None)


@pytest.fixture
def loaded(market, desk):
    admin = UserFactory(username="loader", is_superuser=True)
    _send(admin, "desks", [{"code": "SIM", "name": "Simulated"}])
    rows = market_rows(market, shift_days=SHIFT_DAYS, desk_code="SIM")
    for entity in ENTITIES:
        _send(admin, entity, rows[entity])
    return admin, Desk.objects.get(code="SIM")


def test_a_sweep_raises_alerts_for_the_injected_abuse_and_audits_its_inputs(loaded):
    admin, desk = loaded
    # when a sweep over the two sessions runs (tasks run in-process in tests)
    run = _sweep(admin, START, START + timedelta(days=3))
    # then it succeeded and raised rule alerts on the simulated desk, each with evidence
    assert run.status == CalculationRun.Status.SUCCEEDED, run.error
    assert run.kind == KIND_SWEEP and run.result["inputs"]["order_events"] > 0
    alerts = Alert.objects.filter(desk=desk, source=Alert.Source.RULE)
    assert alerts.count() >= 5
    assert len({a.scenario for a in alerts}) >= 4
    assert all(a.order_ids or a.trade_ids for a in alerts)
    assert all(0 <= a.score <= 100 for a in alerts)
    # and one audit event records the inputs hash and the parameters of every detector
    event = AuditEvent.objects.get(action="surveillance.run.detect", object_id=str(run.pk))
    assert len(event.inputs_hash) == 64
    assert set(event.parameters["detectors"]) >= {"spoofing", "layering", "wash_trades", "front_running"}


def test_running_the_sweep_again_over_the_same_data_raises_nothing_new(loaded):
    admin, _ = loaded
    _sweep(admin, START, START + timedelta(days=3))
    before = {(a.pk, a.score, a.occurrences) for a in Alert.objects.all()}
    assert before
    second = _sweep(admin, START, START + timedelta(days=3))
    assert second.status == CalculationRun.Status.SUCCEEDED, second.error
    assert second.result["alerts_created"] == 0 and second.result["alerts_updated"] == 0
    assert {(a.pk, a.score, a.occurrences) for a in Alert.objects.all()} == before


def test_an_empty_window_is_a_successful_run_with_nothing_found(loaded):
    admin, _ = loaded
    run = _sweep(admin, START - timedelta(days=30), START)
    assert run.status == CalculationRun.Status.SUCCEEDED, run.error
    assert run.result["alerts_created"] == 0 and not Alert.objects.exists()


def test_an_empty_or_overlong_window_is_refused_with_a_field_error(loaded, settings):
    admin, _ = loaded
    with pytest.raises(ValidationFailed, match="window is empty") as empty:
        services.surveillance_sweep_create(user=admin, since=START, until=START)
    assert empty.value.extra["fields"]["since"] == ["Must be before until."]
    with pytest.raises(ValidationFailed, match="at most 31 days"):
        services.surveillance_sweep_create(user=admin, since=START - timedelta(days=32), until=START)
    assert not CalculationRun.objects.exists()


def test_an_ingested_order_event_batch_starts_incremental_detection_without_anomaly_ranking(
    loaded, settings, oms, oms_user
):
    settings.SURVEILLANCE_INCREMENTAL = True
    _, desk = loaded
    desk.members.add(oms_user)
    order = Order.objects.filter(account__desk=desk).order_by("pk").first()
    ts = START + timedelta(days=1, hours=15)
    # when an OMS posts one more event for an order of the simulated desk
    body = {
        "rows": [
            {
                "order": order.client_order_id,
                "sequence": 99,
                "event_type": "reject",
                "ts": ts.isoformat(),
                "reason": "late reject",
            }
        ]
    }
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = oms.post("/api/v1/order-events", body, format="json")
    assert response.status_code == 201, response.content
    # then an incremental run over that instrument and the lookback window ran to success
    run = CalculationRun.objects.get(kind=KIND_INCREMENTAL)
    assert run.status == CalculationRun.Status.SUCCEEDED, run.error
    assert run.parameters["instrument_ids"] == [order.instrument_id]
    assert datetime.fromisoformat(run.parameters["since"]) == ts - timedelta(
        hours=settings.SURVEILLANCE_INCREMENTAL_LOOKBACK_HOURS
    )
    # and anomalies are left to the nightly sweep (top k per day, not per batch)
    assert not Alert.objects.filter(scenario="anomaly").exists()
