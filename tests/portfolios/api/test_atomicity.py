"""Atomicity: one bad row fails the whole batch, names its index and field, and writes nothing —
whether validation, a hook or the database itself refuses it."""

from __future__ import annotations

import pytest
from django.db import connection

from core.models import IdempotencyRecord
from portfolios import models as m
from tests.portfolios.api.conftest import ingest_events, post_rows, trade_row

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
