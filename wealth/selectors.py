"""Wealth reads shared by the pages and the API, scoped to the clients the user may see.

An advisor sees their own clients; an auditor (read-only) sees the clients of advisors who
share one of the auditor's desks; superusers see all; anyone else sees none. A client out of
scope is "not found", never "forbidden", so ids reveal nothing.

Writing is narrower than reading (``write=True``): only the advisor's own clients (all for
superusers, none for an auditor). A user who is both advisor and auditor reads the desk's
clients but changes only their own.
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


def client_scope(user: Any, *, write: bool = False) -> QuerySet[Client]:
    """The clients ``user`` may see, or with ``write`` change (see the module docstring)."""
    qs = Client.objects.select_related("advisor", "household")
    if getattr(user, "is_superuser", False):
        return qs
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    roles = user_roles(user)
    if write:
        return qs.filter(advisor=user) if Role.WEALTH_ADVISOR in roles else qs.none()
    if Role.WEALTH_ADVISOR in roles and Role.AUDITOR not in roles:
        return qs.filter(advisor=user)
    if Role.AUDITOR in roles:
        shared = Desk.objects.filter(members=user).filter(members=OuterRef("advisor"))
        mine = qs.filter(advisor=user) if Role.WEALTH_ADVISOR in roles else qs.none()
        return qs.filter(Exists(shared)) | mine
    return qs.none()


def client_get(*, user: Any, pk: Any, write: bool = False) -> Client:
    try:
        return client_scope(user, write=write).get(pk=_pk(pk))
    except Client.DoesNotExist:
        raise NotFound("Client not found.") from None


def _in_scope(user: Any, qs: QuerySet[Any], path: str, write: bool = False) -> QuerySet[Any]:
    return qs.filter(**{f"{path}__in": client_scope(user, write=write).values("pk")})


def account_scope(user: Any) -> QuerySet[WealthAccount]:
    return _in_scope(user, WealthAccount.objects.select_related("client"), "client")


def goal_scope(user: Any, *, write: bool = False) -> QuerySet[Goal]:
    return _in_scope(user, Goal.objects.select_related("client"), "client", write)


def goal_get(*, user: Any, pk: Any, write: bool = False) -> Goal:
    try:
        return goal_scope(user, write=write).get(pk=_pk(pk))
    except Goal.DoesNotExist:
        raise NotFound("Goal not found.") from None


def plan_scope(user: Any) -> QuerySet[GoalPlan]:
    return _in_scope(user, GoalPlan.objects.select_related("goal", "goal__client"), "goal__client")


def profile_scope(user: Any) -> QuerySet[RiskProfile]:
    return _in_scope(user, RiskProfile.objects.select_related("client", "response__questionnaire"), "client")


def recommendation_scope(user: Any, *, write: bool = False) -> QuerySet[Recommendation]:
    return _in_scope(user, Recommendation.objects.select_related("client", "decided_by"), "client", write)


def recommendation_get(*, user: Any, pk: Any, write: bool = False) -> Recommendation:
    try:
        return recommendation_scope(user, write=write).get(pk=_pk(pk))
    except Recommendation.DoesNotExist:
        raise NotFound("Recommendation not found.") from None


def profile_current(client: Client) -> RiskProfile | None:
    """The client's newest risk profile (None before the questionnaire is answered)."""
    return client.profiles.order_by("-created_at", "-id").first()


def money_at_stake(review: ClientReview) -> float:
    """Dollars a review puts at stake: the market value out of place (drift × market value, the
    one-way amount to trade back to target) plus the harvestable tax saving."""
    return float(review.drift) * float(review.market_value) + float(review.harvest_saving)


def attention_priority(review: ClientReview) -> tuple[bool, int, float]:
    """The dashboard's sort key, most urgent first when sorted ascending: clients needing
    attention, then more reasons (drift, harvest, each goal line, each nudge), then more money at
    stake."""
    return (not review.attention, -len(review.reasons or []), -money_at_stake(review))


def attention_list(*, user: Any) -> list[ClientReview]:
    """The newest review of every client in scope, most urgent first (``attention_priority``),
    ties by name. Each review carries ``priority`` (1 = most urgent) and ``money_at_stake``."""
    reviews = (
        ClientReview.objects.filter(client__in=client_scope(user).values("pk"))
        .select_related("client")
        .order_by("client_id", "-as_of")
        .distinct("client_id")
    )
    ordered = sorted(reviews, key=lambda r: (*attention_priority(r), r.client.name, r.client_id))
    for rank, review in enumerate(ordered, start=1):
        review.priority = rank  # type: ignore[attr-defined]
        review.money_at_stake = money_at_stake(review)  # type: ignore[attr-defined]
    return ordered
