"""Atomicity: one bad row fails the whole batch, names its index and field, and writes nothing —
whether validation, a hook or the database itself refuses it."""

from __future__ import annotations

import contextlib
import threading
import time

import psycopg
import pytest
from django.db import connection

from core.models import IdempotencyRecord
from portfolios import models as m
from tests.portfolios.api.conftest import ingest_events, post_rows, second_connection, trade_row

pytestmark = pytest.mark.django_db


def test_given_large_batch_with_one_bad_row_then_nothing_written_and_row_reported(oms, world):
    rows = [trade_row(trade_id=f"T{i:05d}", price=f"{100 + i / 100:.2f}") for i in range(2000)]
    rows[1234]["quantity"] = "-3"

    response = post_rows(oms, "trades", rows, key="big")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["invalid_rows"] == 1
    assert error["rows"] == [{"index": 1234, "errors": {"quantity": ["Must be greater than 0."]}}]
    assert "nothing was written" in error["message"]
    assert m.Trade.objects.count() == 0
    assert ingest_events() == 0
    assert IdempotencyRecord.objects.count() == 0


def test_given_same_batch_fixed_then_all_rows_written_once(oms, world):
    rows = [trade_row(trade_id=f"T{i:05d}") for i in range(2000)]

    response = post_rows(oms, "trades", rows)

    assert response.status_code == 201
    assert response.json()["created"] == 2000
    assert m.Trade.objects.count() == 2000


def test_given_hook_refuses_a_row_after_insert_then_inserted_rows_are_rolled_back(oms, world):
    """``linked_accounts`` are checked after the insert; a bad link still leaves nothing behind."""
    rows = [
        {"code": "ACC-A", "kind": "client", "owner": "BO1", "desk": "EQ", "linked_accounts": ["ACC1"]},
        {"code": "ACC-B", "kind": "client", "owner": "BO1", "desk": "EQ", "linked_accounts": ["ACC-MISSING"]},
    ]
    before = m.Account.objects.count()

    response = post_rows(oms, "accounts", rows)

    assert response.status_code == 400
    assert response.json()["error"]["rows"] == [
        {"index": 1, "errors": {"linked_accounts": ["Unknown account 'ACC-MISSING'."]}}
    ]
    assert m.Account.objects.count() == before
    assert not world.account.linked_accounts.exists()
    assert ingest_events() == 0


def test_given_database_refuses_a_row_validation_missed_then_400_naming_constraint_and_nothing_written(oms, world):
    """A rule only the database knows (here: a second unique column) fails the batch as a 400."""
    m.Instrument.objects.filter(symbol="MSFT").update(isin="US5949181045")
    rows = [
        {"symbol": "NEW1", "kind": "equity"},
        {"symbol": "NEW2", "kind": "equity", "isin": "US5949181045"},
    ]

    response = post_rows(oms, "instruments", rows)

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert "isin" in error["message"]
    assert "nothing was written" in error["message"]
    assert not m.Instrument.objects.filter(symbol__in=["NEW1", "NEW2"]).exists()
    assert ingest_events() == 0


def test_given_failed_batch_then_connection_is_usable_and_no_staging_table_left(oms, world):
    m.Instrument.objects.filter(symbol="MSFT").update(isin="US0000000000")
    assert post_rows(oms, "instruments", [{"symbol": "Y", "kind": "equity", "isin": "US0000000000"}]).status_code == 400

    assert post_rows(oms, "trades", [trade_row()]).status_code == 201
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'stage_%%' AND relpersistence = 't'")
        assert cur.fetchone()[0] == 0


def test_given_concurrent_batch_deadlocks_with_this_one_then_409_retry_and_nothing_written(oms):
    """Another session holds desk B and then waits for desk A, which this batch inserts first.

    PostgreSQL checks for a deadlock once, deadlock_timeout after a session starts waiting. This
    session starts waiting first, but its check (after 0.8 s) comes after the cycle closes (0.3 s)
    and long before the other session's (10 s): it is the one aborted. The client gets a 409 to
    retry, not a 500, and nothing is written.
    """
    with connection.cursor() as cur:
        cur.execute("SET deadlock_timeout = '800ms'")
    other = second_connection()
    other.execute("SET deadlock_timeout = '10s'")
    other.execute("INSERT INTO portfolios_desk (code, name) VALUES ('B', 'held by the other session')")

    def take_a() -> None:
        time.sleep(0.3)  # after this batch has inserted A and is waiting for B
        with contextlib.suppress(psycopg.Error):
            other.execute("INSERT INTO portfolios_desk (code, name) VALUES ('A', 'other')")

    thread = threading.Thread(target=take_a)
    thread.start()
    try:
        response = post_rows(oms, "desks", [{"code": "A", "name": "a"}, {"code": "B", "name": "b"}])
    finally:
        thread.join(timeout=15)
        other.rollback()
        other.close()
        with connection.cursor() as cur:
            cur.execute("RESET deadlock_timeout")

    assert response.status_code == 409, response.content
    assert "Retry" in response.json()["error"]["message"]
    assert not m.Desk.objects.filter(code__in=["A", "B"]).exists()
    assert ingest_events() == 0
