"""GET /api/v1/audit-events: the viewer's filters, cursor pages, auditors and superusers only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from audit.services import audit_record
from core.roles import Role

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit-events"


@pytest.fixture
def api(auditor, api_client_for) -> APIClient:
    return api_client_for(auditor)


@pytest.fixture
def events(make_user):
    rita = make_user(Role.RISK_OFFICER, username="rita")
    return [
        audit_record(action="test.alpha", actor=rita, object_type="portfolios.portfolio", object_id=7),
        audit_record(action="test.beta", after={"nav": Decimal("1.10")}),
        audit_record(action="other.gamma", actor=rita, object_type="portfolios.trade", object_id=42),
    ]


def _actions(response) -> list[str]:
    return [e["action"] for e in response.json()["results"] if not e["action"].startswith("api_key.")]


def test_given_an_auditor_then_events_are_listed_newest_first_with_every_field(api, events):
    response = api.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"next", "previous", "results"}
    assert _actions(response)[:3] == ["other.gamma", "test.beta", "test.alpha"]
    beta = next(e for e in body["results"] if e["action"] == "test.beta")
    assert beta["after"] == {"nav": "1.10"}
    assert beta["hash"] == events[1].hash and beta["prev_hash"] == events[0].hash
    assert {"inputs_hash", "code_version", "explanation", "parameters", "request_id", "client_ip"} <= set(beta)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"actor": "rita"}, ["other.gamma", "test.alpha"]),
        ({"action": "test.*"}, ["test.beta", "test.alpha"]),
        ({"object_type": "portfolios.trade", "object_id": "42"}, ["other.gamma"]),
    ],
)
def test_the_api_uses_the_same_filters_as_the_page(api, events, query, expected):
    assert _actions(api.get(URL, query)) == expected


def test_the_time_range_filter_takes_iso_times_with_offsets(api, events):
    at = events[1].occurred_at
    response = api.get(
        URL, {"occurred_after": at.isoformat(), "occurred_before": at.isoformat().replace("+00:00", "Z")}
    )
    assert _actions(response) == []  # [at, at) is empty
    response = api.get(URL, {"occurred_after": at.isoformat(), "action": "test.beta"})
    assert _actions(response) == ["test.beta"]


def test_pages_follow_the_cursor(api):
    for n in range(5):
        audit_record(action="test.page", parameters={"n": n})

    first = api.get(URL, {"action": "test.page", "page_size": 2}).json()
    second = api.get(first["next"]).json()

    assert [e["parameters"]["n"] for e in first["results"]] == [4, 3]
    assert [e["parameters"]["n"] for e in second["results"]] == [2, 1]


def test_one_event_can_be_read_by_id(api, events):
    response = api.get(f"{URL}/{events[0].pk}")

    assert response.status_code == 200
    assert response.json()["object_id"] == "7"


def test_a_superuser_may_read(make_user, api_client_for, events):
    root = make_user(None, username="root", is_superuser=True)

    assert api_client_for(root).get(URL).status_code == 200


def test_given_no_credentials_then_401_in_the_error_shape():
    response = APIClient().get(URL)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("role", [Role.OMS_CLIENT, Role.RISK_OFFICER, Role.COMPLIANCE_SUPERVISOR])
def test_given_another_role_then_403_and_the_attempt_is_recorded(make_user, api_client_for, role):
    response = api_client_for(make_user(role)).get(URL)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert AuditEvent.objects.filter(action="access.denied", actor_name=role.value).exists()


def test_given_an_invalid_filter_then_400_naming_it(api):
    response = api.get(URL, {"occurred_after": "soon"})

    assert response.status_code == 400
    assert "occurred_after" in response.json()["error"]["fields"]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_api_is_read_only(api, events, method):
    target = URL if method == "post" else f"{URL}/{events[0].pk}"

    assert getattr(api, method)(target, {}, format="json").status_code in {403, 405}
    assert AuditEvent.objects.filter(pk=events[0].pk, action="test.alpha").exists()
