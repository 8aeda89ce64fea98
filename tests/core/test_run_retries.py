"""Bounded retries of calculation runs (``core.services.run_execute``): an error on the run's
inputs fails it at once; any other error puts it back in the queue and Celery tries again, with
exponential backoff, until ``RUN_MAX_RETRIES`` retries are spent; the outcome is audited once.

Celery runs eagerly here (test settings), so a retry runs in-process right after the failed
attempt; the real-worker path (countdown, redelivery) is tested in tests/integration/."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from celery import shared_task
from celery.exceptions import Retry
from django.db import OperationalError
from django.test import Client

from audit.models import AuditEvent
from core.errors import ValidationFailed
from core.models import CalculationRun
from core.roles import Role
from core.services import calculation_run_create, run_execute, run_retry_delay
from riskapp.engine.types import RiskInputError

pytestmark = pytest.mark.django_db

# The body each probe run executes, by run id (a Celery task takes ids, not callables).
BODIES: dict[int, Callable[[CalculationRun, Callable[[int, str], None]], dict[str, Any]]] = {}


@shared_task(bind=True, name="tests.core.run_retry_probe")
def probe_task(self, run_id: int) -> None:  # type: ignore[no-untyped-def]
    run_execute(run_id=run_id, task=self, body=BODIES[run_id])


def _queue(body, capture) -> CalculationRun:
    """Queue a probe run whose task runs eagerly after the commit, retries included."""
    with capture(execute=False) as callbacks:
        run = calculation_run_create(kind="test.retry", task=probe_task, parameters={}, user=None)
    BODIES[run.pk] = body
    for callback in callbacks:
        callback()
    run.refresh_from_db()
    return run


def _failing(times: int, exc: Exception, seen: list[dict[str, Any]]):
    """A body that raises ``exc`` on its first ``times`` calls, recording the run as it found it."""

    def body(run: CalculationRun, report: Callable[[int, str], None]) -> dict[str, Any]:
        row = CalculationRun.objects.get(pk=run.pk)
        seen.append({"attempts": row.attempts, "status": row.status, "message": row.message, "error": row.error})
        report(30, "working")
        if len(seen) <= times:
            raise exc
        return {"ok": True}

    return body


def _audits(run: CalculationRun, action: str) -> int:
    return AuditEvent.objects.filter(action=action, object_id=str(run.pk)).count()


def test_given_two_transient_failures_when_run_then_third_attempt_succeeds_and_error_is_cleared(
    settings, django_capture_on_commit_callbacks
):
    settings.RUN_MAX_RETRIES = 3
    seen: list[dict[str, Any]] = []

    # Given a body whose database connection drops twice, when the run is queued
    run = _queue(
        _failing(2, OperationalError("server closed the connection unexpectedly"), seen),
        django_capture_on_commit_callbacks,
    )

    # Then Celery tried three times; the second attempt started with the first one's failure in sight
    assert [s["attempts"] for s in seen] == [1, 2, 3]
    assert seen[1]["status"] == CalculationRun.Status.RUNNING
    assert seen[1]["message"] == (
        "Attempt 1 of 4 failed (OperationalError: server closed the connection unexpectedly); retrying now"
    )
    assert seen[1]["error"] == "OperationalError: server closed the connection unexpectedly"
    # ... and the run succeeded, with no error left and one outcome in the audit trail
    assert run.status == CalculationRun.Status.SUCCEEDED and run.attempts == 3
    assert run.error == "" and run.progress == 100
    assert (_audits(run, "run.succeed"), _audits(run, "run.fail")) == (1, 0)


def test_given_a_failure_every_time_when_run_then_it_fails_after_max_retries_plus_one_attempts(
    settings, django_capture_on_commit_callbacks
):
    settings.RUN_MAX_RETRIES = 2
    seen: list[dict[str, Any]] = []

    # Given a body that always hits a bug (not an input error)
    run = _queue(_failing(99, KeyError("portfolio_id"), seen), django_capture_on_commit_callbacks)

    # Then it was attempted RUN_MAX_RETRIES + 1 = 3 times and ended failed, naming the error and the count
    assert len(seen) == 3
    assert run.status == CalculationRun.Status.FAILED and run.attempts == 3
    assert run.error == "KeyError: 'portfolio_id'\nGave up after 3 attempts."
    assert run.finished_at is not None
    # ... audited once, as a failure
    assert (_audits(run, "run.fail"), _audits(run, "run.succeed")) == (1, 0)
    assert AuditEvent.objects.get(action="run.fail", object_id=str(run.pk)).after["error"] == run.error


def test_given_no_retries_configured_when_a_transient_error_then_the_run_fails_at_once(
    settings, django_capture_on_commit_callbacks
):
    settings.RUN_MAX_RETRIES = 0
    seen: list[dict[str, Any]] = []
    run = _queue(_failing(99, OperationalError("lock timeout"), seen), django_capture_on_commit_callbacks)
    assert len(seen) == 1
    assert run.status == CalculationRun.Status.FAILED and run.error == "OperationalError: lock timeout"


def test_given_the_task_called_as_a_plain_function_when_a_transient_error_then_the_run_fails_at_once(settings):
    # Given no worker and no eager apply (nothing could run a retry)
    settings.RUN_MAX_RETRIES = 3
    run = CalculationRun.objects.create(kind="test.retry")
    seen: list[dict[str, Any]] = []
    BODIES[run.pk] = _failing(99, OperationalError("lock timeout"), seen)
    # When the task function is called directly
    probe_task(run.pk)
    # Then one attempt, failed with its error
    run.refresh_from_db()
    assert len(seen) == 1
    assert run.status == CalculationRun.Status.FAILED and run.error == "OperationalError: lock timeout"


@pytest.mark.parametrize(
    "exc",
    [
        ValidationFailed("A risk run cannot be dated in the future."),
        RiskInputError("RISK-BOOK holds no positions on 2022-12-28."),
        ValueError("no prices for the portfolio"),
    ],
    ids=["application-error", "engine-input-error", "value-error"],
)
def test_given_an_input_error_when_run_then_it_fails_at_once_without_retry(
    exc, settings, django_capture_on_commit_callbacks
):
    settings.RUN_MAX_RETRIES = 3
    seen: list[dict[str, Any]] = []
    run = _queue(_failing(99, exc, seen), django_capture_on_commit_callbacks)
    assert len(seen) == 1
    assert run.status == CalculationRun.Status.FAILED and run.attempts == 1
    assert run.error == f"{type(exc).__name__}: {exc}"
    assert _audits(run, "run.fail") == 1


class _WorkerTask:
    """Stands in for a bound task on a real worker: records the retry Celery would schedule."""

    def __init__(self, *, retries: int) -> None:
        self.request = SimpleNamespace(id="task-1", is_eager=False, retries=retries, called_directly=False)
        self.retried: list[dict[str, Any]] = []

    def retry(self, **kwargs: Any) -> Retry:
        self.retried.append(kwargs)
        return Retry(exc=kwargs["exc"], when=kwargs["countdown"])


def test_given_a_worker_when_the_second_attempt_fails_then_queued_with_message_and_backoff(settings):
    settings.RUN_MAX_RETRIES = 3
    settings.RUN_RETRY_BACKOFF_SECONDS = 10
    settings.RUN_RETRY_BACKOFF_MAX_SECONDS = 300
    # Given a run whose first attempt already failed, picked up again by a worker
    run = CalculationRun.objects.create(kind="test.retry", attempts=1, error="OperationalError: first")
    task = _WorkerTask(retries=1)
    lost = OperationalError("could not receive data from server\nSSL SYSCALL error: EOF detected")

    def body(run, report):
        raise lost

    # When the second attempt fails too
    with pytest.raises(Retry):
        run_execute(run_id=run.pk, task=task, body=body)

    # Then Celery is asked to retry in 10 × 2 = 20 s, and the run waits in the queue saying so
    assert task.retried == [{"exc": lost, "countdown": 20.0, "max_retries": 2}]
    run.refresh_from_db()
    assert run.status == CalculationRun.Status.QUEUED and run.attempts == 2 and run.task_id == "task-1"
    assert run.message == (
        "Attempt 2 of 4 failed (OperationalError: could not receive data from server); retrying in 20 s"
    )
    assert run.error == "OperationalError: could not receive data from server\nSSL SYSCALL error: EOF detected"
    assert run.finished_at is None and _audits(run, "run.fail") == 0


def test_backoff_doubles_per_attempt_and_is_capped(settings):
    settings.RUN_RETRY_BACKOFF_SECONDS = 10
    settings.RUN_RETRY_BACKOFF_MAX_SECONDS = 300
    assert [run_retry_delay(attempt=n) for n in range(1, 8)] == [10, 20, 40, 80, 160, 300, 300]


def test_given_a_run_whose_workers_kept_dying_when_delivered_again_then_it_fails_without_running(settings):
    settings.RUN_MAX_RETRIES = 3
    # Given a run started 4 times (= RUN_MAX_RETRIES + 1) whose last worker died (stale heartbeat)
    stale = datetime.now(tz=UTC) - timedelta(hours=1)
    run = CalculationRun.objects.create(kind="test.crash", status="running", attempts=4, heartbeat_at=stale)
    calls: list[int] = []

    # When its message is redelivered once more
    run_execute(run_id=run.pk, task=_WorkerTask(retries=0), body=lambda r, p: calls.append(1) or {})

    # Then the body does not run again and the run ends failed, audited once
    run.refresh_from_db()
    assert calls == []
    assert run.status == CalculationRun.Status.FAILED and run.attempts == 5
    assert run.error == "Gave up after 4 attempts that ended without finishing (worker lost)."
    assert _audits(run, "run.fail") == 1


# ---------------------------------------------------------------------------- the page


def test_given_a_run_waiting_for_its_retry_then_its_progress_shows_the_failure(make_user):
    officer = make_user(Role.RISK_OFFICER)
    run = CalculationRun.objects.create(
        kind="risk.run",
        user=officer,
        status="queued",
        attempts=1,
        message="Attempt 1 of 4 failed (OperationalError: canceling statement due to lock timeout); retrying in 10 s",
        error="OperationalError: canceling statement due to lock timeout",
    )
    client = Client()
    client.force_login(officer)
    html = client.get(f"/runs/{run.pk}/progress/").content.decode()
    assert "Attempt 1 of 4 failed" in html and "retrying in 10 s" in html
    assert "Retried after: OperationalError: canceling statement due to lock timeout" in html
    assert 'hx-trigger="every 1s"' in html  # still polling: the run is not finished
