"""Wealth reads shared by the pages and the API, scoped to the clients the user may see.

An advisor sees their own clients; an auditor (read-only) sees the clients of advisors who
share one of the auditor's desks; superusers see all; anyone else sees none. A client out of
scope is "not found", never "forbidden", so ids reveal nothing.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from core.errors import NotFound
from core.roles import Role, user_roles
from portfolios.models import Desk
from wealth.models import (
    Client,
    ClientReview,
    Goal,
    GoalPlan,
    Recommendation,
    RiskProfile,
    WealthAccount,
)


def _pk(value: Any) -> int:
    """A primary key from a URL or form; anything that is not one is simply not found."""
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise NotFound("Not found.") from None
    if not 0 < pk < 2**63:
        raise NotFound("Not found.")
    return pk


def client_scope(user: Any) -> QuerySet[Client]:
    """The clients ``user`` may see (see the module docstring)."""
    qs = Client.objects.select_related("advisor", "household")
    if getattr(user, "is_superuser", False):
        return qs
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    roles = user_roles(user)
    if Role.WEALTH_ADVISOR in roles and Role.AUDITOR not in roles:
        return qs.filter(advisor=user)
    if Role.AUDITOR in roles:
        shared = Desk.objects.filter(members=user).filter(members=OuterRef("advisor"))
        mine = qs.filter(advisor=user) if Role.WEALTH_ADVISOR in roles else qs.none()
        return qs.filter(Exists(shared)) | mine
    return qs.none()


def client_get(*, user: Any, pk: Any) -> Client:
    try:
        return client_scope(user).get(pk=_pk(pk))
    except Client.DoesNotExist:
        raise NotFound("Client not found.") from None


def _in_scope(user: Any, qs: QuerySet[Any], path: str) -> QuerySet[Any]:
    return qs.filter(**{f"{path}__in": client_scope(user).values("pk")})


def account_scope(user: Any) -> QuerySet[WealthAccount]:
    return _in_scope(user, WealthAccount.objects.select_related("client"), "client")


def goal_scope(user: Any) -> QuerySet[Goal]:
    return _in_scope(user, Goal.objects.select_related("client"), "client")


def goal_get(*, user: Any, pk: Any) -> Goal:
    try:
        return goal_scope(user).get(pk=_pk(pk))
    except Goal.DoesNotExist:
        raise NotFound("Goal not found.") from None


def plan_scope(user: Any) -> QuerySet[GoalPlan]:
    return _in_scope(user, GoalPlan.objects.select_related("goal", "goal__client"), "goal__client")


def profile_scope(user: Any) -> QuerySet[RiskProfile]:
    return _in_scope(user, RiskProfile.objects.select_related("client", "response__questionnaire"), "client")


def recommendation_scope(user: Any) -> QuerySet[Recommendation]:
    return _in_scope(user, Recommendation.objects.select_related("client", "decided_by"), "client")


def recommendation_get(*, user: Any, pk: Any) -> Recommendation:
    try:
        return recommendation_scope(user).get(pk=_pk(pk))
    except Recommendation.DoesNotExist:
        raise NotFound("Recommendation not found.") from None


def profile_current(client: Client) -> RiskProfile | None:
    """The client's newest risk profile (None before the questionnaire is answered)."""
    return client.profiles.order_by("-created_at", "-id").first()


def attention_list(*, user: Any) -> list[ClientReview]:
    """The newest review of every client in scope: those needing attention first, then by the
    size of what is at stake (drift, then harvestable saving)."""
    reviews = (
        ClientReview.objects.filter(client__in=client_scope(user).values("pk"))
        .select_related("client")
        .order_by("client_id", "-as_of")
        .distinct("client_id")
    )
    return sorted(reviews, key=lambda r: (not r.attention, -r.drift, -float(r.harvest_saving), r.client.name))
