"""Browser authentication: lockout after repeated failures, idle timeout, strong passwords."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from core.roles import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR="10.1.2.3")


def test_given_five_failures_when_the_right_password_follows_then_the_account_stays_locked(make_user, settings):
    make_user(Role.RISK_OFFICER, username="rita")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert _login(client, "rita", "wrong-password-123").status_code in {200, 429}
    locked = _login(client, "rita", PASSWORD)
    assert locked.status_code == 429
    assert b"Too many failed log-ins" in locked.content
    assert "_auth_user_id" not in client.session


def test_given_fewer_failures_than_the_limit_then_the_right_password_logs_in(make_user, settings):
    make_user(Role.RISK_OFFICER, username="rita")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "rita", "wrong-password-123")
    response = _login(client, "rita", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"


def test_given_an_idle_session_past_its_age_then_the_next_request_goes_to_login(make_user, settings):
    make_user(Role.RISK_OFFICER, username="rita")
    client = Client()
    assert _login(client, "rita", PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    # Sessions are saved on every request with an age of SESSION_IDLE_SECONDS, so inactivity
    # longer than that expires them; simulate the wait by ageing the stored session.
    assert settings.SESSION_SAVE_EVERY_REQUEST is True and settings.SESSION_COOKIE_AGE == 30 * 60
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("weak", ["short1!", "password1234", "123456789012"])
def test_weak_passwords_are_refused(make_user, weak):
    user = make_user(Role.RISK_OFFICER, username="rita")
    with pytest.raises(ValidationError):
        validate_password(weak, user=user)


def test_a_long_unusual_password_is_accepted(make_user):
    validate_password("Correct-Horse-Battery-9", user=make_user(Role.RISK_OFFICER, username="rita"))


def test_behind_one_trusted_proxy_the_audited_ip_is_the_one_the_proxy_saw(make_user, settings):
    from audit.models import AuditEvent

    settings.PROXY_COUNT = 1
    make_user(Role.RISK_OFFICER, username="rita")
    client = Client()
    # The client forged the first hop; the proxy appended the real address.
    client.post(
        "/accounts/login/",
        {"username": "rita", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7",
        REMOTE_ADDR="10.0.0.2",
    )
    assert AuditEvent.objects.get(action="auth.login").client_ip == "203.0.113.7"


def test_without_proxies_a_forwarded_header_is_ignored(make_user):
    from audit.models import AuditEvent

    make_user(Role.RISK_OFFICER, username="rita")
    Client().post(
        "/accounts/login/",
        {"username": "rita", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="6.6.6.6",
        REMOTE_ADDR="10.0.0.2",
    )
    assert AuditEvent.objects.get(action="auth.login").client_ip == "10.0.0.2"


def test_given_a_locked_account_when_the_cool_off_has_passed_then_the_right_password_logs_in(make_user, settings):
    from axes.models import AccessAttempt

    from audit.models import AuditEvent

    # Given an account locked by AXES_FAILURE_LIMIT failures from one address
    make_user(Role.RISK_OFFICER, username="rita")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "rita", "wrong-password-123")

    # When the right password comes during the lockout, then it is refused and audited as locked out
    assert _login(client, "rita", PASSWORD).status_code == 429
    last = AuditEvent.objects.filter(action="auth.login_failed").order_by("-id").first()
    assert last.parameters == {"username": "rita", "locked_out": True}
    assert not AuditEvent.objects.filter(action="auth.login").exists()

    # When AXES_COOLOFF_MINUTES (15) have passed since the failures (simulated by ageing them),
    # then the right password logs in again and the lockout is cleared
    assert settings.AXES_COOLOFF_TIME == 0.25  # hours: 15 minutes, docs/security.md
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=1))
    response = _login(client, "rita", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    assert AuditEvent.objects.filter(action="auth.login", object_repr="rita").count() == 1


def test_given_a_read_only_role_when_writing_then_403_and_access_denied_is_audited_for_page_and_api(
    make_user, api_client_for
):
    from audit.models import AuditEvent

    # Given an auditor (read-only everywhere), when they post to a page and to the API
    auditor = make_user(Role.AUDITOR)
    browser = Client()
    browser.force_login(auditor)
    page = browser.post("/risk/run-all/")
    api = api_client_for(auditor).post("/api/v1/risk/runs", {"portfolio": "ANY"}, format="json")

    # Then both are refused and each refusal is in the audit trail with the method and path
    assert (page.status_code, api.status_code) == (403, 403)
    denied = AuditEvent.objects.filter(action="access.denied", actor_name="auditor").order_by("id")
    assert [(e.object_id, e.parameters["method"]) for e in denied] == [
        ("/risk/run-all/", "POST"),
        ("/api/v1/risk/runs", "POST"),
    ]
