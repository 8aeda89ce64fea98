"""Clients API: list and detail (accounts with holdings, profile, review), create and update,
scoping to the advisor's own clients, read-only auditors, field errors with nothing written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from core.roles import Role
from wealth.models import Client, ClientReview, Household

from .conftest import AS_OF

pytestmark = pytest.mark.django_db

NEW_CLIENT = {"code": "CNEW", "name": "New Client", "birth_date": "1980-02-29", "annual_income": "120000.00"}


def test_given_other_roles_or_anonymous_then_refused(world, make_user, api_client_for):
    assert APIClient().get("/api/v1/wealth/clients").status_code in (401, 403)
    analyst = api_client_for(make_user(Role.COMPLIANCE_ANALYST))
    assert analyst.get("/api/v1/wealth/clients").status_code == 403
    assert analyst.get(f"/api/v1/wealth/clients/{world.a.client.pk}").status_code == 403


def test_list_shows_only_the_advisors_own_clients(world, api_a, api_b, api_auditor):
    assert [r["code"] for r in api_a.get("/api/v1/wealth/clients").json()["results"]] == ["CA"]
    assert [r["code"] for r in api_b.get("/api/v1/wealth/clients").json()["results"]] == ["CB"]
    # The auditor shares advisor A's desk only.
    assert [r["code"] for r in api_auditor.get("/api/v1/wealth/clients").json()["results"]] == ["CA"]


def test_detail_has_accounts_with_holdings_current_profile_and_latest_review(world, api_a):
    ClientReview.objects.create(client=world.a.client, as_of=AS_OF, drift=0.2, attention=True, reasons=["Drift"])

    body = api_a.get(f"/api/v1/wealth/clients/{world.a.client.pk}").json()

    assert body["advisor"] == "advisor_a"
    assert body["profile"] is None and body["current_profile"] is None  # questionnaire not answered yet
    assert body["latest_review"]["attention"] is True and body["latest_review"]["reasons"] == ["Drift"]
    [account] = body["accounts"]
    assert account["code"] == "CA-TX" and account["kind"] == "taxable"
    # One lot of 100 EQA at 1.5 × the AS_OF close (conftest.side_build).
    assert account["holdings"] == [
        {"symbol": "EQA", "quantity": "100.000000", "cost_basis": f"{world.a.lot.cost_basis:.2f}", "lots": 1}
    ]


def test_given_another_advisors_client_then_404_for_read_and_write(world, api_a):
    url = f"/api/v1/wealth/clients/{world.b.client.pk}"
    assert api_a.get(url).status_code == 404
    response = api_a.patch(url, {"name": "Hijacked"}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    world.b.client.refresh_from_db()
    assert world.b.client.name == "Client CB"


def test_create_makes_the_advisor_the_clients_advisor_and_audits(world, api_a, advisor):
    household = Household.objects.create(name="Family A", advisor=advisor)

    response = api_a.post("/api/v1/wealth/clients", {**NEW_CLIENT, "household": household.pk}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["advisor"] == "advisor_a" and body["household"] == household.pk and body["accounts"] == []
    client = Client.objects.get(code="CNEW")
    assert client.advisor == advisor and client.annual_income == Decimal("120000")
    assert AuditEvent.objects.filter(action="wealth.client.create", object_id=str(client.pk)).exists()


def test_given_another_advisors_household_then_field_error_and_nothing_written(world, api_a, other_advisor):
    theirs = Household.objects.create(name="Family B", advisor=other_advisor)

    response = api_a.post("/api/v1/wealth/clients", {**NEW_CLIENT, "household": theirs.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"household": ["Not found."]}
    assert not Client.objects.filter(code="CNEW").exists()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"birth_date": "2999-01-01"}, "birth_date"),  # service: a past date
        ({"tax_rate_short": "1.5"}, "tax_rate_short"),  # service: a fraction 0–1
        ({"annual_income": "-1"}, "annual_income"),  # service: at least 0
        ({"esg_min_score": "11"}, "esg_min_score"),  # service: ESG scores 0–10
        ({"code": "CB"}, "code"),  # taken (by another advisor's client)
        ({"birth_date": "yesterday"}, "birth_date"),  # serializer: not a date
        ({"name": ""}, "name"),
    ],
)
def test_given_bad_input_then_400_naming_the_field_and_nothing_written(world, api_a, change, field):
    before = Client.objects.count()

    response = api_a.post("/api/v1/wealth/clients", {**NEW_CLIENT, **change}, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert Client.objects.count() == before


def test_update_changes_only_the_given_fields_and_audits(world, api_a):
    url = f"/api/v1/wealth/clients/{world.a.client.pk}"

    response = api_a.patch(url, {"tax_rate_long": "0.2", "esg_excluded_sectors": ["Energy"]}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["tax_rate_long"] == "0.200000"
    world.a.client.refresh_from_db()
    assert world.a.client.esg_excluded_sectors == ["Energy"] and world.a.client.name == "Client CA"
    event = AuditEvent.objects.get(action="wealth.client.update", object_id=str(world.a.client.pk))
    assert event.before["tax_rate_long"] == "0.150000" and event.after["tax_rate_long"] == "0.200000"

    bad = api_a.patch(url, {"retirement_age": 120}, format="json")
    assert bad.status_code == 400 and "retirement_age" in bad.json()["error"]["fields"]


def test_auditor_reads_but_cannot_write(world, api_auditor):
    url = f"/api/v1/wealth/clients/{world.a.client.pk}"
    assert api_auditor.get(url).status_code == 200
    assert api_auditor.patch(url, {"name": "X"}, format="json").status_code == 403
    assert api_auditor.post("/api/v1/wealth/clients", NEW_CLIENT, format="json").status_code == 403
    assert not Client.objects.filter(code="CNEW").exists()
    world.a.client.refresh_from_db()
    assert world.a.client.name == "Client CA"


@pytest.mark.parametrize("pk", ["0", "abc", "99999999999999999999"])
def test_given_a_malformed_or_unknown_id_then_404(world, api_a, pk):
    assert api_a.get(f"/api/v1/wealth/clients/{pk}").status_code == 404


def test_household_filter_finds_members_and_tells_nothing_of_others(world, api_a, advisor, other_advisor):
    mine = Household.objects.create(name="Family A", advisor=advisor)
    Client.objects.filter(pk=world.a.client.pk).update(household=mine)
    theirs = Household.objects.create(name="Family B", advisor=other_advisor)
    Client.objects.filter(pk=world.b.client.pk).update(household=theirs)

    assert [r["code"] for r in api_a.get(f"/api/v1/wealth/clients?household={mine.pk}").json()["results"]] == ["CA"]
    # Another advisor's household and one that does not exist answer alike.
    assert api_a.get(f"/api/v1/wealth/clients?household={theirs.pk}").json()["results"] == []
    assert api_a.get("/api/v1/wealth/clients?household=999999").json()["results"] == []
    assert api_a.get("/api/v1/wealth/clients?household=x").status_code == 400
