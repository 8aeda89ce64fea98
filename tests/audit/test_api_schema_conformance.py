"""Defects the schema fuzz test found in the audit API (tests/core/test_schema_fuzz.py).

- ``occurred_before``/``occurred_after`` with an offset PostgreSQL cannot store (beyond ±15:59)
  was a 500; the time is now compared in UTC. A time with no UTC equivalent is a 400.
- An audit event that does not exist was documented as a 404 without a body; it has the API's
  error body.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from audit.services import audit_record
from tests.openapi import assert_matches_schema

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit-events/"
MICRO = timedelta(microseconds=1)


@pytest.fixture
def api(auditor, api_client_for):
    return api_client_for(auditor)


def _at_minus_16_57(instant: datetime) -> str:
    """The instant as ISO 8601 at offset -16:57, past PostgreSQL's ±15:59."""
    wall = instant.astimezone(UTC) - timedelta(hours=16, minutes=57)
    return f"{wall.replace(tzinfo=None).isoformat()}-16:57"


def test_given_an_offset_beyond_what_postgres_stores_then_the_filter_compares_in_utc(api):
    event = audit_record(action="test.alpha")

    at = api.get(URL, {"action": "test.alpha", "occurred_before": _at_minus_16_57(event.occurred_at)})
    after = api.get(URL, {"action": "test.alpha", "occurred_before": _at_minus_16_57(event.occurred_at + MICRO)})

    assert at.status_code == 200, at.content
    assert at.json()["results"] == []  # occurred_before is exclusive (audit/filters.py)
    assert [e["id"] for e in after.json()["results"]] == [event.pk]
    assert_matches_schema(after, "GET", URL)


def test_given_a_time_without_a_utc_equivalent_then_400_naming_the_filter(api):
    response = api.get(URL, {"occurred_after": "0001-01-01T00:00:00+05:00"})

    assert response.status_code == 400
    assert "occurred_after" in response.json()["error"]["fields"]
    assert_matches_schema(response, "GET", URL)


def test_given_no_such_event_then_a_documented_404_with_the_error_body(api):
    response = api.get(f"{URL}987654/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert_matches_schema(response, "GET", f"{URL}{{id}}/", id=987654)
