"""Idempotency when the connection dies at COMMIT: the client cannot tell whether its batch was
written, and a retry with the same Idempotency-Key must replay it or write it, never twice.

The batch's rows, its audit event and its idempotency record are written in one transaction
(core/ingest/pipeline.py, ``ingest_request``), so either all three are committed or none is:
- COMMIT reached the server but the reply was lost: the request answers 503; the retry finds
  the record and replays the stored answer (Idempotent-Replayed: true), writing nothing;
- COMMIT never reached it: the transaction is rolled back; the retry writes the batch.

The database adapter's commit is wrapped (really committing, or not, then raising the
OperationalError a dropped connection raises), so rows are really committed: ``transaction=True``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import OperationalError, connections

from core.errors import DATABASE_RETRY_AFTER_S
from core.models import IdempotencyRecord
from portfolios import models as m
from tests.portfolios.api.conftest import ingest_events, post_rows, trade_row

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ROWS = [trade_row(trade_id=f"C{i}") for i in range(50)]


def fail_next_commit(monkeypatch: pytest.MonkeyPatch, *, committed: bool) -> list[int]:
    """Make the next COMMIT raise as a dropped connection does, after (``committed``) or instead
    of sending it. Returns a list that records the failed commit."""
    wrapper = connections["default"]
    real_commit: Callable[[], Any] = wrapper._commit
    failed: list[int] = []

    def commit() -> None:
        if failed:
            real_commit()
            return
        failed.append(1)
        if committed:
            real_commit()
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(wrapper, "_commit", commit)
    return failed


def _state() -> tuple[int, int, int, int]:
    return (
        m.Trade.objects.count(),
        m.Trade.objects.values("trade_id").distinct().count(),
        ingest_events(),
        IdempotencyRecord.objects.count(),
    )


def test_given_commit_done_but_reply_lost_when_retried_with_same_key_then_replayed_not_duplicated(
    oms, world, monkeypatch
):
    failed = fail_next_commit(monkeypatch, committed=True)

    first = post_rows(oms, "trades", ROWS, key="lost-ack")

    # Then the client sees a 503 with Retry-After, although the batch was committed
    assert failed == [1]
    assert first.status_code == 503, first.content
    assert first["Retry-After"] == str(DATABASE_RETRY_AFTER_S)
    assert _state() == (50, 50, 1, 1)

    retry = post_rows(oms, "trades", ROWS, key="lost-ack")

    # Then the retry replays the stored answer of the committed batch and writes nothing
    assert retry.status_code == 201, retry.content
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json()["created"] == 50
    assert retry.json()["existing"] == 0
    assert _state() == (50, 50, 1, 1)

    # ... and without a key the natural key (trade_id) still protects the table: a no-op re-send
    resend = post_rows(oms, "trades", ROWS)
    assert resend.status_code == 200, resend.content
    assert (resend.json()["created"], resend.json()["existing"]) == (0, 50)
    assert m.Trade.objects.count() == 50


def test_given_commit_never_reached_the_server_when_retried_with_same_key_then_written_once(oms, world, monkeypatch):
    failed = fail_next_commit(monkeypatch, committed=False)

    first = post_rows(oms, "trades", ROWS, key="no-commit")

    assert failed == [1]
    assert first.status_code == 503, first.content
    assert _state() == (0, 0, 0, 0)  # rolled back: rows, audit event and record alike

    retry = post_rows(oms, "trades", ROWS, key="no-commit")

    # Then the retry is a first attempt: written once, not a replay
    assert retry.status_code == 201, retry.content
    assert "Idempotent-Replayed" not in retry
    assert retry.json()["created"] == 50
    assert _state() == (50, 50, 1, 1)
