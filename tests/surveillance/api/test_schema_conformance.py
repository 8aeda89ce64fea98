"""Defects the schema fuzz test found in the surveillance API (tests/core/test_schema_fuzz.py).

- An open alert's ``outcome`` and ``proposed_outcome`` are "" (none yet), but the schema's enum
  did not allow "": DRF drops ``allow_blank`` from read-only model fields.
- Comments of an alert that does not exist are a 404 the schema did not document.
- A sweep over a window at the calendar's ends (until 9999-12-31, or year 1) was accepted with a
  202, then its run failed on an OverflowError (and was retried): now a 400 naming the field.
"""

from __future__ import annotations

import pytest

from core.models import CalculationRun
from tests.factories import AccountFactory, AlertFactory
from tests.openapi import assert_matches_schema

pytestmark = pytest.mark.django_db

BASE = "/api/v1/surveillance"


@pytest.fixture
def api(analyst, api_client_for):
    return api_client_for(analyst)


def test_given_an_open_alert_when_read_then_no_outcome_yet_as_the_schema_says(api, desk):
    alert = AlertFactory(account=AccountFactory(desk=desk))

    listed = api.get(f"{BASE}/alerts/")
    detail = api.get(f"{BASE}/alerts/{alert.pk}/")

    assert listed.json()["results"][0]["outcome"] == ""
    assert detail.json()["proposed_outcome"] == ""
    assert_matches_schema(listed, "GET", f"{BASE}/alerts/")
    assert_matches_schema(detail, "GET", f"{BASE}/alerts/{{id}}/", id=alert.pk)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_given_no_such_alert_when_asking_for_its_comments_then_a_documented_404(api, method):
    path = f"{BASE}/alerts/{{id}}/comments/"

    response = api.generic(method, path.format(id=987654), '{"body": "note"}', content_type="application/json")

    assert response.status_code == 404
    assert_matches_schema(response, method, path, id=987654)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"until": "9999-12-31T00:00:00Z"}, "until"),
        ({"since": "9999-12-30T00:00:00Z", "until": "9999-12-31T00:00:00Z"}, "until"),
        ({"since": "0001-01-01T00:00:00Z", "until": "0001-01-02T00:00:00Z"}, "until"),
        ({"since": "1899-12-31T00:00:00Z", "until": "1900-01-02T00:00:00Z"}, "since"),
    ],
)
def test_given_a_sweep_window_at_the_calendars_ends_then_400_and_no_run(
    supervisor, api_client_for, body, field, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(supervisor).post(f"{BASE}/runs/", body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == {field: ["Must be between the years 1900 and 2200."]}
    assert not CalculationRun.objects.exists()
    assert_matches_schema(response, "POST", f"{BASE}/runs/")
