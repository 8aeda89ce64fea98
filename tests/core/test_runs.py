"""CalculationRun life cycle: queued → running → succeeded/failed, idempotent redelivery, requeue."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from audit.models import AuditEvent
from core.models import CalculationRun, OutboxMessage
from core.services import calculation_run_create, run_execute, run_finish
from portfolios.models import Position
from portfolios.tasks import positions_snapshot_task
from tests.factories import AccountFactory, InstrumentFactory, PortfolioFactory, PositionFactory, TradeFactory

pytestmark = pytest.mark.django_db


def test_failing_body_ends_as_failed_run_with_its_error():
    run = CalculationRun.objects.create(kind="test.fail")

    def body(run, report):
        report(40, "half way")
        raise ValueError("no prices for the portfolio")

    run_execute(run_id=run.pk, task=None, body=body)
    run.refresh_from_db()
    assert run.status == CalculationRun.Status.FAILED
    assert run.error == "ValueError: no prices for the portfolio"
    assert run.progress == 40 and run.finished_at is not None
    assert AuditEvent.objects.filter(action="run.fail", object_id=str(run.pk)).exists()


def test_redelivered_task_of_a_finished_run_does_nothing():
    run = CalculationRun.objects.create(kind="test.once")
    calls: list[int] = []

    def body(run, report):
        calls.append(run.pk)
        return {"ok": True}

    run_execute(run_id=run.pk, task=None, body=body)
    again = run_execute(run_id=run.pk, task=None, body=body)
    assert again is None
    assert calls == [run.pk]
    run.refresh_from_db()
    assert run.attempts == 1


def _book():
    portfolio = PortfolioFactory()
    account = AccountFactory(portfolio=portfolio, desk=portfolio.desk)
    inst = InstrumentFactory()
    PositionFactory(portfolio=portfolio, instrument=inst, as_of=date(2022, 12, 27), quantity=Decimal("10"))
    TradeFactory(
        account=account, instrument=inst, side="buy", quantity=Decimal("5"), ts=datetime(2022, 12, 28, 15, tzinfo=UTC)
    )
    return portfolio


def test_snapshot_run_in_process_succeeds_and_writes_positions(django_capture_on_commit_callbacks):
    portfolio = _book()
    with django_capture_on_commit_callbacks(execute=True):
        run = calculation_run_create(
            kind="positions.snapshot",
            task=positions_snapshot_task,
            parameters={"portfolio_id": portfolio.pk, "as_of": "2022-12-28"},
            user=None,
        )
    run.refresh_from_db()
    assert run.status == CalculationRun.Status.SUCCEEDED, run.error
    assert run.task_name == "portfolios.tasks.positions_snapshot"
    assert Position.objects.get(portfolio=portfolio, kind="snapshot").quantity == Decimal("15")


def test_requeue_sends_old_queued_runs_again(django_capture_on_commit_callbacks):
    portfolio = _book()
    # Given a run whose message was sent and then lost by the broker (a restart without persistence)
    with django_capture_on_commit_callbacks(execute=False):
        run = calculation_run_create(
            kind="positions.snapshot",
            task=positions_snapshot_task,
            parameters={"portfolio_id": portfolio.pk, "as_of": "2022-12-28"},
            user=None,
        )
    OutboxMessage.objects.filter(args=[run.pk]).update(dispatched_at=datetime.now(tz=UTC))
    CalculationRun.objects.filter(pk=run.pk).update(created_at=datetime.now(tz=UTC) - timedelta(minutes=30))
    # When the operator re-queues
    with django_capture_on_commit_callbacks(execute=True):
        call_command("runs_requeue", "--older-than-minutes", "10")
    # Then it ran
    run.refresh_from_db()
    assert run.status == CalculationRun.Status.SUCCEEDED


def test_requeue_leaves_a_run_whose_message_still_waits_in_the_outbox_to_the_relay(
    django_capture_on_commit_callbacks,
):
    portfolio = _book()
    # Given an old queued run whose message was never sent (the broker was down at commit)
    with django_capture_on_commit_callbacks(execute=False):
        run = calculation_run_create(
            kind="positions.snapshot",
            task=positions_snapshot_task,
            parameters={"portfolio_id": portfolio.pk, "as_of": "2022-12-28"},
            user=None,
        )
    CalculationRun.objects.filter(pk=run.pk).update(created_at=datetime.now(tz=UTC) - timedelta(minutes=30))
    # When the operator re-queues, Then no second message is queued: the pending one will be sent
    call_command("runs_requeue", "--older-than-minutes", "10")
    assert list(OutboxMessage.objects.values_list("task_name", "args", "dispatched_at")) == [
        ("portfolios.tasks.positions_snapshot", [run.pk], None)
    ]


def test_requeue_rejects_nonsense_age():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("runs_requeue", "--older-than-minutes", "0")


def test_a_duplicate_delivery_leaves_a_run_with_a_live_heartbeat_alone():
    run = CalculationRun.objects.create(kind="test.lease")
    from core.services import run_start

    assert run_start(run_id=run.pk, task_id="first") is not None
    assert run_start(run_id=run.pk, task_id="duplicate") is None  # the first worker's lease holds
    CalculationRun.objects.filter(pk=run.pk).update(heartbeat_at=datetime.now(tz=UTC) - timedelta(hours=1))
    taken = run_start(run_id=run.pk, task_id="after-crash")  # the worker died: its lease expired
    assert taken is not None and taken.task_id == "after-crash" and taken.attempts == 2


def test_old_idempotency_records_are_purged(oms_user):
    from core.models import IdempotencyRecord
    from core.tasks import idempotency_purge_task

    old = IdempotencyRecord.objects.create(
        user=oms_user, key="old", endpoint="/api/v1/trades", request_hash="x", response_status=201, response_body={}
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=datetime.now(tz=UTC) - timedelta(days=8))
    IdempotencyRecord.objects.create(
        user=oms_user, key="new", endpoint="/api/v1/trades", request_hash="y", response_status=201, response_body={}
    )
    assert idempotency_purge_task(days=7) == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_given_a_finished_run_when_another_delivery_finishes_it_then_the_first_outcome_stands_audited_once(db):
    # Given a run that succeeded (e.g. one of two gathers of a sharded run)
    run = CalculationRun.objects.create(kind="positions.snapshot", status=CalculationRun.Status.RUNNING)
    run_finish(run_id=run.pk, result={"n": 1})
    # When a duplicate delivery finishes it again, with an error
    again = run_finish(run_id=run.pk, error="RuntimeError: late duplicate")
    # Then the first outcome stands and only one outcome is audited
    assert again.status == CalculationRun.Status.SUCCEEDED and again.result == {"n": 1} and again.error == ""
    outcomes = AuditEvent.objects.filter(action__in=["run.succeed", "run.fail"], object_id=str(run.pk))
    assert outcomes.count() == 1
