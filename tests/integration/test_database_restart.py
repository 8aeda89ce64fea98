"""Given a real gunicorn server and an OMS client sending a large ingestion (batches of trades,
each with its own Idempotency-Key), when PostgreSQL is restarted in the middle of it, then the
requests caught by the restart answer 503 (never 500), the client's retries with the same key
and back-off get every batch in, and afterwards every row is in the table exactly once and every
batch's reply adds up.

The restart is real (``pg_ctlcluster ... restart -m fast``: every session on the server is
terminated), so the test needs the local cluster and the rights to restart it; it skips
otherwise, and under pytest-xdist, whose other workers' sessions it would kill. Whatever
happens, the fixture leaves PostgreSQL running.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from django.db import connection, connections

from audit.models import AuditEvent
from core.models import IdempotencyRecord
from core.services import api_key_create
from portfolios.models import Trade
from tests.factories import AccountFactory, InstrumentFactory, OwnerFactory, PortfolioFactory
from tests.integration.conftest import ROOT, worker_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BATCHES = 20
ROWS_PER_BATCH = 5_000
CLIENTS = 2  # concurrent client connections, one per gunicorn worker: two batches in flight
RESTART_AT_BATCH = 6  # the restart fires while this batch (and its neighbour) is being written
MAX_ATTEMPTS = 12
PG_CONF_DIR = Path("/etc/postgresql")


# ---------------------------------------------------------------------------- PostgreSQL


def _cluster() -> tuple[str, str]:
    versions = sorted(os.listdir(PG_CONF_DIR)) if PG_CONF_DIR.is_dir() else []
    return (versions[-1] if versions else ""), "main"


def _pg_isready() -> bool:
    db = connection.settings_dict
    done = subprocess.run(
        ["pg_isready", "-q", "-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432)],
        check=False,
        timeout=15,
    )
    return done.returncode == 0


def _pg_ctl(action: str, *extra: str) -> subprocess.CompletedProcess[str]:
    version, name = _cluster()
    return subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action, *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def postgres_restart(transactional_db, django_db_serialized_rollback) -> Iterator[Any]:
    """``restart()`` restarts the local PostgreSQL cluster (fast mode); returns its duration (s).

    On the way out: PostgreSQL is started if it is not answering, and this process's own
    (dead) connections are closed so the test database can be flushed and dropped.
    """
    host = connection.settings_dict["HOST"] or "127.0.0.1"
    if host not in {"127.0.0.1", "localhost", "::1"}:
        pytest.skip("the test database is not on the local PostgreSQL cluster")
    if not (shutil.which("pg_ctlcluster") and shutil.which("pg_isready") and _cluster()[0]):
        pytest.skip("pg_ctlcluster is not available")
    if os.geteuid() != 0:
        pytest.skip("restarting PostgreSQL needs root")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("a restart would kill the sessions of the other xdist workers")

    def restart() -> float:
        started = time.monotonic()
        done = _pg_ctl("restart", "-m", "fast")
        assert done.returncode == 0, done.stdout + done.stderr
        return time.monotonic() - started

    try:
        yield restart
    finally:
        if not _pg_isready():
            _pg_ctl("start")
        deadline = time.monotonic() + 60
        while not _pg_isready() and time.monotonic() < deadline:
            time.sleep(0.5)
        connections.close_all()


# ---------------------------------------------------------------------------- web server


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def web_server(transactional_db, django_db_serialized_rollback, broker, tmp_path) -> Iterator[str]:
    """gunicorn (``config.wsgi``, base settings, DEBUG off) on a free loopback port, on the test
    database; follow-up tasks go to the test broker (no worker consumes them). Yields its URL."""
    port = _free_port()
    log_path = tmp_path / "gunicorn.log"
    env = {**worker_env(broker), "ALLOWED_HOSTS": "127.0.0.1"}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(CLIENTS),
                "--worker-class",
                "gthread",
                "--threads",
                "1",
                "--timeout",
                "120",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/health/", timeout=30).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{log_path.read_text(errors='replace')[-4000:]}")
            time.sleep(0.3)
        yield url
    finally:
        with_output = proc.poll() is not None
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        if with_output:
            print(log_path.read_text(errors="replace")[-4000:])


# ---------------------------------------------------------------------------- client


@dataclass
class Outcome:
    """One batch as the client saw it: every attempt's status (0 = no HTTP answer) and the
    final answer."""

    attempts: list[int] = field(default_factory=list)
    status: int = 0
    body: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False


RETRYABLE = {409, 500, 502, 503, 504}


def send_batch(session: requests.Session, url: str, body: bytes, key: str) -> Outcome:
    """POST one batch; on a connection error, a 5xx or a 409, retry with the SAME key after the
    server's Retry-After or an exponential back-off (0.25 s doubling, at most 4 s)."""
    outcome = Outcome()
    backoff_s = 0.25
    for _ in range(MAX_ATTEMPTS):
        try:
            response = session.post(
                url, data=body, headers={"Content-Type": "application/json", "Idempotency-Key": key}, timeout=120
            )
        except requests.ConnectionError:
            outcome.attempts.append(0)
        else:
            outcome.attempts.append(response.status_code)
            if response.status_code not in RETRYABLE:
                outcome.status = response.status_code
                outcome.body = response.json()
                outcome.replayed = response.headers.get("Idempotent-Replayed") == "true"
                return outcome
            if retry_after := response.headers.get("Retry-After"):
                backoff_s = float(retry_after)
        time.sleep(backoff_s)
        backoff_s = min(backoff_s * 2, 4.0)
    return outcome


