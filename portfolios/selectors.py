"""Reads of the shared model, scoped to what the user is assigned.

Users see the accounts, portfolios, orders and trades of their desks; superusers see all.
Reference and market data (instruments, bars, quotes, tape, events, factors) are not scoped.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from portfolios.models import (
    Account,
    BeneficialOwner,
    Desk,
    Order,
    OrderEvent,
    Portfolio,
    Position,
    Trade,
)

AnyUser = User | AnonymousUser


def _sees_all(user: AnyUser) -> bool:
    return bool(getattr(user, "is_superuser", False))


def desk_ids(user: AnyUser) -> list[int]:
    if not user.is_authenticated:
        return []
    return list(Desk.objects.filter(members=user).values_list("id", flat=True))


def scope_by_desk(user: AnyUser, qs: QuerySet[Any], path: str) -> QuerySet[Any]:
    """Limit ``qs`` to rows whose desk (reached through ``path``; "" for desks) is the user's."""
    if _sees_all(user):
        return qs
    if not user.is_authenticated:
        return qs.none()
    return qs.filter(**{f"{path}__members" if path else "members": user})


def desk_list(*, user: AnyUser) -> QuerySet[Desk]:
    if _sees_all(user):
        return Desk.objects.all()
    if not user.is_authenticated:
        return Desk.objects.none()
    return Desk.objects.filter(members=user)


def portfolio_list(*, user: AnyUser) -> QuerySet[Portfolio]:
    return scope_by_desk(user, Portfolio.objects.select_related("desk"), "desk")


def account_list(*, user: AnyUser) -> QuerySet[Account]:
    return scope_by_desk(user, Account.objects.select_related("desk", "owner", "portfolio"), "desk")


def owner_list(*, user: AnyUser) -> QuerySet[BeneficialOwner]:
    """Owners of accounts the user can see (owners are personal data)."""
    if _sees_all(user):
        return BeneficialOwner.objects.all()
    return BeneficialOwner.objects.filter(accounts__in=account_list(user=user)).distinct()


def position_list(*, user: AnyUser) -> QuerySet[Position]:
    return scope_by_desk(user, Position.objects.select_related("portfolio", "instrument"), "portfolio__desk")


def order_list(*, user: AnyUser) -> QuerySet[Order]:
    return scope_by_desk(user, Order.objects.select_related("account", "instrument", "parent"), "account__desk")


def order_event_list(*, user: AnyUser) -> QuerySet[OrderEvent]:
    return scope_by_desk(user, OrderEvent.objects.select_related("order"), "order__account__desk")


def trade_list(*, user: AnyUser) -> QuerySet[Trade]:
    return scope_by_desk(
        user,
        Trade.objects.select_related("account", "counterparty_account", "instrument", "order"),
        "account__desk",
    )
