"""Regression tests for the product-layer review: hostile inputs get a 4xx, never a 500."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from core.errors import ValidationFailed
from core.roles import Role
from portfolios.models import Portfolio
from riskapp.forms import ScenarioForm
from riskapp.models import Limit, Scenario
from riskapp.services.runs import risk_run_parameters_clean

pytestmark = pytest.mark.django_db

PAGE = "/risk/portfolios/RISK-BOOK/"


@pytest.fixture
def officer(make_user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(make_user(Role.RISK_OFFICER))
    return client


@pytest.fixture
def api(make_user, api_client_for):
    client = api_client_for(make_user(Role.RISK_OFFICER, username="api-officer"))
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("suffix", ["", "export.csv", "export.xlsx", "report.pdf"])
def test_given_a_non_ascii_digit_run_id_when_page_or_export_requested_then_no_server_error(priced, officer, suffix):
    """``"²".isdigit()`` is True but ``int("²")`` fails: the id is ignored (latest run), not a 500."""
    response = officer.get(f"{PAGE}{suffix}?run=%C2%B2")
    assert response.status_code < 500


def test_given_a_halted_portfolio_when_resumed_with_a_nul_rationale_then_refused_and_still_halted(priced, officer):
    Portfolio.objects.filter(pk=priced.portfolio.pk).update(halted=True)
    response = officer.post(f"{PAGE}resume/", {"rationale": "ok\x00"})
    assert response.status_code == 302
    assert Portfolio.objects.get(pk=priced.portfolio.pk).halted


@pytest.mark.parametrize("key", ["sector:Energy\x00", "instrument:AAPL\x00", "sector:a\nb"])
def test_given_a_shock_target_with_a_control_character_then_form_and_api_refuse_it(officer, api, key):
    form = ScenarioForm(data={"name": "s", "shocks": f'{{"{key.encode("unicode_escape").decode()}": -5}}'})
    assert not form.is_valid() and "shocks" in form.errors
    response = api.post("/api/v1/risk/scenarios", {"name": "s", "shocks": {key: -5}}, format="json")
    assert response.status_code == 400
    assert not Scenario.objects.exists()


@pytest.mark.parametrize("path", ["/api/v1/risk/limits", "/api/v1/risk/breaches", "/api/v1/risk/runs"])
def test_given_a_nul_in_the_portfolio_filter_when_listing_then_400(api, path):
    response = api.get(f"{path}?portfolio=RB%00")
    assert response.status_code == 400
    assert "error" in response.json()


@pytest.mark.parametrize("confidence", [0.999999, 0.000001])
def test_given_a_confidence_that_rounds_to_0_or_1_when_run_parameters_cleaned_then_refused(confidence):
    """Confidences are stored with 5 decimals: 0.999999 would be saved (and shown) as a 100 % VaR."""
    with pytest.raises(ValidationFailed):
        risk_run_parameters_clean({"confidences": [confidence]})


def test_given_an_unknown_var_method_when_limit_created_then_form_and_api_refuse_it(priced, officer, api):
    """A VaR limit on a method no run computes would never be checked, silently."""
    data = {"kind": "var", "threshold": "100", "warning_ratio": "0.8", "confidence": "0.99", "horizon_days": "1"}
    response = officer.post(f"{PAGE}limits/new/", {**data, "method": "bogus"})
    assert response.status_code == 400
    response = api.post("/api/v1/risk/limits", {**data, "portfolio": "RISK-BOOK", "method": "bogus"}, format="json")
    assert response.status_code == 400
    assert not Limit.objects.exists()
    response = api.post("/api/v1/risk/limits", {**data, "portfolio": "RISK-BOOK", "method": "evt"}, format="json")
    assert response.status_code == 201
    assert Limit.objects.get().threshold == Decimal("100")
