"""API keys: only a hash is stored; revoked, expired, wrong or malformed keys get 401."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from core.errors import ValidationFailed
from core.models import ApiKey
from core.roles import Role
from core.services import api_key_authenticate, api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db

URL = "/api/v1/instruments"


def _client(raw: str, scheme: str = "Api-Key") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {raw}")
    return client


@pytest.fixture
def user(make_user):
    return make_user(Role.OMS_CLIENT)


def test_given_new_key_then_only_prefix_and_hash_are_stored_and_creation_is_audited(user):
    key, raw = api_key_create(user=user, name="oms")

    prefix, secret = raw.split(".", 1)
    key.refresh_from_db()
    assert key.prefix == prefix
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = " ".join(str(v) for v in ApiKey.objects.filter(pk=key.pk).values().get().values())
    assert secret not in stored
    assert len(secret) >= 40  # 256 random bits, url-safe
    assert AuditEvent.objects.filter(action="api_key.create", object_id=str(key.pk)).exists()
    assert secret not in str(list(AuditEvent.objects.values()))


def test_given_valid_key_then_authenticated_and_last_used_recorded(user):
    key, raw = api_key_create(user=user, name="oms")
    assert key.last_used_at is None

    response = _client(raw).get(URL)

    assert response.status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert timezone.now() - key.last_used_at < timedelta(seconds=30)


def test_given_recent_use_then_last_used_is_not_rewritten_on_every_request(user):
    key, raw = api_key_create(user=user, name="oms")
    recent = timezone.now() - timedelta(seconds=10)
    stale = timezone.now() - timedelta(minutes=5)

    ApiKey.objects.filter(pk=key.pk).update(last_used_at=recent)
    api_key_authenticate(raw_key=raw)
    key.refresh_from_db()
    assert key.last_used_at == recent

    ApiKey.objects.filter(pk=key.pk).update(last_used_at=stale)
    api_key_authenticate(raw_key=raw)
    key.refresh_from_db()
    assert key.last_used_at > stale


def test_given_revoked_key_then_401_and_revocation_audited(user):
    key, raw = api_key_create(user=user, name="oms")
    api_key_revoke(key=key, actor=user)

    response = _client(raw).get(URL)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Api-Key"
    assert AuditEvent.objects.filter(action="api_key.revoke", object_id=str(key.pk)).exists()


def test_given_expired_key_then_401(user):
    key, raw = api_key_create(user=user, name="oms", expires_in_days=1)
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert _client(raw).get(URL).status_code == 401
    key.refresh_from_db()
    assert key.last_used_at is None


def test_given_key_without_expiry_then_accepted(user):
    _, raw = api_key_create(user=user, name="oms", expires_in_days=None)

    assert _client(raw).get(URL).status_code == 200


def test_given_inactive_user_then_key_refused(user):
    _, raw = api_key_create(user=user, name="oms")
    user.is_active = False
    user.save()

    assert _client(raw).get(URL).status_code == 401


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw[:-1] + ("A" if raw[-1] != "A" else "B"),  # wrong secret
        lambda raw: "ffffffffffff." + raw.split(".", 1)[1],  # unknown prefix
        lambda raw: raw.split(".", 1)[0],  # prefix only
        lambda raw: "." + raw.split(".", 1)[1],  # secret only
        lambda raw: "x" * 17 + "." + raw.split(".", 1)[1],  # prefix too long
        lambda raw: "",
        lambda raw: "\u00e9t\u00e9.secret",  # latin-1 header text
        lambda raw: "ab\x00cd." + raw.split(".", 1)[1],  # NUL: PostgreSQL refuses it in text (was a 500)
    ],
    ids=["wrong-secret", "unknown-prefix", "no-secret", "no-prefix", "long-prefix", "empty", "non-ascii", "nul"],
)
def test_given_wrong_or_malformed_key_then_401(user, mangle):
    _, raw = api_key_create(user=user, name="oms")

    response = _client(mangle(raw)).get(URL)

    assert response.status_code == 401, response.content
    assert set(response.json()) == {"error"}


def test_given_another_scheme_or_no_header_then_not_authenticated(user):
    _, raw = api_key_create(user=user, name="oms")

    assert _client(raw, scheme="Bearer").get(URL).status_code == 401
    assert APIClient().get(URL).status_code == 401


def test_given_bad_parameters_then_key_is_not_created(user):
    with pytest.raises(ValidationFailed):
        api_key_create(user=user, name="  ")
    with pytest.raises(ValidationFailed):
        api_key_create(user=user, name="oms", expires_in_days=0)
    assert not ApiKey.objects.exists()


def test_a_verified_key_is_trusted_briefly_and_revocation_through_the_service_is_immediate(settings, oms_user):
    """Given the key cache on, when a key is verified twice, then the second time needs no query;
    revoking through the service drops it at once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core.services import api_key_authenticate, api_key_create, api_key_revoke

    settings.API_KEY_CACHE_SECONDS = 10
    key, raw = api_key_create(user=oms_user, name="memo")
    assert api_key_authenticate(raw_key=raw) is not None
    with CaptureQueriesContext(connection) as queries:
        assert api_key_authenticate(raw_key=raw) is not None
    assert len(queries) == 0
    api_key_revoke(key=key, actor=oms_user)
    assert api_key_authenticate(raw_key=raw) is None
