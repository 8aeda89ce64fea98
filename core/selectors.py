"""Reads of the shared mechanics: which calculation runs a user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from core.models import CalculationRun
from core.roles import Role, user_roles


def run_list(*, user: Any) -> QuerySet[CalculationRun]:
    """Runs a user may see: their own, and scheduled (user-less) runs of portfolios on their
    desks (runs carry ``portfolio_id`` in their parameters); auditors and superusers see all."""
    qs = CalculationRun.objects.select_related("user")
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser or Role.AUDITOR in user_roles(user):
        return qs
    from portfolios.models import Portfolio  # core sits below the shared model; import lazily

    portfolio_ids = list(Portfolio.objects.filter(desk__members=user).values_list("id", flat=True))
    return qs.filter(Q(user=user) | Q(user__isnull=True, parameters__portfolio_id__in=portfolio_ids))
