"""Logins, failed logins and logouts leave audit events; a password never does."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from core.roles import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(make_user):
    return make_user(Role.RISK_OFFICER, username="rita")


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_given_the_right_password_when_logging_in_then_a_login_event_names_the_user(officer):
    response = Client().post(reverse("login"), {"username": "rita", "password": PASSWORD})

    assert response.status_code == 302
    [event] = _events("auth.login")
    assert (event.actor_id, event.actor_name) == (officer.pk, "rita")
    assert (event.object_type, event.object_id, event.object_repr) == ("auth.user", str(officer.pk), "rita")
    assert event.request_id and event.client_ip == "127.0.0.1"


def test_given_a_wrong_password_when_logging_in_then_a_failed_login_records_the_username_only(officer):
    wrong = "Wrong-Password-Secret-42"
    response = Client().post(reverse("login"), {"username": "rita", "password": wrong})

    assert response.status_code == 200  # the form again, with an error
    [event] = _events("auth.login_failed")
    assert event.actor_id is None
    assert event.actor_name == "anonymous"
    assert event.parameters == {"username": "rita", "locked_out": False}
    assert event.object_id == str(officer.pk)
    stored = json.dumps([getattr(event, f.attname) for f in AuditEvent._meta.fields], default=str)
    assert wrong not in stored
    assert "password" not in stored.lower()
    assert "********" not in stored


def test_given_an_unknown_username_when_logging_in_then_the_attempt_is_recorded_without_an_object_id(db):
    Client().post(reverse("login"), {"username": "mallory", "password": "whatever-it-is"})

    [event] = _events("auth.login_failed")
    assert event.parameters["username"] == "mallory"
    assert event.object_id == ""
    assert event.object_repr == "mallory"


def test_given_repeated_failures_when_the_account_locks_then_the_event_says_locked_out(officer, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        client.post(reverse("login"), {"username": "rita", "password": "nope-nope-nope"})

    flags = [e.parameters["locked_out"] for e in _events("auth.login_failed")]
    assert flags[0] is False
    assert flags[-1] is True


def test_given_a_logged_in_user_when_logging_out_then_a_logout_event_names_the_user(officer):
    client = Client()
    client.post(reverse("login"), {"username": "rita", "password": PASSWORD})

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    [event] = _events("auth.logout")
    assert (event.actor_id, event.actor_name) == (officer.pk, "rita")


def test_given_an_anonymous_session_when_logging_out_then_nothing_is_recorded(db):
    Client().post(reverse("logout"))

    assert _events("auth.logout") == []
