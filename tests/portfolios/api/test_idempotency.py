"""Idempotency: replays, key reuse with another body, requests in flight, natural-key re-sends."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import pytest
from django.db import connection

from core.ingest import pipeline
from core.ingest.pipeline import _lock_id
from core.models import IdempotencyRecord
from core.roles import Role
from portfolios import models as m
from tests.portfolios.api.conftest import ingest_events, post_rows, second_connection, trade_row


def _counts() -> tuple[int, int, int]:
    return m.Trade.objects.count(), ingest_events(), IdempotencyRecord.objects.count()


@pytest.mark.django_db
def test_given_same_key_and_body_when_replayed_then_same_answer_and_nothing_written_twice(oms, world):
    rows = [trade_row(trade_id="T1"), trade_row(trade_id="T2")]
    first = post_rows(oms, "trades", rows, key="batch-1")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    after_first = _counts()

    replay = post_rows(oms, "trades", rows, key="batch-1")

    assert replay.status_code == first.status_code
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert _counts() == after_first == (2, 1, 1)


@pytest.mark.django_db
def test_given_key_with_trailing_slash_url_then_same_endpoint(oms, world):
    body = orjson.dumps({"rows": [trade_row()]})
    first = oms.post("/api/v1/trades", data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    replay = oms.post("/api/v1/trades/", data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")

    assert first.status_code == 201
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_given_same_key_and_other_body_then_422_and_nothing_written(oms, world):
    assert post_rows(oms, "trades", [trade_row(trade_id="T1")], key="batch-1").status_code == 201
    before = _counts()

    response = post_rows(oms, "trades", [trade_row(trade_id="T2")], key="batch-1")

    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert _counts() == before


@pytest.mark.django_db
def test_given_failed_request_then_key_is_free_for_the_corrected_batch(oms, world):
    bad = post_rows(oms, "trades", [trade_row(price="-1")], key="batch-1")
    assert bad.status_code == 400
    assert IdempotencyRecord.objects.count() == 0

    good = post_rows(oms, "trades", [trade_row()], key="batch-1")

    assert good.status_code == 201
    assert m.Trade.objects.count() == 1


@pytest.mark.django_db
def test_given_same_key_on_another_endpoint_or_by_another_client_then_independent(
    oms, world, make_user, api_client_for
):
    assert post_rows(oms, "trades", [trade_row()], key="k").status_code == 201
    other_client = api_client_for(make_user(Role.OMS_CLIENT, username="oms2"))

    on_orders = post_rows(
        oms,
        "orders",
        [
            {
                "client_order_id": "O9",
                "account": "ACC1",
                "instrument": "AAPL",
                "side": "buy",
                "order_type": "market",
                "quantity": 1,
                "arrival_ts": "2022-12-28T15:00:00Z",
            }
        ],
        key="k",
    )
    by_other = post_rows(other_client, "trades", [trade_row(trade_id="T9")], key="k")

    assert on_orders.status_code == 201, on_orders.content
    assert by_other.status_code == 201, by_other.content
    assert "Idempotent-Replayed" not in by_other


@pytest.mark.django_db
def test_given_natural_key_resent_without_key_then_200_with_existing_and_no_duplicate(oms, world):
    rows = [trade_row(trade_id="T1"), trade_row(trade_id="T2")]
    assert post_rows(oms, "trades", rows).json()["created"] == 2

    again = post_rows(oms, "trades", [*rows, trade_row(trade_id="T3")])
    resent = post_rows(oms, "trades", rows)

    assert again.status_code == 201
    assert again.json() | {"audit_event_id": 0} == {
        "entity": "trades",
        "received": 3,
        "created": 1,
        "existing": 2,
        "audit_event_id": 0,
    }
    assert resent.status_code == 200
    assert resent.json()["created"] == 0
    assert resent.json()["existing"] == 2
    assert m.Trade.objects.count() == 3


@pytest.mark.django_db
def test_given_key_in_flight_elsewhere_then_409_and_nothing_written(oms, oms_user, world):
    """Another session holding the key's advisory lock stands for a request still in flight."""
    with second_connection() as other:
        other.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_id(str(oms_user.pk), "/api/v1/trades", "k")])

        response = post_rows(oms, "trades", [trade_row()], key="k")

        assert response.status_code == 409, response.content
        assert response.json()["error"]["code"] == "conflict"
        assert m.Trade.objects.count() == 0
        other.rollback()  # the in-flight request ends (without storing a response)

    assert post_rows(oms, "trades", [trade_row()], key="k").status_code == 201


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_given_two_concurrent_requests_with_one_key_then_second_gets_409_and_first_is_replayable(
    oms, world, monkeypatch
):
    """Real concurrency: the first request is held inside its transaction while the second arrives."""
    entered, release = threading.Event(), threading.Event()
    real_validate = pipeline.validate_rows

    def slow_validate(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "first":
            entered.set()
            release.wait(timeout=10)
        return real_validate(*args, **kwargs)

    monkeypatch.setattr(pipeline, "validate_rows", slow_validate)
    rows = [trade_row()]
    results: dict[str, Any] = {}

    def first() -> None:
        try:
            results["first"] = post_rows(oms, "trades", rows, key="k")
        finally:
            connection.close()

    thread = threading.Thread(target=first, name="first")
    thread.start()
    try:
        assert entered.wait(timeout=10)
        second = post_rows(oms, "trades", rows, key="k")
    finally:
        release.set()
        thread.join(timeout=20)

    assert second.status_code == 409, second.content
    assert results["first"].status_code == 201
    replay = post_rows(oms, "trades", rows, key="k")
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert m.Trade.objects.count() == 1
