"""Shared fixtures: a user per role on one desk, API clients authenticated by API key."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from core.roles import Role
from core.services import api_key_create
from tests.factories import DeskFactory, UserFactory

PASSWORD = "Correct-Horse-Battery-9"


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
