"""Questionnaire and risk profile API: the active questionnaire, scoring answers into a profile,
field errors per question code with nothing written, scoping and read-only auditors.

Expected profiles follow from the scoring convention (docs/wealth-methodology.md): each dimension
is rescaled to 0–100 between the least and most points possible, the score is the lower of
willingness and capacity, and profile k covers scores from 20·(k−1) to 20·k.
"""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from wealth.models import QuestionnaireResponse, RiskProfile

pytestmark = pytest.mark.django_db


def _answers(questionnaire: dict, *, willingness: str, capacity: str) -> dict[str, str]:
    """The lowest- or highest-scoring choice of every question, per dimension."""
    out = {}
    for q in questionnaire["questions"]:
        ranked = sorted(q["choices"], key=lambda c: c["points"])
        pick = willingness if q["dimension"] == "willingness" else capacity
        out[q["code"]] = ranked[0 if pick == "min" else -1]["value"]
    return out


@pytest.fixture
def questionnaire(world, api_a) -> dict:
    response = api_a.get("/api/v1/wealth/questionnaire")
    assert response.status_code == 200
    return response.json()


def test_active_questionnaire_lists_questions_of_both_dimensions_with_choices(questionnaire, api_auditor):
    assert questionnaire["version"] == 1 and questionnaire["is_active"] is True
    dimensions = {q["dimension"] for q in questionnaire["questions"]}
    assert dimensions == {"willingness", "capacity"}
    assert all(len(q["choices"]) >= 2 and q["code"] and q["text"] for q in questionnaire["questions"])
    assert api_auditor.get("/api/v1/wealth/questionnaire").json()["id"] == questionnaire["id"]


@pytest.mark.parametrize(
    "willingness, capacity, profile, governed",
    [
        ("min", "min", 1, None),  # both 0 → score 0 → profile 1
        ("max", "max", 5, None),  # both 100 → score 100 → profile 5
        ("max", "min", 1, "capacity"),  # capacity 0 caps willingness 100
    ],
)
def test_submit_scores_the_answers_into_the_clients_current_profile(
    world, api_a, questionnaire, willingness, capacity, profile, governed
):
    answers = _answers(questionnaire, willingness=willingness, capacity=capacity)

    response = api_a.post("/api/v1/wealth/profiles", {"client": world.a.client.pk, "answers": answers}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["profile"] == profile and body["client"] == world.a.client.pk
    assert body["willingness"] == (100.0 if willingness == "max" else 0.0)
    assert body["capacity"] == (100.0 if capacity == "max" else 0.0)
    assert body["score"] == min(body["willingness"], body["capacity"])
    assert body["answers"] == answers and body["submitted_by"] == "advisor_a" and body["explanation"]
    assert body["questionnaire_version"] == 1
    if governed:
        assert any(governed in reason.lower() for reason in body["explanation"])
    detail = api_a.get(f"/api/v1/wealth/clients/{world.a.client.pk}").json()
    assert detail["profile"] == profile and detail["current_profile"]["id"] == body["id"]
    assert AuditEvent.objects.filter(action="wealth.profile.submit", object_id=str(body["id"])).exists()


def test_given_missing_and_unknown_answers_then_field_error_per_question_and_nothing_written(
    world, api_a, questionnaire
):
    answers = _answers(questionnaire, willingness="max", capacity="max")
    first, second = questionnaire["questions"][0]["code"], questionnaire["questions"][1]["code"]
    del answers[first]
    answers[second] = "no_such_choice"

    response = api_a.post("/api/v1/wealth/profiles", {"client": world.a.client.pk, "answers": answers}, format="json")

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert first in fields and second in fields
    assert not RiskProfile.objects.exists() and not QuestionnaireResponse.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"client": "CLIENT", "answers": {}}, "answers"),
        ({"client": "CLIENT", "answers": ["hold"]}, "answers"),
        ({"answers": {"market_fall": "hold"}}, "client"),
        ({"client": -1, "answers": {"market_fall": "hold"}}, "client"),
    ],
)
def test_given_malformed_body_then_field_error(world, api_a, body, field):
    if body.get("client") == "CLIENT":
        body = {**body, "client": world.a.client.pk}

    response = api_a.post("/api/v1/wealth/profiles", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not RiskProfile.objects.exists()


def test_given_another_advisors_client_then_not_found_and_nothing_written(world, api_a, api_b, questionnaire):
    answers = _answers(questionnaire, willingness="max", capacity="max")

    response = api_a.post("/api/v1/wealth/profiles", {"client": world.b.client.pk, "answers": answers}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"client": ["Not found."]}
    assert not RiskProfile.objects.exists()
    # B's own profile is invisible to A in the list and by id.
    theirs = api_b.post(
        "/api/v1/wealth/profiles", {"client": world.b.client.pk, "answers": answers}, format="json"
    ).json()
    assert api_a.get(f"/api/v1/wealth/profiles/{theirs['id']}").status_code == 404
    assert api_a.get("/api/v1/wealth/profiles").json()["results"] == []
    assert [p["id"] for p in api_b.get(f"/api/v1/wealth/profiles?client={world.b.client.pk}").json()["results"]] == [
        theirs["id"]
    ]


def test_auditor_reads_profiles_but_cannot_submit(world, api_a, api_auditor, questionnaire):
    answers = _answers(questionnaire, willingness="min", capacity="max")
    mine = api_a.post("/api/v1/wealth/profiles", {"client": world.a.client.pk, "answers": answers}, format="json")

    assert api_auditor.get(f"/api/v1/wealth/profiles/{mine.json()['id']}").status_code == 200
    refused = api_auditor.post(
        "/api/v1/wealth/profiles", {"client": world.a.client.pk, "answers": answers}, format="json"
    )
    assert refused.status_code == 403
    assert RiskProfile.objects.count() == 1
