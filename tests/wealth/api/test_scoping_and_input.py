"""Wealth API edge cases: writing is scoped to the user's own clients even for a user who also
reads the desk as an auditor; ids in a body are whole numbers only; goal rates within bounds that
a plan can project; the questionnaire read writes nothing for a read-only user."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from core.roles import Role
from tests.factories import UserFactory
from wealth.engine.profiling import DEFAULT_QUESTIONNAIRE
from wealth.models import Client, Goal, GoalPlan, Household, Questionnaire, Recommendation, RiskProfile

pytestmark = pytest.mark.django_db

NEW_GOAL = {"kind": "education", "name": "University", "target_amount": "80000.00", "horizon_years": 12}


@pytest.fixture
def dual(desk):
    """A wealth advisor who is also an auditor, on advisor A's desk, with one client of their own."""
    user = UserFactory(username="advisor_auditor", roles=[Role.WEALTH_ADVISOR, Role.AUDITOR])
    desk.members.add(user)
    Client.objects.create(code="CD", name="Own client", advisor=user, birth_date=dt.date(1980, 1, 1))
    return user


@pytest.fixture
def api_dual(dual, api_client_for):
    return api_client_for(dual)


def _answers() -> dict[str, str]:
    return {q["code"]: q["choices"][0]["value"] for q in DEFAULT_QUESTIONNAIRE}


def _state() -> tuple:
    """Everything a write could change, to compare before and after."""
    return (
        list(Client.objects.order_by("pk").values_list("pk", "name")),
        list(Goal.objects.order_by("pk").values_list("pk", "name", "horizon_years")),
        GoalPlan.objects.count(),
        RiskProfile.objects.count(),
        list(Recommendation.objects.order_by("pk").values_list("pk", "status")),
        AuditEvent.objects.filter(action__startswith="wealth.")
        .exclude(action__startswith="wealth.questionnaire")
        .count(),
    )


# ---------------------------------------------------------------------------- 1. write scope


def test_given_advisor_and_auditor_then_reads_the_desk_but_cannot_write_another_advisors_client(world, api_dual):
    a = world.a
    Questionnaire.objects.create(version=1, title="Risk", questions=DEFAULT_QUESTIONNAIRE)
    # Reads: advisor A shares the user's desk.
    assert api_dual.get(f"/api/v1/wealth/clients/{a.client.pk}").status_code == 200
    assert api_dual.get(f"/api/v1/wealth/goals/{a.goal.pk}").status_code == 200
    assert api_dual.get(f"/api/v1/wealth/recommendations/{a.recommendation.pk}").status_code == 200
    before = _state()

    # Writes to A's objects by URL: 404, as for an id that does not exist.
    for response in (
        api_dual.patch(f"/api/v1/wealth/clients/{a.client.pk}", {"name": "Taken"}, format="json"),
        api_dual.put(f"/api/v1/wealth/goals/{a.goal.pk}", NEW_GOAL, format="json"),
        api_dual.patch(f"/api/v1/wealth/goals/{a.goal.pk}", {"horizon_years": 3}, format="json"),
        api_dual.delete(f"/api/v1/wealth/goals/{a.goal.pk}"),
        api_dual.post(f"/api/v1/wealth/recommendations/{a.recommendation.pk}/accept", {}, format="json"),
        api_dual.post(f"/api/v1/wealth/recommendations/{a.recommendation.pk}/decline", {"note": "No"}, format="json"),
    ):
        assert response.status_code == 404, response.json()

    # Writes naming A's objects in the body: "Not found." on that field.
    for url, body, field in (
        ("/api/v1/wealth/goals", {**NEW_GOAL, "client": a.client.pk}, "client"),
        ("/api/v1/wealth/plans", {"goal": a.goal.pk, "seed": 1}, "goal"),
        ("/api/v1/wealth/profiles", {"client": a.client.pk, "answers": _answers()}, "client"),
        ("/api/v1/wealth/recommendations/propose", {"client": a.client.pk, "kind": "harvest"}, "client"),
    ):
        response = api_dual.post(url, body, format="json")
        assert response.status_code == 400, (url, response.json())
        assert response.json()["error"]["fields"] == {field: ["Not found."]}

    assert _state() == before


def test_given_advisor_and_auditor_then_writes_to_own_client_work(world, api_dual, dual):
    own = Client.objects.get(advisor=dual)

    changed = api_dual.patch(f"/api/v1/wealth/clients/{own.pk}", {"name": "Renamed"}, format="json")
    created = api_dual.post("/api/v1/wealth/goals", {**NEW_GOAL, "client": own.pk}, format="json")

    assert changed.status_code == 200 and changed.json()["name"] == "Renamed"
    assert created.status_code == 201, created.json()


# ---------------------------------------------------------------------------- 2. ids in a body


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

# Each a function of the real id, so that a value read loosely (1.5 → 1, "١" → 1) would find it.
BAD_IDS = [
    pytest.param(lambda pk: [pk], id="list"),
    pytest.param(lambda pk: {"id": pk}, id="object"),
    pytest.param(lambda pk: True, id="bool"),
    pytest.param(lambda pk: pk + 0.5, id="float"),  # int() would truncate it to the real id
    pytest.param(lambda pk: float(pk), id="float-whole"),
    pytest.param(lambda pk: "²", id="superscript-two"),  # str.isdigit() is true, int() fails
    pytest.param(lambda pk: str(pk).translate(ARABIC_INDIC), id="arabic-indic-digits"),  # int() reads them
    pytest.param(lambda pk: f"-{pk}", id="negative"),
    pytest.param(lambda pk: 2**63 + pk, id="beyond-bigint"),
]


