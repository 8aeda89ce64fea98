"""Changes made in the admin are audited with before and after values."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from audit.models import AuditEvent
from core.roles import Role
from tests.factories import DeskFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    return client


def test_granting_a_role_in_the_admin_is_audited(admin_client):
    user = UserFactory(username="newbie")
    group = Group.objects.get_or_create(name=Role.RISK_OFFICER.value)[0]
    response = admin_client.post(
        f"/admin/auth/user/{user.pk}/change/",
        {
            "username": "newbie",
            "is_active": "on",
            "groups": [group.pk],
            "date_joined_0": "2022-12-28",
            "date_joined_1": "10:00:00",
            "initial-date_joined_0": "2022-12-28",
            "initial-date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    event = AuditEvent.objects.get(action="admin.change", object_type="auth.user")
    assert event.before["groups"] == [] and event.after["groups"] == [group.pk]
    assert "password" not in event.after
    assert event.actor_name == "root"


def test_editing_and_deleting_a_desk_is_audited(admin_client):
    desk = DeskFactory(code="D1", name="Old")
    assert (
        admin_client.post(f"/admin/portfolios/desk/{desk.pk}/change/", {"code": "D1", "name": "New"}).status_code == 302
    )
    change = AuditEvent.objects.get(action="admin.change", object_type="portfolios.desk")
    assert (change.before["name"], change.after["name"]) == ("Old", "New")
    assert admin_client.post(f"/admin/portfolios/desk/{desk.pk}/delete/", {"post": "yes"}).status_code == 302
    assert AuditEvent.objects.filter(action="admin.delete", object_id=str(desk.pk)).exists()
