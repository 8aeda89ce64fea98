"""Given the database connection dies under a request (PostgreSQL restarted, failed over, the
network dropped), then the API answers 503 in its error shape and pages a plain 503 page, both
with Retry-After, never a 500; and the next request reconnects by itself.

The connection is really killed: a second session terminates this one's backend with
``pg_terminate_backend``, as a restart does (the test database must be committed to, hence
``transaction=True``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import close_old_connections, connection
from django.test import Client

from core.errors import DATABASE_RETRY_AFTER_S
from core.roles import Role
from portfolios.models import Instrument
from tests.portfolios.api.conftest import second_connection

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@contextmanager
def dead_connection() -> Iterator[None]:
    """Terminate this process's database session from another one, as a server restart does;
    on the way out drop the dead connection, as Django does at the end of every request."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with second_connection() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    try:
        yield
    finally:
        close_old_connections()


def test_given_dead_connection_when_api_request_then_503_with_retry_after_then_recovers(oms_user, api_client_for):
    oms = api_client_for(oms_user)

    # When the OMS client reads trades on the dead connection
    with dead_connection():
        response = oms.get("/api/v1/trades")

    # Then 503 in the API's error shape, with Retry-After
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == str(DATABASE_RETRY_AFTER_S)
    assert response.json()["error"]["code"] == "database_unavailable"

    # ... and once Django has dropped the broken connection (end of request), the next request works
    assert oms.get("/api/v1/trades").status_code == 200


def test_given_dead_connection_when_api_ingestion_then_503_and_nothing_written(oms_user, api_client_for):
    oms = api_client_for(oms_user)
    assert oms.get("/api/v1/instruments").status_code == 200  # the key is verified (and memoised)

    with dead_connection():
        response = oms.post(
            "/api/v1/instruments",
            data={"rows": [{"symbol": "DEAD", "name": "Dead Corp", "kind": "equity"}]},
            format="json",
            HTTP_IDEMPOTENCY_KEY="dead-1",
        )

    assert response.status_code == 503, response.content
    assert response["Retry-After"] == str(DATABASE_RETRY_AFTER_S)
    assert not Instrument.objects.filter(symbol="DEAD").exists()


def test_given_dead_connection_when_page_requested_then_plain_503_page_with_retry_after(make_user):
    client = Client(raise_request_exception=False)
    client.force_login(make_user(Role.RISK_OFFICER))

    # When a signed-in user opens the home page (the session is read from the dead connection)
    with dead_connection():
        response = client.get("/")

    # Then a plain 503 page (not the layout, whose context needs the database) with Retry-After
    assert response.status_code == 503
    assert response["Retry-After"] == str(DATABASE_RETRY_AFTER_S)
    body = response.content.decode()
    assert "Briefly unavailable" in body
    assert "<nav" not in body


@pytest.mark.django_db  # nothing is killed: the usual rolled-back test transaction will do
def test_given_other_server_error_on_a_page_then_still_a_500(make_user, monkeypatch):
    # Given a page whose code fails for a reason other than the database
    def broken(user):
        raise RuntimeError("a bug")

    monkeypatch.setattr("core.views.home_counts", broken)
    client = Client(raise_request_exception=False)
    client.force_login(make_user(Role.RISK_OFFICER))

    response = client.get("/")

    assert response.status_code == 500
    assert "Retry-After" not in response
