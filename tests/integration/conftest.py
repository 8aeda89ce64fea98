"""Real processes for the integration tests: a Redis broker database and Celery workers.

``start_worker(queues=..., env=...)`` starts a worker subprocess on the test database (it sees
only committed rows: use ``transactional_db``); every worker still running is stopped at the
end of the test. ``wait_for(run, timeout_s)`` polls a ``CalculationRun`` until it finishes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import kombu.pools
import pytest
import redis
from django.db import connection

from config.celery import app as celery_app
from core.models import CalculationRun

ALL_QUEUES = "default,risk,surveillance,tca,wealth"

ROOT = Path(__file__).resolve().parents[2]
BROKER_URL = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def broker():
    """A clean Redis database as broker, with the in-test Celery app sending to it (not eager)."""
    client = redis.Redis.from_url(BROKER_URL)
    client.flushdb()
    saved = {k: celery_app.conf[k] for k in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=BROKER_URL, task_always_eager=False)
    _reset_producer_pool()
    yield BROKER_URL
    celery_app.conf.update(saved)
    _reset_producer_pool()
    client.flushdb()


def _reset_producer_pool() -> None:
    """Drop pooled broker connections so the next send uses the current broker_url.

    ``app.pool`` is kombu's global pool for the broker URL: closing it alone leaves the closed
    pool registered, and a later test sending to that broker (eager dispatch included) then
    fails with "Acquire on closed pool". ``kombu.pools.reset`` closes and unregisters them all.
    """
    kombu.pools.reset()
    celery_app._pool = None
    # The producer pool is built on the connection pool and cached separately.
    celery_app.amqp._producer_pool = None


def worker_env(broker_url: str) -> dict[str, str]:
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.base",
        # The password too: a DATABASE_URL with one (CI, a remote server) must work for the worker.
        DATABASE_URL=(
            f"postgres://{quote(db['USER'] or '', safe='')}"
            + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
            + f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        CELERY_BROKER_URL=broker_url,
        DEBUG="false",
        SECRET_KEY="integration-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    )
    return env


@pytest.fixture
def start_worker(broker):
    procs: list[subprocess.Popen[bytes]] = []

    def start(
        *, queues: str = ALL_QUEUES, env: dict[str, str] | None = None, name: str | None = None
    ) -> subprocess.Popen[bytes]:
        """``name``: the worker's node name (``-n``); two workers on one host need distinct ones
        to answer control commands (ping) separately."""
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                *(["-n", name] if name else []),
                "-Q",
                queues,
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env={**worker_env(broker), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_for(run: CalculationRun, timeout_s: float) -> CalculationRun:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.is_finished:
            return run
        time.sleep(0.2)
    return run
