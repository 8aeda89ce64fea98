"""/metrics: who may read it, HTTP counters by route name, figures read from the database."""

from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from core import metrics
from core.models import CalculationRun
from core.roles import Role

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789abcdef-0123456789"


def _samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def test_given_no_credentials_then_401_with_a_bearer_challenge(token):
    response = Client().get("/metrics")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"vigil_" not in response.content


@pytest.mark.parametrize("header", ["Bearer wrong-token", f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}"])
def test_given_a_wrong_token_then_401(token, header):
    assert Client().get("/metrics", HTTP_AUTHORIZATION=header).status_code == 401


def test_given_no_token_configured_then_no_bearer_token_is_accepted(settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 401


def test_given_the_token_then_200_in_prometheus_text_format_from_any_host(token):
    # Prometheus scrapes each web container by address, which ALLOWED_HOSTS does not list.
    response = Client(HTTP_HOST="10.1.2.3:8000").get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "process_resident_memory_bytes" in {name for name, _ in _samples(response.content)}


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.AUDITOR, 200), (Role.RISK_OFFICER, 403), (Role.COMPLIANCE_SUPERVISOR, 403), (Role.OMS_CLIENT, 403)],
)
def test_given_a_session_then_only_auditors_and_superusers_read_metrics(make_user, role, status):
    client = Client()
    client.force_login(make_user(role))
    assert client.get("/metrics").status_code == status


def test_given_requests_then_counted_by_route_name_never_by_raw_path(token, make_user):
    client = Client()
    client.force_login(make_user(Role.RISK_OFFICER))
    before = _samples(Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content)

    # When three distinct portfolio URLs (404s: no such portfolios) and an unroutable path are requested
    for code in ("A1", "B2", "C3"):
        client.get(f"/portfolios/{code}/")
    client.get("/no/such/path/")

    after = _samples(Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content)
    key = (
        "vigil_http_requests_total",
        (("method", "GET"), ("route", "portfolios:portfolio_detail"), ("status", "404")),
    )
    assert after[key] - before.get(key, 0) == 3
    unmatched = ("vigil_http_requests_total", (("method", "GET"), ("route", "unmatched"), ("status", "404")))
    assert after[unmatched] - before.get(unmatched, 0) == 1
    labels = {v for (name, ls), _ in after.items() if name.startswith("vigil_http") for _, v in ls}
    assert not any(v.startswith("/") for v in labels), "a raw path became a label"
    histogram_count = (
        "vigil_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "portfolios:portfolio_detail")),
    )
    assert after[histogram_count] - before.get(histogram_count, 0) == 3


def test_calculation_runs_are_counted_from_the_database_by_kind_and_status(token):
    CalculationRun.objects.create(kind="risk.run", status=CalculationRun.Status.SUCCEEDED)
    CalculationRun.objects.create(kind="risk.run", status=CalculationRun.Status.SUCCEEDED)
    CalculationRun.objects.create(kind="risk.run", status=CalculationRun.Status.FAILED)
    CalculationRun.objects.create(kind="tca.run")

    samples = _samples(Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content)

    assert samples[("vigil_calculation_runs", (("kind", "risk.run"), ("status", "succeeded")))] == 2
    assert samples[("vigil_calculation_runs", (("kind", "risk.run"), ("status", "failed")))] == 1
    assert samples[("vigil_calculation_runs", (("kind", "tca.run"), ("status", "queued")))] == 1
    assert samples[("vigil_metrics_collector_up", (("collector", "calculation_runs"),))] == 1


def test_outbox_pending_is_reported_exactly_when_the_outbox_model_exists(token):
    samples = _samples(Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content)

    model = metrics.outbox_model()
    if model is None:
        assert ("vigil_outbox_pending_messages", ()) not in samples
    else:
        pending = model._default_manager.filter(dispatched_at__isnull=True).count()
        assert samples[("vigil_outbox_pending_messages", ())] == pending


def test_given_no_broker_then_no_queue_lengths(token):
    samples = _samples(Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content)
    assert not [k for k in samples if k[0] == "vigil_celery_queue_length"]


def test_queue_keys_cover_every_priority_list():
    # kombu's Redis transport keeps priorities 0, 3, 6, 9 in "<queue>", "<queue>\x06\x163", ...
    assert metrics.queue_keys("risk") == ["risk", "risk\x06\x163", "risk\x06\x166", "risk\x06\x169"]
