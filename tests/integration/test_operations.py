"""Operations endpoints against real processes: /health/ with a real broker and worker (and a
broker that is down), queue lengths read from Redis, JSON task logs of a real worker, and
/metrics summed across the worker processes of a real gunicorn."""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import kombu.pools
import pytest
from django.test import Client
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.parser import text_string_to_metric_families

from config.celery import app as celery_app
from core import context, health
from core.models import CalculationRun
from core.services import calculation_run_create
from portfolios.tasks import positions_snapshot_task
from tests.factories import AccountFactory, InstrumentFactory, PortfolioFactory, PositionFactory, TradeFactory
from tests.integration.conftest import ROOT, wait_for, worker_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOKEN = "scrape-token-0123456789abcdef-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health_fresh() -> tuple[int, dict]:
    """One poll with the cached worker answer dropped first."""
    health.workers_cache_clear()
    response = Client().get("/health/")
    return response.status_code, response.json()


def test_given_a_real_worker_then_health_counts_it_per_queue_and_caches_the_answer(transactional_db, start_worker):
    # Given a broker and no worker yet: web is up, workers absent -> 200 "degraded"
    status, body = _health_fresh()
    assert (status, body["status"], body["broker"], body["workers"]["total"]) == (200, "degraded", "ok", 0)

    # When a worker consuming default and risk starts
    worker = start_worker(queues="default,risk")
    deadline = time.monotonic() + 120  # a loaded CI machine can take a minute to start a worker
    while time.monotonic() < deadline and body["workers"]["total"] < 1:
        status, body = _health_fresh()

    # Then it is counted, on its two queues only
    if body["workers"]["total"] < 1:
        worker.send_signal(signal.SIGTERM)
        pytest.fail(f"no worker answered: {body}\n{worker.communicate(timeout=20)[0].decode()[-3000:]}")
    assert status == 200, body
    assert body["status"] == "ok"
    assert body["workers"] == {
        "total": 1,
        "queues": {"default": 1, "risk": 1, "surveillance": 0, "tca": 0, "wealth": 0},
    }
    assert "celery@" not in json.dumps(body)  # no worker host names

    # And when the worker stops, polls within the cache period still give the cached answer ...
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=20)
    assert Client().get("/health/").json()["workers"]["total"] == 1
    # ... and the next broadcast finds none
    status, body = _health_fresh()
    assert (status, body["status"], body["workers"]["total"]) == (200, "degraded", 0)


@pytest.fixture
def broker_down():
    """The Celery app pointed at a closed port on this machine (a broker that is down)."""
    saved = {k: celery_app.conf[k] for k in ("broker_url", "task_always_eager")}
    url = f"redis://127.0.0.1:{_free_port()}/0"
    celery_app.conf.update(broker_url=url, task_always_eager=False)
    kombu.pools.reset()
    health.workers_cache_clear()
    yield url
    celery_app.conf.update(saved)
    kombu.pools.reset()


def test_given_the_broker_down_then_health_is_503_without_naming_it(db, broker_down):
    port = broker_down.rsplit(":", 1)[1].split("/")[0]

    response = Client().get("/health/")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "unavailable", "workers": "unknown"}
    assert port.encode() not in response.content


def test_given_queued_messages_then_metrics_report_each_queue_length_from_redis(db, broker, settings):
    # Given two risk messages (one at a high priority, kept in its own Redis list) and one tca message
    settings.METRICS_TOKEN = TOKEN
    celery_app.send_task("riskapp.tasks.risk_run", args=[1], queue="risk")
    celery_app.send_task("riskapp.tasks.risk_run", args=[2], queue="risk", priority=9)
    celery_app.send_task("execution_quality.tasks.tca_run", args=[3], queue="tca")

    body = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()

    lengths = {
        s.labels["queue"]: s.value
        for f in text_string_to_metric_families(body)
        for s in f.samples
        if s.name == "vigil_celery_queue_length"
    }
    assert lengths == {"default": 0, "risk": 2, "surveillance": 0, "tca": 1, "wealth": 0}


