"""Risk runs through the API: queue (202), poll the calculation, read results; who may do what."""

from __future__ import annotations

import pytest

from core.roles import Role
from riskapp.models import RiskRun
from tests.factories import PortfolioFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/risk/runs"


@pytest.fixture
def officer_api(make_user, api_client_for):
    return api_client_for(make_user(Role.RISK_OFFICER))


def test_given_risk_officer_when_posting_a_run_then_202_and_poll_until_results(
    priced, officer_api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = officer_api.post(
            URL, {"portfolio": "RISK-BOOK", "parameters": {"n_scenarios": 2000, "methods": ["historical"]}},
            format="json",
        )  # fmt: skip
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["poll_url"] == f"/api/v1/runs/{body['calculation']}"
    assert body["as_of"] == "2022-12-28" and body["portfolio"] == "RISK-BOOK"

    # When the client polls the calculation run, then it has succeeded (eager worker).
    poll = officer_api.get(body["poll_url"]).json()
    assert poll["status"] == "succeeded" and poll["result"]["risk_run_id"] == body["id"]

    # Then the run has its results, components, stress results and factor exposures.
    detail = officer_api.get(f"{URL}/{body['id']}").json()
    assert detail["status"] == "succeeded" and detail["inputs_hash"]
    assert {(r["method"], r["confidence"], r["horizon_days"]) for r in detail["results"]} == {
        ("historical", c, h) for c in ("0.95000", "0.97500", "0.99000") for h in (1, 10)
    }
    assert {c["instrument"] for c in detail["components"]} == {"AAPL", "XOM", "JPM", "MTUM"}
    assert any(s["kind"] == "historical" for s in detail["stress_results"])
    assert {f["factor"] for f in detail["factor_exposures"]} == {"SPX", "MTUM−SPX"}

    listed = officer_api.get(f"{URL}?portfolio=RISK-BOOK").json()["results"]
    assert [r["id"] for r in listed] == [body["id"]]
    assert "components" not in listed[0]


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"portfolio": "RISK-BOOK", "parameters": {"confidences": [1.5]}}, 400, "confidences"),
        ({"portfolio": "RISK-BOOK", "parameters": {"horizons": [0]}}, 400, "horizons"),
        ({"portfolio": "RISK-BOOK", "parameters": {"methods": ["crystal_ball"]}}, 400, "methods"),
        ({"portfolio": "RISK-BOOK", "parameters": {"n_scenarios": 5}}, 400, "n_scenarios"),
        ({"portfolio": "RISK-BOOK", "parameters": {"seed": 1.5}}, 400, "seed"),
        ({"portfolio": "RISK-BOOK", "as_of": "2999-01-01"}, 400, "as_of"),
        ({"parameters": {}}, 400, "portfolio"),
        ({"portfolio": "NOPE"}, 404, None),
    ],
)
def test_given_bad_request_then_error_body_and_nothing_queued(priced, officer_api, payload, status, field):
    response = officer_api.post(URL, payload, format="json")
    assert response.status_code == status, response.content
    error = response.json()["error"]
    if field:
        assert field in str(error)
    assert not RiskRun.objects.exists()


def test_given_portfolio_of_another_desk_then_404(priced, officer_api, other_desk):
    PortfolioFactory(code="THEIRS", desk=other_desk)
    assert officer_api.post(URL, {"portfolio": "THEIRS"}, format="json").status_code == 404


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [
        (Role.AUDITOR, 200, 403),
        (Role.COMPLIANCE_ANALYST, 403, 403),
        (Role.WEALTH_ADVISOR, 403, 403),
        (Role.OMS_CLIENT, 403, 403),
    ],
)
def test_given_role_then_read_and_write_are_allowed_or_refused(priced, make_user, api_client_for, role, read, write):
    client = api_client_for(make_user(role))
    assert client.get(URL).status_code == read
    assert client.post(URL, {"portfolio": "RISK-BOOK"}, format="json").status_code == write
    assert not RiskRun.objects.exists()


def test_given_auditor_then_reads_a_run_of_its_desk(priced, make_user, api_client_for):
    from riskapp.services.runs import risk_run_create

    run = risk_run_create(portfolio=priced.portfolio, user=None)
    auditor = api_client_for(make_user(Role.AUDITOR))
    body = auditor.get(f"{URL}/{run.pk}").json()
    assert body["status"] == "queued" and body["results"] == []