def trade_batches(account: str, symbols: list[str]) -> list[list[dict[str, Any]]]:
    start = datetime(2023, 3, 1, 14, 30, tzinfo=UTC)
    batches = []
    for b in range(BATCHES):
        rows = []
        for i in range(ROWS_PER_BATCH):
            n = b * ROWS_PER_BATCH + i
            rows.append(
                {
                    "trade_id": f"PGR-{b:02d}-{i:05d}",
                    "account": account,
                    "instrument": symbols[n % len(symbols)],
                    "side": "buy" if n % 2 else "sell",
                    "price": f"{100 + (n % 997) / 100:.2f}",
                    "quantity": str(1 + n % 50),
                    "ts": (start + timedelta(microseconds=37 * n)).isoformat().replace("+00:00", "Z"),
                }
            )
        batches.append(rows)
    return batches


def test_given_postgres_restarted_mid_ingestion_then_retries_write_every_row_exactly_once(
    web_server, postgres_restart, oms_user, desk
):
    # Given an OMS client with an API key, an account and instruments on its desk
    portfolio = PortfolioFactory(code="PGR-PF", desk=desk)
    AccountFactory(code="PGR-ACC", owner=OwnerFactory(code="PGR-BO"), desk=desk, portfolio=portfolio)
    symbols = [InstrumentFactory(symbol=f"PGR{i}").symbol for i in range(5)]
    _, raw_key = api_key_create(user=oms_user, name="restart test")
    batches = trade_batches("PGR-ACC", symbols)
    bodies = [orjson.dumps({"rows": rows}) for rows in batches]
    url = f"{web_server}/api/v1/trades"

    outcomes: dict[int, Outcome] = {}
    next_batch = iter(range(BATCHES))
    lock = threading.Lock()
    restart_due = threading.Event()
    restart: dict[str, float] = {}

    def client() -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Api-Key {raw_key}"
            while True:
                with lock:
                    index = next(next_batch, None)
                if index is None:
                    return
                if index == RESTART_AT_BATCH:
                    restart_due.set()
                outcomes[index] = send_batch(session, url, bodies[index], key=f"pgr-batch-{index:02d}")

    def restarter() -> None:
        while not restart_due.wait(timeout=1):
            if not any(t.is_alive() for t in clients):
                return  # the clients stopped early: the assertions below report it
        time.sleep(0.2)  # into the batch: validating, or already writing
        restart["at"] = time.monotonic()
        restart["duration_s"] = postgres_restart()

    # When the batches go in over two connections and PostgreSQL restarts in the middle
    started = time.monotonic()
    clients = [threading.Thread(target=client) for _ in range(CLIENTS)]
    threads = [*clients, threading.Thread(target=restarter)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    elapsed_s = time.monotonic() - started
    connections.close_all()  # this process's sessions died with the restart

    assert "duration_s" in restart, "PostgreSQL was not restarted"
    statuses = Counter(s for o in outcomes.values() for s in o.attempts)
    retried = {i: o.attempts for i, o in sorted(outcomes.items()) if len(o.attempts) > 1}
    print(
        f"\n{BATCHES} batches x {ROWS_PER_BATCH} trades in {elapsed_s:.1f} s; restart took "
        f"{restart['duration_s']:.1f} s; attempts by status {dict(statuses)}; retried batches {retried}; "
        f"replayed {[i for i, o in sorted(outcomes.items()) if o.replayed]}"
    )

    # Then the restart was felt (some request failed and was retried), as a 503, never a 500
    assert retried, "no request was caught by the restart: the test proved nothing"
    assert statuses[500] == 0, statuses
    assert set(statuses) <= {0, 200, 201, 409, 503}, statuses

    # ... every batch finally got a success reply that adds up (created + existing = received)
    assert sorted(outcomes) == list(range(BATCHES))
    for index, outcome in sorted(outcomes.items()):
        assert outcome.status in {200, 201}, (index, outcome)
        assert outcome.body["received"] == ROWS_PER_BATCH
        assert outcome.body["created"] + outcome.body["existing"] == ROWS_PER_BATCH
        # Each batch's rows are new to the table: a replayed or redone batch reports them as
        # created by the one attempt that wrote them.
        assert outcome.body["created"] == ROWS_PER_BATCH, (index, outcome)

    # ... and every row is in the table exactly once, with one audit event and one stored
    # reply per batch
    sent = {row["trade_id"] for rows in batches for row in rows}
    stored = Trade.objects.filter(trade_id__startswith="PGR-")
    assert stored.count() == BATCHES * ROWS_PER_BATCH
    assert set(stored.values_list("trade_id", flat=True)) == sent
    assert AuditEvent.objects.filter(action="ingest.trades").count() == BATCHES
    assert IdempotencyRecord.objects.filter(user=oms_user).count() == BATCHES
    audit_ids = {o.body["audit_event_id"] for o in outcomes.values()}
    assert len(audit_ids) == BATCHES
