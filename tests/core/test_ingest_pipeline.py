"""Pipeline corner cases below the HTTP layer."""

from __future__ import annotations

import pytest
from celery import current_app
from django.db import transaction

from core.errors import ValidationFailed
from core.ingest.pipeline import validate_rows, write_batch
from portfolios.ingest import TRADES
from portfolios.models import Trade
from tests.factories import AccountFactory, InstrumentFactory

pytestmark = pytest.mark.django_db


def test_given_a_referenced_row_deleted_after_validation_then_the_batch_is_a_400_not_a_commit_error(oms_user, desk):
    # Given a valid batch, validated against an account that then disappears (a concurrent delete)
    account = AccountFactory(code="GONE", desk=desk)
    InstrumentFactory(symbol="AAPL")
    row = {
        "trade_id": "T-1",
        "account": "GONE",
        "instrument": "AAPL",
        "side": "buy",
        "price": 1,
        "quantity": 1,
        "ts": "2022-12-28T15:00:00Z",
    }
    batch = validate_rows(TRADES, oms_user, [row])
    account.delete()
    # When it is written, Then the deferred foreign key is checked inside the batch: a clear error
    with pytest.raises(ValidationFailed, match="database refused"), transaction.atomic():
        write_batch(batch, inputs_hash="x", idempotency_key=None)
    assert not Trade.objects.exists()


def test_given_the_broker_down_then_the_batch_answers_201_and_its_follow_up_waits_in_the_outbox(
    oms, desk, monkeypatch, django_capture_on_commit_callbacks
):
    # Given a follow-up for desk batches, and a broker that refuses every connection
    from kombu.exceptions import OperationalError

    from core import outbox
    from core.ingest import pipeline
    from core.models import OutboxMessage
    from portfolios.models import Desk

    def follow_up(created_ids: list[int], user_id: int | None) -> None:
        outbox.outbox_enqueue(task_name="core.tasks.idempotency_purge", args=[len(created_ids)])

    class DownBroker:
        def __enter__(self):
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

        def __exit__(self, *exc):
            return False

    monkeypatch.setitem(pipeline._FOLLOWUPS, "desks", [follow_up])
    monkeypatch.setattr(outbox, "_publisher", DownBroker)
    # a broker is configured (the relay publishes; the test stands in for the broker)
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    monkeypatch.setattr(outbox, "_prompt_paused_until", 0.0)
    # When a batch is posted
    with django_capture_on_commit_callbacks(execute=True):
        response = oms.post(
            "/api/v1/desks", data=b'{"rows": [{"code": "D1", "name": "d"}]}', content_type="application/json"
        )
    # Then the reply is the batch's, the rows are there, and the follow-up is pending with the error
    assert response.status_code == 201, response.content
    assert Desk.objects.filter(code="D1").exists()
    message = OutboxMessage.objects.get()
    assert message.dispatched_at is None and message.args == [1]
    assert message.attempts == 1 and "Connection refused" in message.last_error
