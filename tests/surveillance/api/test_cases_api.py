"""Case API: creation rules, desk scoping, STOR editing and rendering, four-eyes filing through HTTP."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from core.roles import Role
from surveillance.models import Alert, Case
from tests.factories import AccountFactory, AlertFactory, CaseFactory

pytestmark = pytest.mark.django_db

BASE = "/api/v1/surveillance/cases"


@pytest.fixture
def alerts(desk):
    account = AccountFactory(desk=desk)
    return [AlertFactory(account=account, score=80), AlertFactory(account=account, score=30)]


@pytest.fixture
def created(alerts, analyst, api_client_for):
    response = api_client_for(analyst).post(
        BASE, {"title": "Spoofing <ACME> & co", "alert_ids": [a.pk for a in alerts]}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def _fields(response) -> set[str]:
    return set(response.json()["error"]["fields"])


def test_given_alerts_when_case_created_then_201_with_reference_and_alerts(created, alerts, desk):
    assert created["reference"] == f"CASE-{created['id']:05d}"
    assert created["desk"] == desk.code and created["state"] == "open" and created["stor_status"] == "none"
    assert sorted(a["id"] for a in created["alerts"]) == sorted(a.pk for a in alerts)
    assert created["alert_count"] == 2 and created["open_alert_count"] == 2


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"alert_ids": [1]}, {"title"}),
        ({"title": "", "alert_ids": [1]}, {"title"}),
        ({"title": "x" * 201, "alert_ids": [1]}, {"title"}),
        ({"title": "t"}, {"alert_ids"}),
        ({"title": "t", "alert_ids": []}, {"alert_ids"}),
        ({"title": "t", "alert_ids": ["a"]}, {"alert_ids"}),
    ],
)
def test_given_invalid_case_request_then_400_with_field_errors(analyst, api_client_for, body, fields):
    response = api_client_for(analyst).post(BASE, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_failed" and _fields(response) == fields


def test_given_alerts_of_two_desks_then_400_and_foreign_alert_404(desk, other_desk, make_user, api_client_for):
    lead = make_user(Role.COMPLIANCE_SUPERVISOR, username="lead", desks=[desk, other_desk])
    here, there = (AlertFactory(account=AccountFactory(desk=d)) for d in (desk, other_desk))
    local = make_user(Role.COMPLIANCE_ANALYST, username="local", desks=[desk])

    mixed = api_client_for(lead).post(BASE, {"title": "t", "alert_ids": [here.pk, there.pk]}, format="json")
    peek = api_client_for(local).post(BASE, {"title": "t", "alert_ids": [here.pk, there.pk]}, format="json")

    assert mixed.status_code == 400 and _fields(mixed) == {"alert_ids"}
    assert peek.status_code == 404
    assert not Case.objects.exists()


def test_given_cases_on_two_desks_then_list_and_detail_are_scoped(created, other_desk, analyst, api_client_for):
    foreign = CaseFactory(desk=other_desk)
    api = api_client_for(analyst)

    listed = [c["id"] for c in api.get(BASE).json()["results"]]
    assert listed == [created["id"]]
    assert api.get(f"{BASE}/{foreign.pk}").status_code == 404
    assert api.get(f"{BASE}/{foreign.pk}/stor").status_code == 404
    assert api.post(f"{BASE}/{foreign.pk}/close", {"rationale": "x"}, format="json").status_code == 404


def test_given_open_case_when_alerts_added_then_200_and_closed_case_409(created, desk, analyst, api_client_for):
    api = api_client_for(analyst)
    extra = AlertFactory(account=AccountFactory(desk=desk))

    added = api.post(f"{BASE}/{created['id']}/alerts", {"alert_ids": [extra.pk]}, format="json")
    assert added.status_code == 200 and added.json()["alert_count"] == 3

    assert api.post(f"{BASE}/{created['id']}/close", {"rationale": ""}, format="json").status_code == 400
    assert api.post(f"{BASE}/{created['id']}/close", {"rationale": "Nothing."}, format="json").status_code == 200
    late = AlertFactory(account=AccountFactory(desk=desk))
    refused = api.post(f"{BASE}/{created['id']}/alerts", {"alert_ids": [late.pk]}, format="json")
    assert refused.status_code == 409


def test_given_stor_draft_then_patch_json_and_xml(created, analyst, auditor, api_client_for):
    api = api_client_for(analyst)
    url = f"{BASE}/{created['id']}/stor"

    patched = api.patch(url, {"entity_name": "Vigil Securities <Ltd>", "person_name": "J. Doe"}, format="json")
    assert patched.status_code == 200
    assert patched.json()["section_1_submitter"]["entity_name"] == "Vigil Securities <Ltd>"
    unknown = api.patch(url, {"colour": "red"}, format="json")
    assert unknown.status_code == 400 and _fields(unknown) == {"colour"}
    nul = api.patch(url, {"contact": "a\x00b"}, format="json")
    assert nul.status_code == 400 and _fields(nul) == {"contact"}

    draft = api_client_for(auditor).get(url).json()
    assert draft["reference"] == created["reference"] and draft["section_4_person"]["person_name"] == "J. Doe"
    xml = api.get(url + "?format=xml")
    assert xml.status_code == 200 and xml["Content-Type"].startswith("application/xml")
    root = ET.fromstring(xml.content)  # noqa: S314  (our own document, parsed to prove it well-formed)
    assert root.findtext("title") == "Spoofing <ACME> & co"
    assert root.findtext("section_1_submitter/entity_name") == "Vigil Securities <Ltd>"
    assert api_client_for(auditor).patch(url, {"entity_name": "x"}, format="json").status_code == 403


def test_given_stor_proposed_then_only_another_supervisor_files_and_alerts_close(
    created, alerts, analyst, supervisor, supervisor2, api_client_for
):
    case_url = f"{BASE}/{created['id']}"
    assert api_client_for(supervisor2).post(f"{case_url}/stor/file", format="json").status_code == 409  # not proposed
    blank = api_client_for(supervisor).post(f"{case_url}/stor/propose", {"rationale": " "}, format="json")
    assert blank.status_code == 400 and _fields(blank) == {"rationale"}

    proposed = api_client_for(supervisor).post(f"{case_url}/stor/propose", {"rationale": "Report."}, format="json")
    assert proposed.status_code == 200 and proposed.json()["stor_status"] == "proposed"
    assert api_client_for(analyst).post(f"{case_url}/stor/file", format="json").status_code == 403
    own = api_client_for(supervisor).post(f"{case_url}/stor/file", format="json")
    assert own.status_code == 403 and "another supervisor" in own.json()["error"]["message"]
    assert api_client_for(analyst).patch(f"{case_url}/stor", {"contact": "x"}, format="json").status_code == 409

    filed = api_client_for(supervisor2).post(f"{case_url}/stor/file", format="json")

    assert filed.status_code == 200
    body = filed.json()
    assert (body["state"], body["stor_status"], body["stor_filed_by"]) == ("closed", "filed", "supervisor2")
    assert {(a["state"], a["outcome"]) for a in body["alerts"]} == {("closed", "stor_filed")}
    assert all(created["reference"] in a.closing_rationale for a in Alert.objects.filter(case_id=created["id"]))


def test_given_proposed_stor_when_rejected_then_back_to_draft(created, analyst, supervisor, api_client_for):
    case_url = f"{BASE}/{created['id']}"
    api_client_for(analyst).post(f"{case_url}/stor/propose", {"rationale": "Report."}, format="json")

    assert api_client_for(analyst).post(f"{case_url}/stor/reject", {"rationale": "x"}, format="json").status_code == 403
    rejected = api_client_for(supervisor).post(f"{case_url}/stor/reject", {"rationale": "More."}, format="json")

    assert rejected.status_code == 200 and rejected.json()["stor_status"] == "none"