def _id_cases(world, household: Household) -> list[tuple[str, dict, str, int]]:
    """(url, body without the id, the id's field, the real id)."""
    a = world.a
    return [
        ("/api/v1/wealth/goals", NEW_GOAL, "client", a.client.pk),
        ("/api/v1/wealth/plans", {"seed": 1}, "goal", a.goal.pk),
        ("/api/v1/wealth/profiles", {"answers": _answers()}, "client", a.client.pk),
        ("/api/v1/wealth/recommendations/propose", {"kind": "harvest"}, "client", a.client.pk),
        (
            "/api/v1/wealth/clients",
            {"code": "NEW", "name": "New", "birth_date": "1970-01-01"},
            "household",
            household.pk,
        ),
    ]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_given_an_id_that_is_not_a_whole_number_then_400_on_the_field_and_nothing_written(world, api_a, advisor, bad):
    Questionnaire.objects.create(version=1, title="Risk", questions=DEFAULT_QUESTIONNAIRE)
    household = Household.objects.create(name="Park family", advisor=advisor)
    before = _state()

    for url, body, field, pk in _id_cases(world, household):
        response = api_a.post(url, {**body, field: bad(pk)}, format="json")

        assert response.status_code == 400, (url, response.content)
        assert list(response.json()["error"]["fields"]) == [field], (url, response.json())
    assert _state() == before


@pytest.mark.parametrize("as_text", [False, True])
def test_given_an_id_as_a_number_or_a_string_of_ascii_digits_then_it_is_read(world, api_a, as_text):
    pk = world.a.client.pk
    response = api_a.post("/api/v1/wealth/goals", {**NEW_GOAL, "client": str(pk) if as_text else pk}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["client"] == pk


# ---------------------------------------------------------------------------- 3. goal rates


@pytest.mark.parametrize(
    "change, field",
    [
        ({"inflation": "-0.5"}, "inflation"),  # accepted before; 2^80 in today's money over 80 years
        ({"inflation": "-0.11"}, "inflation"),
        ({"inflation": "0.21"}, "inflation"),
        ({"contribution_growth": "1"}, "contribution_growth"),  # 100 % a year: 2^80 over 80 years
        ({"contribution_growth": "-0.21"}, "contribution_growth"),
        ({"contribution_growth": "0.21"}, "contribution_growth"),
        ({"annual_fee": "0.051"}, "annual_fee"),
        ({"annual_fee": "-0.01"}, "annual_fee"),
    ],
)
def test_given_a_goal_rate_out_of_bounds_then_400_naming_it_and_nothing_written(world, api_a, change, field):
    before = _state()

    created = api_a.post("/api/v1/wealth/goals", {**NEW_GOAL, "client": world.a.client.pk, **change}, format="json")
    updated = api_a.patch(f"/api/v1/wealth/goals/{world.a.goal.pk}", change, format="json")

    for response in (created, updated):
        assert response.status_code == 400
        assert list(response.json()["error"]["fields"]) == [field]
    assert _state() == before


def test_given_rates_at_the_bounds_then_goal_saved(world, api_a):
    body = {**NEW_GOAL, "client": world.a.client.pk, "horizon_years": 80}
    body |= {"inflation": "-0.10", "contribution_growth": "0.20", "annual_fee": "0.05"}

    response = api_a.post("/api/v1/wealth/goals", body, format="json")

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    "rates",
    [
        {"inflation": Decimal("-0.5"), "monthly_contribution": Decimal("1000")},  # stored before the bounds
        {"contribution_growth": Decimal("1"), "monthly_contribution": Decimal("1000")},
    ],
)
def test_given_a_stored_goal_projecting_beyond_any_amount_then_plan_is_400_naming_fields(world, api_a, rates):
    goal = world.a.goal
    Goal.objects.filter(pk=goal.pk).update(horizon_years=80, **rates)
    before = _state()

    response = api_a.post("/api/v1/wealth/plans", {"goal": goal.pk, "seed": 1}, format="json")

    assert response.status_code == 400, response.content
    fields = response.json()["error"]["fields"]
    assert {"horizon_years", "inflation", "contribution_growth"} <= set(fields)
    assert _state() == before


# ---------------------------------------------------------------------------- 6. questionnaire read


def test_given_no_questionnaire_when_auditor_reads_it_then_404_and_nothing_created(world, api_auditor):
    response = api_auditor.get("/api/v1/wealth/questionnaire")

    assert response.status_code == 404
    assert "No questionnaire" in response.json()["error"]["message"]
    assert not Questionnaire.objects.exists()
    assert not AuditEvent.objects.filter(action="wealth.questionnaire.create").exists()


def test_given_a_questionnaire_when_auditor_reads_it_then_the_active_version(world, api_auditor):
    Questionnaire.objects.create(version=1, title="Old", questions=DEFAULT_QUESTIONNAIRE, is_active=False)
    active = Questionnaire.objects.create(version=2, title="Risk", questions=DEFAULT_QUESTIONNAIRE)

    response = api_auditor.get("/api/v1/wealth/questionnaire")

    assert response.status_code == 200
    assert response.json()["id"] == active.pk and response.json()["version"] == 2
