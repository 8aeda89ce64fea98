"""Defects the schema fuzz test found in the risk API (tests/core/test_schema_fuzz.py): answers
the schema did not document.

- Creating a limit or scenario with invalid fields is a 400, changing one that does not exist a
  404, and a limit for an unknown portfolio a 404: the schema listed only 201/200/204.
- A pre-trade check with an invalid body is a 400 the schema did not list.
"""

from __future__ import annotations

import pytest

from core.roles import Role
from riskapp.models import Limit
from tests.factories import PortfolioFactory
from tests.openapi import assert_matches_schema

pytestmark = pytest.mark.django_db

LIMITS = "/api/v1/risk/limits/"
SCENARIOS = "/api/v1/risk/scenarios/"


@pytest.fixture
def api(make_user, api_client_for):
    return api_client_for(make_user(Role.RISK_OFFICER))


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (LIMITS, {"portfolio": "PF1", "kind": "var", "threshold": ""}, "threshold"),
        (SCENARIOS, {"name": "Crash", "shocks": 0.25}, "shocks"),
        (
            "/api/v1/pretrade/check/",
            {"portfolio": "PF1", "instrument": "AAA", "side": "buy", "quantity": ""},
            "quantity",
        ),
    ],
)
def test_given_an_invalid_body_when_posting_then_a_documented_400_naming_the_field(api, desk, path, body, field):
    PortfolioFactory(code="PF1", desk=desk)

    response = api.post(path, body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert_matches_schema(response, "POST", path)


def test_given_an_unknown_portfolio_when_creating_a_limit_then_a_documented_404_and_nothing_written(api):
    response = api.post(LIMITS, {"portfolio": "NOPE", "kind": "gross_leverage", "threshold": "2"}, format="json")

    assert response.status_code == 404
    assert not Limit.objects.exists()
    assert_matches_schema(response, "POST", LIMITS)


@pytest.mark.parametrize("path", [f"{LIMITS}{{id}}/", f"{SCENARIOS}{{id}}/"])
@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_given_no_such_limit_or_scenario_when_changing_it_then_a_documented_404(api, path, method):
    response = api.generic(method, path.format(id=987654), "{}", content_type="application/json")

    assert response.status_code == 404
    assert_matches_schema(response, method, path, id=987654)


def test_given_a_limit_when_created_then_the_201_body_is_the_documented_limit(api, desk):
    PortfolioFactory(code="PF1", desk=desk)

    response = api.post(LIMITS, {"portfolio": "PF1", "kind": "gross_leverage", "threshold": "2"}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["portfolio"] == "PF1"
    assert_matches_schema(response, "POST", LIMITS)
