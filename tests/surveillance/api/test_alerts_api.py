"""Alert API: the queue (filters, cursor pagination, desk scoping), review transitions through HTTP with
their status codes and field-level error bodies, bulk assignment, comments, detectors and runs."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from core.models import CalculationRun
from core.roles import Role
from surveillance.engine.detectors import DETECTORS
from surveillance.models import Alert, AlertTransition
from tests.factories import AccountFactory, AlertFactory

pytestmark = pytest.mark.django_db

BASE = "/api/v1/surveillance"


@pytest.fixture
def account(desk):
    return AccountFactory(desk=desk)


@pytest.fixture
def client_of(api_client_for):
    return api_client_for


def _transition(client, alert, **body):
    return client.post(f"{BASE}/alerts/{alert.pk}/transition", body, format="json")


def _fields(response) -> set[str]:
    return set(response.json()["error"]["fields"])


# ---------------------------------------------------------------------------- queue


def test_given_alerts_on_two_desks_when_listing_then_only_own_desk_with_cursor_pages(
    account, other_desk, analyst, client_of
):
    mine = [AlertFactory(account=account, score=10 * k) for k in range(1, 6)]
    AlertFactory(account=AccountFactory(desk=other_desk))
    api = client_of(analyst)

    first = api.get(f"{BASE}/alerts?page_size=2")
    assert first.status_code == 200
    body = first.json()
    assert len(body["results"]) == 2 and body["next"]
    second = api.get(body["next"]).json()
    third = api.get(second["next"]).json()
    seen = [r["id"] for page in (body, second, third) for r in page["results"]]
    assert sorted(seen) == sorted(a.pk for a in mine) and third["next"] is None
    row = body["results"][0]
    assert {"scenario", "score", "state", "account", "desk", "assignee", "proposal_pending"} <= set(row)


def test_given_filters_then_the_api_applies_the_same_filterset_as_the_queue(account, analyst, client_of):
    a = AlertFactory(account=account, scenario="layering", score=90, assignee=analyst)
    b = AlertFactory(account=account, scenario="spoofing", score=20)
    AlertFactory(account=account, state="closed", outcome="no_action", closing_rationale="done")
    api = client_of(analyst)

    def ids(query: str) -> set[int]:
        response = api.get(f"{BASE}/alerts?{query}")
        assert response.status_code == 200, response.content
        return {r["id"] for r in response.json()["results"]}

    assert ids("scenario=layering") == {a.pk}
    assert ids("scenario=layering&scenario=spoofing&state=open") == {a.pk, b.pk}
    assert ids("min_score=50&state=open") == {a.pk}
    assert ids("assignee=me") == {a.pk}
    assert ids("assignee=none&state=new") == {b.pk}


def test_given_bad_filters_then_400_naming_each_field(analyst, client_of):
    response = client_of(analyst).get(f"{BASE}/alerts?assignee=bob&min_score=high&scenario=nope")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_failed"
    assert _fields(response) == {"assignee", "min_score", "scenario"}


def test_given_alert_when_read_then_history_and_evidence_ids_included(account, analyst, client_of):
    alert = AlertFactory(account=account, order_ids=[11, 12], trade_ids=[13])
    api = client_of(analyst)
    api.post(f"{BASE}/alerts/{alert.pk}/comments", {"body": "Looking."}, format="json")
    _transition(api, alert, action="start_review")

    body = api.get(f"{BASE}/alerts/{alert.pk}").json()

    assert body["order_ids"] == [11, 12] and body["trade_ids"] == [13]
    assert [t["action"] for t in body["transitions"]] == ["start_review"]
    assert [c["body"] for c in body["comments"]] == ["Looking."]
    assert body["assignee"] == "analyst" and body["state"] == "in_review"


@pytest.mark.parametrize("path", ["/alerts/{foreign}", "/alerts/999999", "/alerts/abc"])
def test_given_alert_out_of_scope_or_missing_then_404_body(other_desk, analyst, client_of, path):
    foreign = AlertFactory(account=AccountFactory(desk=other_desk))

    response = client_of(analyst).get(BASE + path.format(foreign=foreign.pk))

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_given_foreign_alert_when_transition_posted_then_404_and_unchanged(other_desk, analyst, client_of):
    foreign = AlertFactory(account=AccountFactory(desk=other_desk))

    response = _transition(client_of(analyst), foreign, action="start_review")

    assert response.status_code == 404
    assert Alert.objects.get(pk=foreign.pk).state == "new"


def test_given_risk_officer_then_403_and_auditor_reads_but_cannot_write(account, make_user, auditor, client_of):
    alert = AlertFactory(account=account)
    officer = make_user(Role.RISK_OFFICER, username="officer")

    assert client_of(officer).get(f"{BASE}/alerts").status_code == 403
    api = client_of(auditor)
    assert api.get(f"{BASE}/alerts/{alert.pk}").status_code == 200
    response = _transition(api, alert, action="start_review")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert not AlertTransition.objects.exists()


# ---------------------------------------------------------------------------- transitions


def test_given_review_path_through_http_then_each_step_answers_its_status(
    account, analyst, analyst2, supervisor, client_of
):
    alert = AlertFactory(account=account, score=85)
    api, api2, sup = client_of(analyst), client_of(analyst2), client_of(supervisor)

    assert _transition(api, alert, action="start_review").json()["state"] == "in_review"
    again = _transition(api, alert, action="start_review")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"

    blank = _transition(api, alert, action="escalate", rationale="   ")
    assert blank.status_code == 400 and _fields(blank) == {"rationale"}

    direct = _transition(api, alert, action="close", outcome="no_action", rationale="Benign.")
    assert direct.status_code == 409
    assert direct.json()["error"]["code"] == "four_eyes_required" and "propose" in direct.json()["error"]["message"]

    proposed = _transition(api, alert, action="propose_close", outcome="no_action", rationale="Benign.")
    assert proposed.status_code == 200 and proposed.json()["proposal_pending"] is True

    assert _transition(api, alert, action="approve").status_code == 403
    assert _transition(api2, alert, action="approve").status_code == 403

    approved = _transition(sup, alert, action="approve", rationale="Agreed.")
    assert approved.status_code == 200
    assert (approved.json()["state"], approved.json()["outcome"]) == ("closed", "no_action")
    assert AuditEvent.objects.filter(action__startswith="surveillance.alert.").count() == 3


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"action": "teleport"}, {"action"}),
        ({}, {"action"}),
        ({"action": "close", "outcome": "maybe", "rationale": "x"}, {"outcome"}),
        ({"action": "escalate", "rationale": "a\x00b"}, {"rationale"}),
        ({"action": "escalate", "rationale": "x" * 10_001}, {"rationale"}),
        ({"action": "assign", "assignee": 0}, {"assignee"}),
        ({"action": "assign"}, {"assignee"}),
    ],
)
def test_given_invalid_transition_request_then_400_with_field_errors(account, analyst, client_of, body, fields):
    alert = AlertFactory(account=account, state="in_review")

    response = _transition(client_of(analyst), alert, **body)

    assert response.status_code == 400, response.content
    assert _fields(response) == fields


def test_given_assign_action_then_assignee_set(account, analyst, analyst2, client_of):
    alert = AlertFactory(account=account)

    response = _transition(client_of(analyst), alert, action="assign", assignee=analyst2.pk)

    assert response.status_code == 200 and response.json()["assignee"] == "analyst2"


def test_given_bulk_assignment_then_all_or_nothing(account, analyst, analyst2, client_of, make_user, other_desk):
    alerts = [AlertFactory(account=account) for _ in range(3)]
    closed = AlertFactory(account=account, state="closed", outcome="no_action", closing_rationale="done")
    api = client_of(analyst)

    batch = {"alert_ids": [a.pk for a in alerts] + [closed.pk], "assignee": analyst2.pk}
    refused = api.post(f"{BASE}/alerts/assign", batch, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["alert_ids"] == [closed.pk]
    assert not Alert.objects.filter(assignee=analyst2).exists()

    outsider = make_user(Role.COMPLIANCE_ANALYST, username="outsider", desks=[other_desk])
    wrong = api.post(f"{BASE}/alerts/assign", {"alert_ids": [alerts[0].pk], "assignee": outsider.pk}, format="json")
    assert wrong.status_code == 400 and _fields(wrong) == {"assignee"}

    empty = api.post(f"{BASE}/alerts/assign", {"alert_ids": [], "assignee": analyst2.pk}, format="json")
    assert empty.status_code == 400 and _fields(empty) == {"alert_ids"}

    done = api.post(
        f"{BASE}/alerts/assign", {"alert_ids": [a.pk for a in alerts], "assignee": analyst2.pk}, format="json"
    )
    assert done.status_code == 200 and {r["assignee"] for r in done.json()} == {"analyst2"}
    assert Alert.objects.filter(assignee=analyst2).count() == 3


def test_given_comments_then_listed_added_and_blank_refused(account, analyst, client_of):
    alert = AlertFactory(account=account)
    api = client_of(analyst)

    created = api.post(f"{BASE}/alerts/{alert.pk}/comments", {"body": "Spoke to the trader."}, format="json")
    blank = api.post(f"{BASE}/alerts/{alert.pk}/comments", {"body": ""}, format="json")

    assert created.status_code == 201 and created.json()["author_name"] == "analyst"
    assert blank.status_code == 400 and _fields(blank) == {"body"}
    listed = api.get(f"{BASE}/alerts/{alert.pk}/comments").json()
    assert [c["body"] for c in listed] == ["Spoke to the trader."]


# ---------------------------------------------------------------------------- detectors and runs


def test_given_detectors_then_listed_read_and_changed_by_supervisors_only(analyst, supervisor, client_of):
    spec = DETECTORS["spoofing"]
    p = spec.params[0]
    value = float(int((p.minimum + p.maximum) / 2)) if p.integer else (p.minimum + p.maximum) / 2
    listed = client_of(analyst).get(f"{BASE}/detectors").json()
    assert [d["scenario"] for d in listed] == list(DETECTORS)
    one = client_of(analyst).get(f"{BASE}/detectors/spoofing").json()
    assert one["parameters"] == spec.defaults() and one["version"] == 0
    assert {q["name"] for q in one["params"]} == {q.name for q in spec.params}

    refused = client_of(analyst).patch(f"{BASE}/detectors/spoofing", {"parameters": {p.name: value}}, format="json")
    assert refused.status_code == 403

    api = client_of(supervisor)
    bad = api.patch(f"{BASE}/detectors/spoofing", {"parameters": {p.name: "x", "bogus": 1}}, format="json")
    assert bad.status_code == 400 and _fields(bad) == {p.name, "bogus"}
    changed = api.patch(f"{BASE}/detectors/spoofing", {"parameters": {p.name: value}, "enabled": False}, format="json")
    assert changed.status_code == 200
    assert changed.json()["version"] == 1 and changed.json()["parameters"][p.name] == value
    assert changed.json()["enabled"] is False
    assert api.get(f"{BASE}/detectors/anomaly").status_code == 404


def test_given_runs_then_only_surveillance_runs_listed_and_auditor_cannot_start_one(analyst, auditor, client_of):
    mine = CalculationRun.objects.create(kind="surveillance.incremental", status="succeeded")
    CalculationRun.objects.create(kind="risk.run")

    listed = client_of(auditor).get(f"{BASE}/runs").json()["results"]

    assert [r["id"] for r in listed] == [mine.pk]
    assert client_of(auditor).post(f"{BASE}/runs", {}, format="json").status_code == 403
    bad = client_of(analyst).post(
        f"{BASE}/runs", {"since": "2022-12-29T00:00:00Z", "until": "2022-12-28T00:00:00Z"}, format="json"
    )
    assert bad.status_code == 400 and _fields(bad) == {"until"}


def test_given_analyst_when_starting_a_sweep_then_202_with_the_run_to_poll(analyst, client_of):
    response = client_of(analyst).post(f"{BASE}/runs", {}, format="json")

    assert response.status_code == 202, response.content
    body = response.json()
    run = CalculationRun.objects.get(pk=body["id"])
    assert run.kind == body["kind"] == "surveillance.sweep" and run.user == analyst
    assert body["poll_url"] == f"/api/v1/runs/{run.pk}"
