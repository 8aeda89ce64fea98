"""Shared fixtures: a user per role on one desk, API clients authenticated by API key.

Also the audit-chain guard: after every test that used the database, and once more before the
test database is dropped, the hash chain of the audit trail must verify (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from core.roles import Role
from core.services import api_key_create
from tests.factories import DeskFactory, UserFactory

PASSWORD = "Correct-Horse-Battery-9"


def _audit_chain_break() -> str | None:
    """Why the audit chain visible to this connection does not verify, or None.

    None too when the test may not use the database (pytest-django blocks it) or left its
    transaction failed: that transaction is rolled back with everything it wrote.
    """
    from django.db import InterfaceError, OperationalError, connection

    from audit.services import audit_chain_verify

    try:
        connection.ensure_connection()
    except RuntimeError:  # "Database access not allowed": a test without the database
        return None
    if connection.needs_rollback or _transaction_failed(connection):
        return None
    try:
        checked, broken = audit_chain_verify()
    except (OperationalError, InterfaceError):
        return None  # the test cut its own connection (database-down tests): nothing to read

    if broken is None:
        return None
    return f"audit chain broken at event #{broken.event_id} after {checked} intact rows: {broken.reason}"


def _transaction_failed(connection: Any) -> bool:
    from psycopg.pq import TransactionStatus

    raw = connection.connection
    return connection.vendor == "postgresql" and raw.info.transaction_status == TransactionStatus.INERROR


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that commits (``transactional_db``, ``live_server``) restores the migrated
    rows afterwards (serialized rollback).

    Otherwise the flush after it re-creates the role groups under new ids (post-migrate), and a
    later test with serialized rollback fails loading the originals (duplicate group name).
    The marker is put first among the test's own, so it wins over its ``django_db`` marks.
    """
    for item in items:
        names = getattr(item, "fixturenames", ())
        marker = item.get_closest_marker("django_db")
        commits = marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
        if "transactional_db" in names or "live_server" in names or commits:
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True), append=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fails a passing test whose audit events (and any committed before it) break the chain.

    Runs in the call phase, while the test's transaction is still open, so the events it wrote
    are visible. Costs one query plus one SHA-256 per visible row (a handful per test). Tests
    that alter audit rows on purpose are marked ``audit_tamper`` and skipped.
    """
    result = yield  # a failing test raises here and is reported as it is
    if item.get_closest_marker("audit_tamper") is None:
        reason = _audit_chain_break()
        if reason is not None:
            pytest.fail(reason, pytrace=False)
    return result


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """pytest-django's test database, plus a verification of the whole audit table at the end.

    The teardown runs after the last test and before the test database is dropped; a break
    (rows a worker or a session fixture committed outside any test's clean-up) errors the
    last test, so the run fails.
    """
    yield
    with django_db_blocker.unblock():
        reason = _audit_chain_break()
    if reason is not None:
        pytest.fail(f"at the end of the session: {reason}", pytrace=False)


@pytest.fixture
def desk(db):
    return DeskFactory(code="EQ", name="Equities")


@pytest.fixture
def other_desk(db):
    return DeskFactory(code="OTHER", name="Another desk")


@pytest.fixture
def make_user(db, desk):
    """make_user(role, desks=[desk]) -> a user with that role assigned to those desks."""

    def make(role: Role | None, *, desks=None, username: str | None = None, **kwargs):
        user = UserFactory(
            username=username or (role.value if role else "norole"), roles=[role] if role else [], **kwargs
        )
        for d in [desk] if desks is None else desks:
            d.members.add(user)
        return user

    return make


@pytest.fixture
def oms_user(make_user):
    return make_user(Role.OMS_CLIENT)


@pytest.fixture
def api_client_for():
    """api_client_for(user) -> an APIClient sending that user's fresh API key."""

    def make(user) -> APIClient:
        _, raw = api_key_create(user=user, name="test")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        return client

    return make


@pytest.fixture
def oms(oms_user, api_client_for) -> APIClient:
    return api_client_for(oms_user)
