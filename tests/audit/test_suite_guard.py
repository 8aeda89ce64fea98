"""The audit-chain guard of the test suite (tests/conftest.py) sees a broken chain."""

from __future__ import annotations

import pytest

from audit.services import audit_record
from tests.audit.conftest import tamper
from tests.conftest import _audit_chain_break

pytestmark = pytest.mark.django_db


def test_given_an_intact_chain_then_the_guard_passes():
    audit_record(action="test.one")
    audit_record(action="test.two")

    assert _audit_chain_break() is None


@pytest.mark.audit_tamper
def test_given_an_altered_row_then_the_guard_names_it():
    first = audit_record(action="test.one")
    audit_record(action="test.two")

    tamper("UPDATE audit_auditevent SET action = 'test.forged' WHERE id = %s", [first.pk])

    assert _audit_chain_break() == (
        f"audit chain broken at event #{first.pk} after 0 intact rows: content does not match its hash (row altered)"
    )
