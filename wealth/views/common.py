"""Helpers shared by the wealth pages: who may act, 404 for what is out of scope, the run of
the user's scan, and the latest price of each instrument for valuing lots."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest

from core.errors import NotFound
from core.models import CalculationRun
from core.roles import is_read_only
from portfolios.models import PriceBar
from wealth import selectors
from wealth.models import Client, Goal, Recommendation

SCAN_KIND = "wealth.scan"


def can_act(request: HttpRequest) -> bool:
    """Advisors (and superusers) act; auditors read and see no buttons."""
    return not is_read_only(request.user)


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def can_act_on(request: HttpRequest, client: Client) -> bool:
    """``can_act`` and the client is one the user may change (their own; a user who is also an
    auditor reads the desk's other clients without acting on them)."""
    return can_act(request) and selectors.client_scope(request.user, write=True).filter(pk=client.pk).exists()


def client_or_404(request: HttpRequest, pk: Any, *, write: bool = False) -> Client:
    """The client in the user's scope (``write``: one the user may change), else 404."""
    try:
        return selectors.client_get(user=request.user, pk=pk, write=write)
    except NotFound:
        raise Http404("No such client.") from None


def goal_or_404(request: HttpRequest, pk: Any, *, write: bool = False) -> Goal:
    try:
        return selectors.goal_get(user=request.user, pk=pk, write=write)
    except NotFound:
        raise Http404("No such goal.") from None


def recommendation_or_404(request: HttpRequest, pk: Any, *, write: bool = False) -> Recommendation:
    try:
        return selectors.recommendation_get(user=request.user, pk=pk, write=write)
    except NotFound:
        raise Http404("No such recommendation.") from None


def active_scan(request: HttpRequest) -> CalculationRun | None:
    """The user's latest unfinished scan, so a reload keeps showing its progress."""
    run = CalculationRun.objects.filter(kind=SCAN_KIND, user=request.user).order_by("-id").first()
    return run if run is not None and not run.is_finished else None


def latest_prices(instrument_ids: Iterable[int]) -> dict[int, Decimal]:
    """The latest close of each instrument (what a lot is worth today); absent without bars."""
    ids = sorted(set(instrument_ids))
    if not ids:
        return {}
    newest = PriceBar.objects.filter(instrument_id=OuterRef("instrument_id")).order_by("-date")
    rows = PriceBar.objects.filter(instrument_id__in=ids, pk=Subquery(newest.values("pk")[:1])).values_list(
        "instrument_id", "close"
    )
    return dict(rows)


def reason_text(reason: Any) -> str:
    """A stored reason as the sentence to show (reasons are strings, or dicts with a message)."""
    if isinstance(reason, dict):
        return str(reason.get("message") or reason.get("text") or reason.get("reason") or "")
    return str(reason)
