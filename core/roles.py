"""Roles are Django groups; what each may open is decided here and nowhere else.

A user's areas follow from their groups; superusers have every area. ``oms_client`` is an
API-only role: it has no browser area at all.
"""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import AnonymousUser, User


class Role(StrEnum):
    RISK_OFFICER = "risk_officer"
    COMPLIANCE_ANALYST = "compliance_analyst"
    COMPLIANCE_SUPERVISOR = "compliance_supervisor"
    WEALTH_ADVISOR = "wealth_advisor"
    AUDITOR = "auditor"
    OMS_CLIENT = "oms_client"


class Area(StrEnum):
    """A part of the product with its own navigation entry."""

    HOME = "home"
    RISK = "risk"
    SURVEILLANCE = "surveillance"
    EXECUTION = "execution"
    WEALTH = "wealth"
    AUDIT = "audit"
    DATA = "data"  # the shared book read through the API (portfolios, orders, trades)
    INGEST = "ingest"  # writing through the OMS API


_STAFF = {Role.RISK_OFFICER, Role.COMPLIANCE_ANALYST, Role.COMPLIANCE_SUPERVISOR, Role.WEALTH_ADVISOR, Role.AUDITOR}

AREA_ROLES: dict[Area, frozenset[Role]] = {
    Area.HOME: frozenset(_STAFF),
    Area.RISK: frozenset({Role.RISK_OFFICER, Role.AUDITOR}),
    Area.SURVEILLANCE: frozenset({Role.COMPLIANCE_ANALYST, Role.COMPLIANCE_SUPERVISOR, Role.AUDITOR}),
    Area.EXECUTION: frozenset({Role.COMPLIANCE_ANALYST, Role.COMPLIANCE_SUPERVISOR, Role.RISK_OFFICER, Role.AUDITOR}),
    Area.WEALTH: frozenset({Role.WEALTH_ADVISOR, Role.AUDITOR}),
    Area.AUDIT: frozenset({Role.AUDITOR}),
    Area.DATA: frozenset(_STAFF | {Role.OMS_CLIENT}),
    Area.INGEST: frozenset({Role.OMS_CLIENT}),
}

# Roles that may change things in the areas they can see. The auditor only reads.
READ_ONLY_ROLES = frozenset({Role.AUDITOR})


def user_roles(user: User | AnonymousUser) -> frozenset[Role]:
    """The user's roles, cached on the user object for the request."""
    if not user.is_authenticated:
        return frozenset()
    cached: frozenset[Role] | None = getattr(user, "_vigil_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = frozenset(r for r in Role if r.value in names)
        user._vigil_roles = cached  # type: ignore[attr-defined]  # per-request cache
    return cached


def has_area(user: User | AnonymousUser, area: Area) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return bool(user_roles(user) & AREA_ROLES[area])


def is_read_only(user: User | AnonymousUser) -> bool:
    """True when every role of the user is read-only (auditors)."""
    if getattr(user, "is_superuser", False):
        return False
    roles = user_roles(user)
    return bool(roles) and roles <= READ_ONLY_ROLES