def test_given_a_json_logging_worker_then_task_lines_carry_task_run_and_queuing_request_ids(
    transactional_db, start_worker
):
    # Given a portfolio to snapshot, and a run queued while a request (id "req-ops-1") is handled
    portfolio = PortfolioFactory(code="OPS-PF")
    account = AccountFactory(code="OPS-ACC", portfolio=portfolio, desk=portfolio.desk)
    instrument = InstrumentFactory(symbol="OPS-AAPL")
    PositionFactory(portfolio=portfolio, instrument=instrument, as_of=date(2022, 12, 27), quantity=Decimal("10"))
    TradeFactory(account=account, instrument=instrument, ts=datetime(2022, 12, 28, 15, tzinfo=UTC))
    token = context.set_current(context.RequestContext(request_id="req-ops-1"))
    try:
        run = calculation_run_create(
            kind="positions.snapshot",
            task=positions_snapshot_task,
            parameters={"portfolio_id": portfolio.pk, "as_of": "2022-12-28"},
            user=None,
        )
    finally:
        context.reset(token)

    # When a worker logging JSON runs it
    worker = start_worker(queues="default", env={"LOG_FORMAT": "json"})
    run = wait_for(run, timeout_s=90)
    worker.send_signal(signal.SIGTERM)
    output = worker.communicate(timeout=20)[0].decode(errors="replace")
    assert run.status == CalculationRun.Status.SUCCEEDED, output[-3000:]

    # Then log records are JSON lines (the start-up banner and warnings are printed, not logged) ...
    assert not re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ", output, re.MULTILINE), output[-3000:]
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    # ... and those logged inside the task name it, its run and the request that queued it
    in_task = [line for line in lines if line.get("run_id") == run.pk]
    assert in_task, output[-3000:]
    assert {line["task_name"] for line in in_task} == {"portfolios.tasks.positions_snapshot"}
    assert {line["task_id"] for line in in_task} == {run.task_id}
    assert {line["request_id"] for line in in_task} == {"req-ops-1"}


def _get(url: str, **headers: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http://127.0.0.1 built above
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _health_counts(body: bytes) -> list[float]:
    return [
        s.value
        for f in text_string_to_metric_families(body.decode())
        for s in f.samples
        if s.name == "vigil_http_requests_total" and s.labels["route"] == "health"
    ]


def _per_process_health_counts(metrics_dir: Path, scratch: Path) -> list[float]:
    """Each worker process's own count, read from its file alone."""
    counts = []
    for i, path in enumerate(sorted(metrics_dir.glob("counter_*.db"))):
        alone = scratch / str(i)
        alone.mkdir(parents=True)
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(alone))
        counts.extend(_health_counts(generate_latest(registry)) or [0.0])
    return counts


def test_given_gunicorn_with_two_workers_then_metrics_sum_every_workers_requests(transactional_db, broker, tmp_path):
    # Given a metrics directory holding a stale file from a previous server (wiped at start), and
    # a broker without workers: each process's first health poll then waits out the 1 s
    # broadcast, so the other process takes the next polls and both serve some
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"stale")
    port = _free_port()
    env = {
        **worker_env(broker),
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "METRICS_TOKEN": TOKEN,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # When health polls arrive 8 at a time until both worker processes have answered some
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list(metrics_dir.glob("counter_*.db"))) < 2:
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(lambda _: _polled(f"{base}/health/"), range(8)))
        assert not (metrics_dir / "counter_1.db").exists()
        assert len(list(metrics_dir.glob("counter_*.db"))) == 2

        # Then every scrape, whichever process answers it, reports the sum of both processes' counts
        scrapes = []
        for _ in range(4):
            status, body = _get(f"{base}/metrics", Authorization=f"Bearer {TOKEN}")
            assert status == 200, body[-2000:]
            scrapes.extend(_health_counts(body))
        per_process = _per_process_health_counts(metrics_dir, tmp_path / "alone")
        assert len(per_process) == 2 and min(per_process) > 0, per_process
        assert scrapes == [sum(per_process)] * 4
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _polled(url: str) -> int:
    try:
        return _get(url)[0]
    except OSError:  # not listening yet
        time.sleep(0.2)
        return 0
