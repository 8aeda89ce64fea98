"""Defects the schema fuzz test found in the best execution API (tests/core/test_schema_fuzz.py).

- A report with ``?format=`` other than json or csv was DRF's bare 404 ("Not found"), though the
  schema lists the two formats: now a 400 naming ``format`` (core/api/negotiation.py).
- A cost model trained by nobody (seeded, or its user deleted) has ``trained_by`` null, but the
  schema said "string".
"""

from __future__ import annotations

import pytest

from core.roles import Role
from tests.factories import CostModelFactory
from tests.openapi import assert_matches_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst_api(make_user, api_client_for):
    return api_client_for(make_user(Role.COMPLIANCE_ANALYST))


@pytest.mark.parametrize(
    "path", ["/api/v1/tca/reports/venues/", "/api/v1/tca/reports/brokers/", "/api/v1/tca/reports/rts28/"]
)
def test_given_an_unknown_format_when_asking_for_a_report_then_400_naming_format(analyst_api, path):
    response = analyst_api.get(path, {"format": "xlsx"})

    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"]["format"] == ["Unknown format; this endpoint offers: csv, json."]
    assert_matches_schema(response, "GET", path)


def test_given_a_known_format_then_the_report_is_served_in_it(analyst_api):
    assert analyst_api.get("/api/v1/tca/reports/venues/", {"format": "csv"})["Content-Type"].startswith("text/csv")
    assert analyst_api.get("/api/v1/tca/reports/venues/", {"format": "json"}).json()["by"] == "venue"


def test_given_a_cost_model_trained_by_nobody_when_listed_then_null_as_the_schema_says(analyst_api):
    CostModelFactory(trained_by=None)

    response = analyst_api.get("/api/v1/tca/models/")

    assert response.json()["results"][0]["trained_by"] is None
    assert_matches_schema(response, "GET", "/api/v1/tca/models/")
