"""Recommendations API: list filters, proposals of each kind (201, or 200 "nothing to do"),
accept and decline audited with the explanation, deciding twice 409, scoping and read-only
auditors, field errors with nothing written."""

from __future__ import annotations

import datetime as dt

import pytest

from audit.models import AuditEvent
from wealth.models import Client, Recommendation, TaxLot

pytestmark = pytest.mark.django_db

URL = "/api/v1/wealth/recommendations"


def _propose(api, client: Client, kind: str, **params):
    return api.post(f"{URL}/propose", {"client": client.pk, "kind": kind, **params}, format="json")


def test_list_filters_by_client_kind_and_status(world, api_a):
    assert [r["id"] for r in api_a.get(URL).json()["results"]] == [world.a.recommendation.pk]
    assert [r["id"] for r in api_a.get(f"{URL}?client={world.a.client.pk}&kind=rebalance").json()["results"]] == [
        world.a.recommendation.pk
    ]
    assert api_a.get(f"{URL}?kind=harvest").json()["results"] == []
    assert api_a.get(f"{URL}?status=accepted").json()["results"] == []
    assert api_a.get(f"{URL}?client={world.b.client.pk}").json()["results"] == []  # not theirs: nothing
    bad = api_a.get(f"{URL}?kind=lottery")
    assert bad.status_code == 400 and "kind" in bad.json()["error"]["fields"]


def test_detail_has_the_explanation(world, api_a):
    body = api_a.get(f"{URL}/{world.a.recommendation.pk}").json()
    assert body["explanation"] == {"as_of": "2024-06-28", "drift_before": 0.2}
    assert body["status"] == "proposed" and body["client_code"] == "CA"


def test_harvest_proposal_then_accept_books_the_trades_and_audits_the_explanation(world, api_a):
    proposed = _propose(api_a, world.a.client, "harvest")

    assert proposed.status_code == 201, proposed.json()
    reco = proposed.json()
    assert reco["kind"] == "harvest" and reco["status"] == "proposed"
    sell, buy = reco["trades"]
    # The lot (100 EQA at 1.5 × today's close, conftest) is sold for its loss and EQB bought in its place.
    assert (sell["side"], sell["symbol"], sell["quantity"], sell["lot_id"]) == ("sell", "EQA", 100.0, world.a.lot.pk)
    assert sell["realized_gain"] == pytest.approx(-50 * float(world.prices["EQA"]), abs=0.01)
    assert (buy["side"], buy["symbol"]) == ("buy", "EQB")
    assert float(reco["tax_effect"]) < 0  # a saving

    accepted = api_a.post(f"{URL}/{reco['id']}/accept", {"note": "Client agreed by phone."}, format="json")

    assert accepted.status_code == 200, accepted.json()
    body = accepted.json()
    assert body["status"] == "accepted" and body["decided_by"] == "advisor_a"
    assert body["decision_note"] == "Client agreed by phone."
    event = AuditEvent.objects.get(action="wealth.recommendation.accept", object_id=str(reco["id"]))
    assert event.actor_name == "advisor_a" and event.parameters["note"] == "Client agreed by phone."
    assert event.explanation["reason"] == body["reason"] and event.explanation["explanation"] == body["explanation"]
    holdings = api_a.get(f"/api/v1/wealth/clients/{world.a.client.pk}").json()["accounts"][0]["holdings"]
    assert [h["symbol"] for h in holdings] == ["EQB"]
    assert float(holdings[0]["quantity"]) == buy["quantity"]

    again = api_a.post(f"{URL}/{reco['id']}/accept", {}, format="json")
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "conflict",
        "message": "This recommendation is accepted; only a proposed one can be accepted.",
    }
    assert AuditEvent.objects.filter(action="wealth.recommendation.accept").count() == 1


def test_given_nothing_to_harvest_then_200_nothing_to_do(world, api_a, advisor):
    empty = Client.objects.create(code="CA2", name="No holdings", advisor=advisor, birth_date=dt.date(1990, 1, 1))

    response = _propose(api_a, empty, "harvest")

    assert response.status_code == 200
    assert response.json() == {"detail": "nothing to do"}
    assert not Recommendation.objects.filter(client=empty).exists()


def test_rebalance_proposal_supersedes_the_open_one(world, api_a):
    response = _propose(api_a, world.a.client, "rebalance", cash_flow="1000.00")

    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "rebalance" and response.json()["trades"]
    world.a.recommendation.refresh_from_db()
    assert world.a.recommendation.status == "superseded"
    stale = api_a.post(f"{URL}/{world.a.recommendation.pk}/accept", {}, format="json")
    assert stale.status_code == 409


