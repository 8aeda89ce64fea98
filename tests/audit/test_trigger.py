"""The PostgreSQL trigger of migration 0002 refuses UPDATE and DELETE on audit rows."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from audit.services import audit_chain_verify, audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    return audit_record(action="test.protected", parameters={"limit": 1})


def test_given_an_audit_row_when_updated_through_the_orm_then_the_database_refuses(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="test.forged")

    assert AuditEvent.objects.get(pk=event.pk).action == "test.protected"


def test_given_an_audit_row_when_deleted_through_the_orm_then_the_database_refuses(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event.delete()

    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_auditevent SET parameters = '{}' WHERE id = %s", "DELETE FROM audit_auditevent WHERE id = %s"],
)
def test_given_an_audit_row_when_changed_in_raw_sql_then_the_database_refuses(event, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, [event.pk])

    assert audit_chain_verify() == (1, None)


def test_inserts_still_work_after_a_refused_change(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="x")

    audit_record(action="test.after")
    assert audit_chain_verify() == (2, None)
