"""Goals and plans API: CRUD of goals with field errors and nothing written, plans by Monte Carlo
(reproducible with a seed), scoping to the advisor's clients and read-only auditors."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from wealth.models import Goal, GoalPlan

pytestmark = pytest.mark.django_db

NEW_GOAL = {
    "kind": "education",
    "name": "University",
    "target_amount": "80000.00",
    "horizon_years": 12,
    "monthly_contribution": "300.00",
}


def test_list_and_detail_show_the_advisors_goals_with_their_latest_plan(world, api_a):
    rows = api_a.get("/api/v1/wealth/goals").json()["results"]
    assert [r["id"] for r in rows] == [world.a.goal.pk]
    assert rows[0]["latest_plan"]["id"] == world.a.plan.pk
    assert rows[0]["latest_plan"]["success_probability"] == 0.4
    body = api_a.get(f"/api/v1/wealth/goals/{world.a.goal.pk}").json()
    assert body["client"] == world.a.client.pk and body["target_amount"] == "200000.0000"
    assert api_a.get(f"/api/v1/wealth/goals?client={world.b.client.pk}").json()["results"] == []
    assert api_a.get("/api/v1/wealth/goals?kind=retirement").json()["results"] == []


def test_create_update_delete_a_goal_each_audited(world, api_a):
    created = api_a.post("/api/v1/wealth/goals", {**NEW_GOAL, "client": world.a.client.pk}, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["latest_plan"] is None and created.json()["priority"] == "important"

    # A goal stays with its client: "client" is ignored on update.
    changed = api_a.patch(
        f"/api/v1/wealth/goals/{pk}", {"horizon_years": 15, "client": world.b.client.pk}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["horizon_years"] == 15 and changed.json()["client"] == world.a.client.pk

    assert api_a.delete(f"/api/v1/wealth/goals/{pk}").status_code == 204
    assert not Goal.objects.filter(pk=pk).exists()
    actions = set(AuditEvent.objects.filter(object_id=str(pk)).values_list("action", flat=True))
    assert {"wealth.goal.create", "wealth.goal.update", "wealth.goal.delete"} <= actions


@pytest.mark.parametrize(
    "change, field",
    [
        ({"target_amount": "0"}, "target_amount"),  # target must be more than 0
        ({"target_amount": "-100"}, "target_amount"),
        ({"horizon_years": 0}, "horizon_years"),  # at least one year
        ({"horizon_years": 81}, "horizon_years"),
        ({"monthly_contribution": "-50"}, "monthly_contribution"),  # no negative contributions
        ({"initial_amount": "-1"}, "initial_amount"),
        ({"annual_fee": "1"}, "annual_fee"),  # 0 ≤ fee < 1
        ({"kind": "yacht"}, "kind"),
        ({"target_amount": "abc"}, "target_amount"),
    ],
)
def test_given_bad_goal_input_then_400_naming_the_field_and_nothing_written(world, api_a, change, field):
    before = Goal.objects.count()

    created = api_a.post("/api/v1/wealth/goals", {**NEW_GOAL, "client": world.a.client.pk, **change}, format="json")
    updated = api_a.patch(f"/api/v1/wealth/goals/{world.a.goal.pk}", change, format="json")

    for response in (created, updated):
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]
    assert Goal.objects.count() == before
    world.a.goal.refresh_from_db()
    assert world.a.goal.target_amount == 200_000 and world.a.goal.horizon_years == 10


def test_given_another_advisors_goal_or_client_then_not_found_and_nothing_written(world, api_a):
    url = f"/api/v1/wealth/goals/{world.b.goal.pk}"
    assert api_a.get(url).status_code == 404
    assert api_a.patch(url, {"name": "Mine"}, format="json").status_code == 404
    assert api_a.put(url, {**NEW_GOAL, "client": world.a.client.pk}, format="json").status_code == 404
    assert api_a.delete(url).status_code == 404

    response = api_a.post("/api/v1/wealth/goals", {**NEW_GOAL, "client": world.b.client.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"client": ["Not found."]}
    world.b.goal.refresh_from_db()
    assert world.b.goal.name == "Home" and Goal.objects.filter(client=world.b.client).count() == 1


def test_auditor_reads_goals_and_plans_but_cannot_write(world, api_auditor):
    assert api_auditor.get(f"/api/v1/wealth/goals/{world.a.goal.pk}").status_code == 200
    assert api_auditor.get(f"/api/v1/wealth/plans/{world.a.plan.pk}").status_code == 200
    assert api_auditor.get(f"/api/v1/wealth/goals/{world.b.goal.pk}").status_code == 404  # not on their desk
    body = {**NEW_GOAL, "client": world.a.client.pk}
    assert api_auditor.post("/api/v1/wealth/goals", body, format="json").status_code == 403
    assert api_auditor.patch(f"/api/v1/wealth/goals/{world.a.goal.pk}", {"name": "X"}, format="json").status_code == 403
    assert api_auditor.delete(f"/api/v1/wealth/goals/{world.a.goal.pk}").status_code == 403
    assert api_auditor.post("/api/v1/wealth/plans", {"goal": world.a.goal.pk}, format="json").status_code == 403
    assert Goal.objects.count() == 2 and GoalPlan.objects.count() == 2


def test_plan_projects_the_goal_and_a_seed_reproduces_it(world, api_a):
    first = api_a.post("/api/v1/wealth/plans", {"goal": world.a.goal.pk, "seed": 42}, format="json")

    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["goal"] == world.a.goal.pk and body["client"] == world.a.client.pk
    assert body["seed"] == 42 and body["paths"] == 10_000 and body["created_by"] == "advisor_a"
    assert 0.0 <= body["success_probability"] <= 1.0
    fan = body["fan"]
    assert fan["months"][0] == 0 and fan["months"][-1] == 120  # 10-year horizon (conftest)
    # Percentiles of the same paths are ordered at every month.
    for low, high in (("p5", "p25"), ("p25", "p50"), ("p50", "p75"), ("p75", "p95")):
        assert all(a <= b for a, b in zip(fan[low], fan[high], strict=True))
    again = api_a.post("/api/v1/wealth/plans", {"goal": world.a.goal.pk, "seed": 42}, format="json").json()
    assert again["success_probability"] == body["success_probability"]
    assert again["median_outcome"] == body["median_outcome"]
    assert AuditEvent.objects.filter(action="wealth.plan", object_id=str(body["id"])).exists()

    listed = api_a.get(f"/api/v1/wealth/plans?goal={world.a.goal.pk}").json()["results"]
    assert [p["id"] for p in listed] == [again["id"], body["id"], world.a.plan.pk]
    assert "fan" not in listed[0]
    latest = api_a.get(f"/api/v1/wealth/goals/{world.a.goal.pk}").json()["latest_plan"]
    assert latest["id"] == again["id"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"seed": 1}, "goal"),
        ({"goal": "GOAL", "seed": -1}, "seed"),
        ({"goal": "GOAL", "seed": "abc"}, "seed"),
        ({"goal": "abc"}, "goal"),
    ],
)
def test_given_bad_plan_input_then_field_error_and_nothing_written(world, api_a, body, field):
    if body.get("goal") == "GOAL":
        body = {**body, "goal": world.a.goal.pk}

    response = api_a.post("/api/v1/wealth/plans", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert GoalPlan.objects.count() == 2


def test_given_another_advisors_goal_or_plan_then_not_found_and_nothing_written(world, api_a):
    assert api_a.get(f"/api/v1/wealth/plans/{world.b.plan.pk}").status_code == 404
    assert world.b.plan.pk not in [p["id"] for p in api_a.get("/api/v1/wealth/plans").json()["results"]]

    response = api_a.post("/api/v1/wealth/plans", {"goal": world.b.goal.pk, "seed": 1}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"goal": ["Not found."]}
    assert GoalPlan.objects.filter(goal=world.b.goal).count() == 1