def test_allocation_proposal_weights_add_up_to_one(world, api_a):
    response = _propose(api_a, world.a.client, "allocation", objective="max_sharpe")

    assert response.status_code == 201, response.json()
    explanation = response.json()["explanation"]
    assert explanation["objective"] == "max_sharpe"
    assert set(explanation["weights"]) <= {"EQA", "EQB", "BND"}
    assert sum(explanation["weights"].values()) == pytest.approx(1.0, abs=1e-4)  # fully invested


def test_allocation_with_black_litterman_views(world, api_a):
    views = [{"symbol": "BND", "return": 0.06, "confidence": 0.8}]

    response = _propose(
        api_a, world.a.client, "allocation", objective="max_sharpe", returns="black_litterman", views=views
    )

    assert response.status_code == 201, response.json()
    source = response.json()["explanation"]["returns_source"]
    assert source["source"] == "black_litterman"
    assert source["views"] == [{"symbol": "BND", "return": 0.06, "confidence": 0.8}]


@pytest.mark.parametrize(
    "params, field",
    [
        # No long-only portfolio of these three earns 150 % a year: the optimiser's reasons.
        ({"kind": "allocation", "objective": "target_return", "target": 1.5}, "constraints"),
        ({"kind": "allocation", "objective": "target_return"}, "target"),
        ({"kind": "allocation", "objective": "best"}, "objective"),
        ({"kind": "allocation", "max_turnover": 2}, "max_turnover"),
        ({"kind": "allocation", "returns": "black_litterman", "views": [{"symbol": "ZZZ", "return": 0.1}]}, "views"),
        ({"kind": "allocation", "views": [{"symbol": "EQA", "return": 0.1}]}, "views"),
        ({"kind": "harvest", "cash_flow": "100"}, "cash_flow"),
        ({"kind": "rebalance", "objective": "max_sharpe"}, "objective"),
        ({"kind": "rebalance", "cash_flow": "abc"}, "cash_flow"),
        ({"kind": "coaching"}, "kind"),
    ],
)
def test_given_bad_proposal_input_then_400_naming_the_field_and_nothing_written(world, api_a, params, field):
    response = api_a.post(f"{URL}/propose", {"client": world.a.client.pk, **params}, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert Recommendation.objects.count() == 2
    world.a.recommendation.refresh_from_db()
    assert world.a.recommendation.status == "proposed"


def test_decline_needs_a_note_and_is_audited(world, api_a):
    url = f"{URL}/{world.a.recommendation.pk}/decline"
    for body in ({}, {"note": ""}, {"note": "   "}):
        missing = api_a.post(url, body, format="json")
        assert missing.status_code == 400 and "note" in missing.json()["error"]["fields"]
    world.a.recommendation.refresh_from_db()
    assert world.a.recommendation.status == "proposed"

    declined = api_a.post(url, {"note": "Client prefers to wait."}, format="json")

    assert declined.status_code == 200
    assert declined.json()["status"] == "declined" and declined.json()["decision_note"] == "Client prefers to wait."
    event = AuditEvent.objects.get(action="wealth.recommendation.decline", object_id=str(world.a.recommendation.pk))
    assert event.parameters["note"] == "Client prefers to wait."
    assert api_a.post(url, {"note": "Again"}, format="json").status_code == 409
    assert api_a.post(f"{URL}/{world.a.recommendation.pk}/accept", {}, format="json").status_code == 409


def test_given_another_advisors_recommendation_or_client_then_not_found_and_nothing_written(world, api_a):
    theirs = world.b.recommendation
    assert api_a.get(f"{URL}/{theirs.pk}").status_code == 404
    assert api_a.post(f"{URL}/{theirs.pk}/accept", {"note": "x"}, format="json").status_code == 404
    assert api_a.post(f"{URL}/{theirs.pk}/decline", {"note": "x"}, format="json").status_code == 404
    for kind in ("harvest", "rebalance", "allocation"):
        response = _propose(api_a, world.b.client, kind)
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"client": ["Not found."]}
    theirs.refresh_from_db()
    assert theirs.status == "proposed"
    assert Recommendation.objects.filter(client=world.b.client).count() == 1
    assert TaxLot.objects.get(pk=world.b.lot.pk).quantity == 100


def test_auditor_reads_but_cannot_propose_accept_or_decline(world, api_auditor):
    reco = world.a.recommendation
    assert api_auditor.get(f"{URL}/{reco.pk}").status_code == 200
    assert api_auditor.post(f"{URL}/{reco.pk}/accept", {}, format="json").status_code == 403
    assert api_auditor.post(f"{URL}/{reco.pk}/decline", {"note": "No"}, format="json").status_code == 403
    assert _propose(api_auditor, world.a.client, "harvest").status_code == 403
    reco.refresh_from_db()
    assert reco.status == "proposed" and Recommendation.objects.count() == 2
