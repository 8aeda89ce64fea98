"""Appends from several connections at once still form one unbroken chain."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from audit.models import AuditEvent
from audit.services import audit_chain_verify, audit_record

WRITERS = 4
EVENTS_PER_WRITER = 25


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_given_concurrent_writers_on_separate_connections_then_the_chain_does_not_fork():
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            start.wait()
            for n in range(EVENTS_PER_WRITER):
                # Half inside a longer transaction (like a service), half in autocommit.
                if n % 2:
                    with transaction.atomic():
                        audit_record(action="test.concurrent", parameters={"writer": writer, "n": n})
                else:
                    audit_record(action="test.concurrent", parameters={"writer": writer, "n": n})
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection; do not leak it

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    total = WRITERS * EVENTS_PER_WRITER
    assert AuditEvent.objects.count() == total
    assert AuditEvent.objects.values("prev_hash").distinct().count() == total  # no two rows share a parent
    assert audit_chain_verify() == (total, None)
    writers_seen = {p["writer"] for p in AuditEvent.objects.values_list("parameters", flat=True)}
    assert writers_seen == set(range(WRITERS))
