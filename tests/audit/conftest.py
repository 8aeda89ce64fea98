"""Fixtures of the audit tests: an auditor with a browser session, and a way to tamper."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client

from core.roles import Role


@pytest.fixture
def auditor(make_user):
    return make_user(Role.AUDITOR, username="audrey")


@pytest.fixture
def auditor_client(auditor) -> Client:
    client = Client()
    client.force_login(auditor)
    return client


@contextmanager
def trigger_bypassed() -> Iterator[None]:
    """Let this connection UPDATE/DELETE audit rows, as a database superuser could.

    ``session_replication_role = replica`` skips ordinary triggers, which is how someone
    with superuser rights could tamper with the table; the hash chain must still tell.
    """
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute("SET session_replication_role = DEFAULT")


def tamper(sql: str, params: list[object]) -> None:
    """Run one statement against the audit table with the append-only trigger bypassed."""
    with trigger_bypassed(), connection.cursor() as cur:
        cur.execute(sql, params)
