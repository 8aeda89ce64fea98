"""Faults a real Celery worker must survive, on Redis and PostgreSQL.

1. A run that keeps failing for a reason other than its inputs (here a PostgreSQL lock timeout:
   the test holds an ACCESS EXCLUSIVE lock on the risk results table) is retried with backoff,
   waits in the queue between attempts, and ends failed after ``RUN_MAX_RETRIES`` retries with
   the error on the portfolio's page.
2. A worker killed with SIGKILL in the middle of a risk run: its message, never acknowledged,
   is restored after the visibility timeout and a new worker completes the run exactly once.
"""

from __future__ import annotations

import os
import signal
import time
from decimal import Decimal

import psycopg
import pytest
from django.db import connection
from django.test import Client

from audit.models import AuditEvent
from core.models import CalculationRun
from core.roles import Role
from riskapp.models import RiskResult, RiskRun
from riskapp.services.runs import risk_run_create
from tests.riskapp.books import priced_book

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _conninfo() -> str:
    db = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=db["NAME"],
        user=db["USER"] or "",
        password=db["PASSWORD"] or "",
        host=db["HOST"] or "127.0.0.1",
        port=str(db["PORT"] or 5432),
    )


def _fail_with_output(worker, run: CalculationRun, what: str) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    output = worker.communicate(timeout=15)[0].decode(errors="replace")
    pytest.fail(f"{what}; status={run.status} attempts={run.attempts} error={run.error!r}\n{output[-5000:]}")


def test_given_a_locked_results_table_when_a_worker_runs_a_risk_run_then_it_fails_after_bounded_retries(
    transactional_db, start_worker, desk, make_user
):
    # Given a priced book and a risk run queued on Redis (committed: the worker sees it)
    book = priced_book(desk)
    risk_run = risk_run_create(
        portfolio=book.portfolio, user=None, parameters={"n_scenarios": 2000, "methods": ["historical"]}
    )
    run = risk_run.calculation
    # ... and another session holding an ACCESS EXCLUSIVE lock on the results table (as a long
    # migration would), so the worker's save cannot even read it
    locker = psycopg.connect(_conninfo())
    try:
        locker.execute(f"LOCK TABLE {RiskResult._meta.db_table} IN ACCESS EXCLUSIVE MODE")

        # When a worker with a 200 ms lock_timeout and two retries (backoff 1 s, then 2 s) runs it
        worker = start_worker(
            queues="risk",
            env={"DB_LOCK_TIMEOUT_MS": "200", "RUN_MAX_RETRIES": "2", "RUN_RETRY_BACKOFF_SECONDS": "1"},
        )
        waiting: list[str] = []  # what the run said while it waited for a retry
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.is_finished:
                break
            if run.status == CalculationRun.Status.QUEUED and run.attempts and run.message not in waiting:
                waiting.append(run.message)
            time.sleep(0.1)
    finally:
        locker.rollback()
        locker.close()
    if not run.is_finished:
        _fail_with_output(worker, run, "the run did not finish")

    # Then every attempt timed out on the lock: the run waited in the queue between attempts
    # (1 s, then 2 s), saying which attempt failed and why ...
    assert run.status == CalculationRun.Status.FAILED, run.error
    assert [m.split(" (")[0] for m in waiting] == ["Attempt 1 of 3 failed", "Attempt 2 of 3 failed"], waiting
    assert "lock timeout" in waiting[0] and waiting[0].endswith("retrying in 1 s")
    assert waiting[1].endswith("retrying in 2 s")
    # ... and after RUN_MAX_RETRIES + 1 = 3 attempts it failed with the lock timeout and the count
    assert run.attempts == 3
    assert "OperationalError" in run.error and "lock timeout" in run.error
    assert run.error.endswith("Gave up after 3 attempts.")
    assert not RiskResult.objects.filter(run=risk_run).exists()
    assert AuditEvent.objects.filter(action="run.fail", object_id=str(run.pk)).count() == 1
    assert not AuditEvent.objects.filter(action="run.succeed", object_id=str(run.pk)).exists()

    # ... and a risk officer of the desk sees the error on the portfolio's page
    client = Client()
    client.force_login(make_user(Role.RISK_OFFICER))
    page = client.get(f"/risk/portfolios/{book.portfolio.code}/").content.decode()
    assert "canceling statement due to lock timeout" in page
    assert "Gave up after 3 attempts." in page
    print(f"\n3 attempts, first start → failed {run.duration_seconds:.1f} s (backoff 1 s + 2 s, lock_timeout 200 ms)")


def test_given_a_worker_killed_mid_run_when_a_new_worker_starts_then_the_run_completes_exactly_once(
    transactional_db, start_worker, desk
):
    # Given a risk run long enough to be caught in flight (400,000 Monte Carlo scenarios)
    book = priced_book(desk)
    risk_run = risk_run_create(
        portfolio=book.portfolio,
        user=None,
        parameters={"n_scenarios": 400_000, "methods": ["monte_carlo", "historical"]},
    )
    run = risk_run.calculation
    # ... and workers that treat an unacknowledged message as lost after 5 s, look for such
    # messages every second, and hold a run's lease for 2 s after its last progress report; the
    # run is computed by one task (no Monte Carlo shards: this is about that task's message)
    env = {
        "CELERY_VISIBILITY_TIMEOUT": "5",
        "CELERY_UNACKED_RESTORE_INTERVAL": "1",
        "RUN_LEASE_SECONDS": "2",
        "RISK_MC_SHARDS": "1",
    }
    first = start_worker(queues="risk", env=env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.is_finished or (run.status == CalculationRun.Status.RUNNING and run.progress >= 10):
            break  # computing VaR by progress 10
        time.sleep(0.05)
    assert run.status == CalculationRun.Status.RUNNING and run.progress >= 10, (run.status, run.progress)
    in_flight = (run.progress, run.message)

    # When the worker is killed with SIGKILL (no warm shutdown, no requeue, no ack) ...
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = time.monotonic()
    run.refresh_from_db()
    assert run.status == CalculationRun.Status.RUNNING and run.attempts == 1  # it died mid-run
    # ... and a new worker starts
    second = start_worker(queues="risk", env=env)
    redelivered_s = None  # kill → the second attempt starts
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not run.is_finished:
        time.sleep(0.1)
        run.refresh_from_db()
        if redelivered_s is None and run.attempts >= 2:
            redelivered_s = time.monotonic() - killed_at
    recovered_s = time.monotonic() - killed_at
    if not run.is_finished:
        _fail_with_output(second, run, "the run was not completed after the kill")

    # Then the message was redelivered and the run succeeded on its second attempt ...
    assert run.status == CalculationRun.Status.SUCCEEDED, run.error
    assert run.attempts == 2
    # ... with exactly one set of results: 2 methods × 3 confidences × 2 horizons, none twice
    risk_run.refresh_from_db()
    keys = list(RiskResult.objects.filter(run=risk_run).values_list("method", "confidence", "horizon_days"))
    assert len(keys) == len(set(keys)) == 2 * 3 * 2
    assert {(m, c) for m, c, _ in keys} >= {("monte_carlo", Decimal("0.99")), ("historical", Decimal("0.99"))}
    assert RiskRun.objects.filter(calculation=run).count() == 1
    # ... and one success in the audit trail (one risk.run event with the results)
    assert AuditEvent.objects.filter(action="run.succeed", object_id=str(run.pk)).count() == 1
    assert AuditEvent.objects.filter(action="risk.run", object_id=str(risk_run.pk)).count() == 1
    print(f"\nkilled at {in_flight}; kill → second attempt {redelivered_s:.1f} s, → completion {recovered_s:.1f} s")
