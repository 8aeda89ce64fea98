"""/health/ in the embedded default (no broker) and its verdict rules; the real broker and worker
cases are in tests/integration/test_operations.py."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from core import health
from core.health import HealthReport

pytestmark = pytest.mark.django_db


def test_given_embedded_default_when_polled_then_200_with_broker_and_workers_not_configured():
    response = Client().get("/health/")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "not configured",
        "workers": "not configured",
    }
    assert response["Cache-Control"] == "no-store"
    assert response["X-Request-ID"]


def test_given_database_down_when_polled_then_503_and_nothing_but_the_verdicts(monkeypatch):
    # Given every cursor fails as a dropped PostgreSQL connection would
    def broken_cursor(*args, **kwargs):
        raise connection.OperationalError("could not connect to server at db.internal:5432")

    monkeypatch.setattr(connection, "cursor", broken_cursor)

    response = Client().get("/health/")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["database"] == "unavailable"
    assert b"db.internal" not in response.content and b"5432" not in response.content


@pytest.mark.parametrize(
    ("database", "broker", "workers", "http", "status"),
    [
        ("ok", "ok", {"total": 2, "queues": {"default": 2}}, 200, "ok"),
        # Workers down: web can still take requests and queue work; monitoring alerts on "degraded".
        ("ok", "ok", {"total": 0, "queues": {"default": 0}}, 200, "degraded"),
        ("ok", "ok", "unknown", 200, "ok"),
        ("ok", "unavailable", "unknown", 503, "unavailable"),
        ("unavailable", "ok", {"total": 1, "queues": {}}, 503, "unavailable"),
        ("ok", "not configured", "not configured", 200, "ok"),
    ],
)
def test_verdict_rules(database, broker, workers, http, status):
    report = HealthReport(database=database, broker=broker, workers=workers)
    assert (report.http_status, report.status) == (http, status)


def test_given_host_not_in_allowed_hosts_then_health_answers_but_pages_are_refused():
    # A load balancer addresses each web container by IP, which ALLOWED_HOSTS does not list.
    client = Client(HTTP_HOST="10.1.2.3:8000")

    assert client.get("/health/").status_code == 200
    assert client.get("/accounts/login/").status_code == 400


def test_known_queues_are_the_default_and_every_routed_queue():
    assert health.known_queues() == ["default", "risk", "surveillance", "tca", "wealth"]
