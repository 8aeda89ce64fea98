"""Prometheus metrics at ``/metrics``: HTTP traffic, calculation runs, the outbox, queues, processes.

HTTP requests are counted by the matched URL route *name* (``portfolios:portfolio_detail``),
never by raw path, so the number of series stays bounded whatever clients request; requests
that match no route share the label ``unmatched``.

Calculation runs, outbox messages and queue lengths are read at scrape time (database and
Redis), not kept in the process, so every web process reports the same true figures.

Under gunicorn each worker process keeps its own counters. With ``PROMETHEUS_MULTIPROC_DIR``
set (an empty directory, wiped at server start by ``config/gunicorn.conf.py``) they write them
to files there and a scrape of any process sums all of them. The variable must be set before
the process imports prometheus_client, i.e. in the environment, not in settings.

Access is never public (``metrics_view``): a bearer token equal to ``METRICS_TOKEN``, or a
logged-in superuser or auditor.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Iterator
from typing import Any

import redis
from django.apps import apps
from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from kombu.transport.redis import Channel as RedisChannel
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core.health import broker_configured, known_queues
from core.roles import Role, user_roles

logger = logging.getLogger(__name__)

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "vigil_http_requests",
    "HTTP requests answered, by URL route name, method and status code.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "vigil_http_request_duration_seconds",
    "Time from the request reaching Django to the response leaving it, by URL route name and method.",
    ["route", "method"],
    # Pages and reads sit in the first buckets; bulk ingestion of 10,000 rows and PDF reports in the last.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def request_observe(*, route: str, method: str, status: int, duration_s: float) -> None:
    method = method if method in HTTP_METHODS else "other"
    HTTP_REQUESTS.labels(route=route, method=method, status=str(status)).inc()
    HTTP_DURATION.labels(route=route, method=method).observe(duration_s)


# ---------------------------------------------------------------------------- read at scrape time


class _CollectorUp:
    """``vigil_metrics_collector_up{collector}``: 0 when a source could not be read this scrape."""

    def __init__(self) -> None:
        self.family = GaugeMetricFamily(
            "vigil_metrics_collector_up",
            "1 when the source was read at this scrape, 0 when it failed.",
            labels=["collector"],
        )

    def mark(self, name: str, ok: bool) -> None:
        self.family.add_metric([name], 1.0 if ok else 0.0)


class DatabaseCollector(Collector):
    """Calculation runs by kind and status; outbox messages not yet dispatched (when the outbox exists)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from core.models import CalculationRun

        up = _CollectorUp()
        runs = GaugeMetricFamily(
            "vigil_calculation_runs", "Calculation runs in the database, by kind and status.", labels=["kind", "status"]
        )
        try:
            # One grouped count over the runs table (a row per run: small next to orders and trades).
            rows = CalculationRun.objects.order_by().values_list("kind", "status").annotate(n=Count("id"))
            for kind, status, n in rows:
                runs.add_metric([kind, status], float(n))
            up.mark("calculation_runs", True)
            yield runs
        except Exception as exc:  # noqa: BLE001 - a scrape reports what it can
            logger.warning("metrics: calculation runs not read (%s)", type(exc).__name__)
            up.mark("calculation_runs", False)
        model = outbox_model()
        if model is not None:
            try:
                pending = model._default_manager.filter(dispatched_at__isnull=True).count()
                yield GaugeMetricFamily(
                    "vigil_outbox_pending_messages", "Outbox messages written but not yet dispatched.", value=pending
                )
                up.mark("outbox", True)
            except Exception as exc:  # noqa: BLE001
                logger.warning("metrics: outbox not read (%s)", type(exc).__name__)
                up.mark("outbox", False)
        yield up.family


def outbox_model() -> Any:
    """The outbox message model when this installation has one with a ``dispatched_at`` column."""
    try:
        model = apps.get_model("core", "OutboxMessage")
    except LookupError:
        return None
    names = {f.name for f in model._meta.get_fields()}
    return model if "dispatched_at" in names else None


_redis_clients: dict[str, redis.Redis] = {}


def _redis_client(url: str) -> redis.Redis:
    client = _redis_clients.get(url)
    if client is None:
        client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        _redis_clients[url] = client
    return client


def queue_keys(queue: str) -> list[str]:
    """The Redis lists of one queue: kombu keeps a list per priority step, suffixed with a separator."""
    return [queue] + [f"{queue}{RedisChannel.sep}{step}" for step in RedisChannel.priority_steps if step]


class QueueCollector(Collector):
    """Messages waiting in each Celery queue (sum of the queue's Redis lists), with a Redis broker."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if not broker_configured():
            return
        from config.celery import app

        url = str(app.conf.broker_url)
        if not url.startswith(("redis://", "rediss://", "unix://")):
            return
        up = _CollectorUp()
        family = GaugeMetricFamily(
            "vigil_celery_queue_length", "Messages waiting in the Celery queue (all priorities).", labels=["queue"]
        )
        try:
            pipe = _redis_client(url).pipeline(transaction=False)
            queues = known_queues()
            for queue in queues:
                for key in queue_keys(queue):
                    pipe.llen(key)
            lengths = iter(pipe.execute())
            for queue in queues:
                family.add_metric([queue], float(sum(next(lengths) for _ in queue_keys(queue))))
            up.mark("celery_queues", True)
            yield family
        except Exception as exc:  # noqa: BLE001
            logger.warning("metrics: queue lengths not read (%s)", type(exc).__name__)
            up.mark("celery_queues", False)
        yield up.family


class _ThisProcess(Collector):
    """The default registry: this process's HTTP counters and its process/platform/GC metrics."""

    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def registry_build() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        # Counters and histograms of every gunicorn worker, summed; process_* of the worker answering.
        multiprocess.MultiProcessCollector(registry)
        registry.register(ProcessCollector(registry=None))
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseCollector())
    registry.register(QueueCollector())
    return registry


# ---------------------------------------------------------------------------- the endpoint


def bearer_token(request: HttpRequest) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _unauthorised() -> HttpResponse:
    response = HttpResponse("authentication required\n", status=401, content_type="text/plain")
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format. 401 without valid credentials (a wrong or missing token, no
    session), 403 for a logged-in user who is neither superuser nor auditor."""
    token = bearer_token(request)
    if token is not None:
        expected = settings.METRICS_TOKEN
        # Constant-time: the comparison must not reveal how much of a guessed token was right.
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            return _unauthorised()
    else:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return _unauthorised()
        if not (user.is_superuser or Role.AUDITOR in user_roles(user)):
            return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    response = HttpResponse(generate_latest(registry_build()), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
