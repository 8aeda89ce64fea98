"""Pipeline corner cases below the HTTP layer."""

from __future__ import annotations

import pytest
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


def test_given_a_failing_follow_up_then_the_committed_batch_still_answers_201(
    oms, desk, monkeypatch, django_capture_on_commit_callbacks
):
    # Given a follow-up that fails after commit (e.g. the broker is down)
    from core.ingest import pipeline

    def broken(created_ids: list[int], user_id: int | None) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setitem(pipeline._FOLLOWUPS, "desks", [broken])
    # When a batch is posted, Then the reply is the batch's, and the rows are there
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = oms.post(
            "/api/v1/desks", data=b'{"rows": [{"code": "D1", "name": "d"}]}', content_type="application/json"
        )
    assert response.status_code == 201, response.content
    assert len(callbacks) == 1
