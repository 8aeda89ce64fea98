"""What ``/health/`` reports: the database, the Celery broker and the workers answering it.

Load balancers poll this every few seconds, so every check has a ~1 s timeout and the worker
answer (a broadcast that always waits its whole timeout) is cached for
``HEALTH_WORKERS_CACHE_SECONDS`` in the shared cache: a fleet of web processes asks the
workers at most about once per period, not once per poll.

The verdict is about the web process: it is unavailable (503) when it cannot reach the
database or, with a broker configured, the broker, since then it cannot take work. Workers
being down does not make web unhealthy (a load balancer must not pull web out of rotation
for that): the reply is 200 with ``"status": "degraded"`` and the worker counts, for
monitoring to alert on. The reply names no host, URL or error text.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from kombu import Connection

logger = logging.getLogger(__name__)

OK = "ok"
UNAVAILABLE = "unavailable"
NOT_CONFIGURED = "not configured"
UNKNOWN = "unknown"

TIMEOUT_S = 1.0
_WORKERS_CACHE_KEY = "vigil:health:workers"


@dataclass(frozen=True)
class HealthReport:
    database: str
    broker: str
    workers: dict[str, Any] | str

    @property
    def http_status(self) -> int:
        return 503 if UNAVAILABLE in (self.database, self.broker) else 200

    @property
    def status(self) -> str:
        if self.http_status != 200:
            return UNAVAILABLE
        if isinstance(self.workers, dict) and not self.workers["total"]:
            return "degraded"
        return OK

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "database": self.database, "broker": self.broker, "workers": self.workers}


def _celery_app() -> Any:
    from config.celery import app

    return app


def broker_configured() -> bool:
    """False in the embedded default, where tasks run in-process and there is no broker."""
    conf = _celery_app().conf
    return bool(conf.broker_url) and not conf.task_always_eager


def known_queues() -> list[str]:
    """The queues tasks are routed to: the default queue and every queue named in the routes."""
    conf = _celery_app().conf
    queues = {conf.task_default_queue}
    routes = conf.task_routes or {}
    if isinstance(routes, dict):
        queues.update(r["queue"] for r in routes.values() if isinstance(r, dict) and "queue" in r)
    return sorted(queues)


def database_status() -> str:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        return OK
    except Exception as exc:  # noqa: BLE001 - any failure means unavailable
        logger.warning("health: database unreachable (%s)", type(exc).__name__)
        return UNAVAILABLE


def broker_status() -> str:
    if not broker_configured():
        return NOT_CONFIGURED
    conn = Connection(
        _celery_app().conf.broker_url,
        connect_timeout=TIMEOUT_S,
        transport_options={"socket_timeout": TIMEOUT_S, "socket_connect_timeout": TIMEOUT_S},
    )
    try:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=TIMEOUT_S)
        return OK
    except Exception as exc:  # noqa: BLE001 - any failure means unavailable
        # The exception text names the broker's host: logged by class only, never returned.
        logger.warning("health: broker unreachable (%s)", type(exc).__name__)
        return UNAVAILABLE
    finally:
        conn.release()


def workers_ask() -> dict[str, Any]:
    """Workers answering a broadcast within ``TIMEOUT_S``: their number and how many consume each queue."""
    replies = _celery_app().control.inspect(timeout=TIMEOUT_S).active_queues() or {}
    per_queue = dict.fromkeys(known_queues(), 0)
    for queues in replies.values():
        for name in {q.get("name") for q in queues or [] if isinstance(q, dict)}:
            if name in per_queue:  # a queue outside the routes is not ours to report
                per_queue[name] += 1
    return {"total": len(replies), "queues": per_queue}


def workers_status(*, broker: str) -> dict[str, Any] | str:
    if broker == NOT_CONFIGURED:
        return NOT_CONFIGURED
    if broker != OK:
        return UNKNOWN
    try:
        cached = cache.get(_WORKERS_CACHE_KEY)
    except Exception:  # noqa: BLE001 - a cache outage must not fail the health check
        cached = None
    if cached is not None:
        return dict(cached)
    try:
        answer = workers_ask()
    except Exception as exc:  # noqa: BLE001
        logger.warning("health: worker broadcast failed (%s)", type(exc).__name__)
        return UNKNOWN
    with contextlib.suppress(Exception):  # a cache outage: the next poll asks again
        cache.set(_WORKERS_CACHE_KEY, answer, settings.HEALTH_WORKERS_CACHE_SECONDS)
    return answer


def workers_cache_clear() -> None:
    cache.delete(_WORKERS_CACHE_KEY)


def health_check() -> HealthReport:
    broker = broker_status()
    return HealthReport(database=database_status(), broker=broker, workers=workers_status(broker=broker))
