"""Reviewers of the surveillance workflow on the shared ``desk``: two analysts, two supervisors, an auditor."""

from __future__ import annotations

import pytest

from core.roles import Role


@pytest.fixture
def analyst(make_user):
    return make_user(Role.COMPLIANCE_ANALYST, username="analyst")


@pytest.fixture
def analyst2(make_user):
    return make_user(Role.COMPLIANCE_ANALYST, username="analyst2")


@pytest.fixture
def supervisor(make_user):
    return make_user(Role.COMPLIANCE_SUPERVISOR, username="supervisor")


@pytest.fixture
def supervisor2(make_user):
    return make_user(Role.COMPLIANCE_SUPERVISOR, username="supervisor2")


@pytest.fixture
def auditor(make_user):
    return make_user(Role.AUDITOR, username="auditor")
