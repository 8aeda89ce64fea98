"""Wealth filter sets, shared by the browser list views and the API."""

from __future__ import annotations

import django_filters as df

from wealth.models import Client, Goal, GoalPlan, Recommendation, RiskProfile

# Ids are plain numbers, not model choices: a client of another advisor filters to nothing,
# exactly like an id that does not exist (a choice filter would tell the two apart).
_ID = {"min_value": 1, "max_value": 2**63 - 1, "decimal_places": 0}


class ClientFilterSet(df.FilterSet):
    household = df.NumberFilter(field_name="household_id", label="Household id", **_ID)

    class Meta:
        model = Client
        fields = ["household"]


class RecommendationFilterSet(df.FilterSet):
    client = df.NumberFilter(field_name="client_id", label="Client id", **_ID)
    kind = df.ChoiceFilter(choices=Recommendation.Kind.choices)
    status = df.ChoiceFilter(choices=Recommendation.Status.choices)

    class Meta:
        model = Recommendation
        fields = ["client", "kind", "status"]


class GoalFilterSet(df.FilterSet):
    client = df.NumberFilter(field_name="client_id", label="Client id", **_ID)
    kind = df.ChoiceFilter(choices=Goal.Kind.choices)
    priority = df.ChoiceFilter(choices=Goal.Priority.choices)

    class Meta:
        model = Goal
        fields = ["client", "kind", "priority"]


class GoalPlanFilterSet(df.FilterSet):
    goal = df.NumberFilter(field_name="goal_id", label="Goal id", **_ID)
    client = df.NumberFilter(field_name="goal__client_id", label="Client id", **_ID)

    class Meta:
        model = GoalPlan
        fields = ["goal", "client"]


class RiskProfileFilterSet(df.FilterSet):
    client = df.NumberFilter(field_name="client_id", label="Client id", **_ID)
    profile = df.NumberFilter(min_value=1, max_value=5)

    class Meta:
        model = RiskProfile
        fields = ["client", "profile"]
