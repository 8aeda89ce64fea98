"""Shell pages: home with live counts, login/logout, run progress partial, health."""

from __future__ import annotations

import hashlib
import sys
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.views import LoginView, LogoutView
from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views import defaults
from django.views.generic import TemplateView

from core.api.errors import database_unavailable_body, error_body
from core.errors import DATABASE_RETRY_AFTER_S, database_unavailable
from core.health import health_check
from core.models import CalculationRun
from core.permissions import AreaRequiredMixin
from core.plotting import chart_json, daily_bar_figure
from core.roles import Area
from core.selectors import run_list
from portfolios import selectors
from portfolios.models import Instrument, MarketTrade, PriceBar, Quote


class VigilLoginView(LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class VigilLogoutView(LogoutView):
    http_method_names = ["post", "options"]


def home_counts(user: Any) -> dict[str, Any]:
    """Figures for the home page, scoped to the user's desks.

    Table volumes (orders, executions, market data) are exact counts over tables of millions of
    rows, so they are cached per desk scope for ``HOME_COUNTS_CACHE_SECONDS``; what an officer
    acts on (executions in the last 24 h, the latest one, halted books, runs) is always live.
    """
    since = timezone.now() - timedelta(days=1)
    trades = selectors.trade_list(user=user)
    latest_trade = trades.order_by("-ts").values_list("ts", flat=True).first()
    runs = run_list(user=user)
    return {
        **_volume_counts(user),
        "trades_24h": trades.filter(ts__gte=since).count(),
        "latest_trade": latest_trade,
        "halted": selectors.portfolio_list(user=user).filter(halted=True).count(),
        "runs_active": runs.filter(status__in=[CalculationRun.Status.QUEUED, CalculationRun.Status.RUNNING]).count(),
        "runs_failed_24h": runs.filter(status=CalculationRun.Status.FAILED, created_at__gte=since).count(),
        "recent_runs": list(runs[:5]),
    }


def _volume_counts(user: Any) -> dict[str, int]:
    def count() -> dict[str, int]:
        return {
            "portfolios": selectors.portfolio_list(user=user).count(),
            "accounts": selectors.account_list(user=user).count(),
            "orders": selectors.order_list(user=user).count(),
            "trades": selectors.trade_list(user=user).count(),
            "instruments": Instrument.objects.count(),
            "price_bars": PriceBar.objects.count(),
            "quotes": Quote.objects.count(),
            "tape": MarketTrade.objects.count(),
        }

    seconds = settings.HOME_COUNTS_CACHE_SECONDS
    if seconds <= 0:
        return count()
    # Users with the same desks see the same figures: one cache entry per scope, not per user.
    scope = "all" if user.is_superuser else ",".join(map(str, sorted(selectors.desk_ids(user))))
    key = "home:volumes:" + hashlib.sha256(scope.encode()).hexdigest()[:32]
    return cast(dict[str, int], cache.get_or_set(key, count, timeout=seconds))


def executions_per_day(*, user: Any, last_ts: datetime | None, days: int = 30) -> list[tuple[date, int]]:
    """Executions per UTC day in the user's scope over the ``days`` days ending at ``last_ts``.

    The window ends at the latest execution rather than today, so a book whose data stops in
    the past (the demo ends in 2022) still shows its last month. Days without executions are
    included with 0. One grouped query on the trade timestamp index.
    """
    if last_ts is None:
        return []
    end = last_ts.astimezone(UTC).date()
    start = end - timedelta(days=days - 1)
    counted = dict(
        selectors.trade_list(user=user)
        .filter(ts__gte=datetime.combine(start, time.min, tzinfo=UTC))
        .order_by()
        .annotate(day=TruncDate("ts", tzinfo=UTC))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return [(start + timedelta(days=i), counted.get(start + timedelta(days=i), 0)) for i in range(days)]


class HomeView(AreaRequiredMixin, TemplateView):
    area = Area.HOME
    template_name = "core/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx["counts"] = home_counts(self.request.user)
        ctx["desks"] = selectors.desk_list(user=self.request.user)
        per_day = executions_per_day(user=self.request.user, last_ts=ctx["counts"]["latest_trade"])
        ctx["executions_chart"] = (
            chart_json(
                daily_bar_figure(days=[d for d, _ in per_day], values=[n for _, n in per_day], value_label="Executions")
            )
            if per_day
            else ""
        )
        return ctx


class HomeCountsView(AreaRequiredMixin, TemplateView):
    """The live-counts partial, refreshed by htmx every few seconds."""

    area = Area.HOME
    template_name = "core/_home_counts.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {"counts": home_counts(self.request.user)}


class RunProgressView(AreaRequiredMixin, TemplateView):
    """The reusable progress-bar partial; polls itself until the run finishes."""

    area = Area.HOME
    template_name = "core/_run_progress.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        run = get_object_or_404(run_list(user=self.request.user), pk=kwargs["pk"])
        return {"run": run}


def health(request: HttpRequest) -> HttpResponse:
    """For load balancers and monitoring: database, broker and workers (``core.health``). No auth needed."""
    report = health_check()
    response = JsonResponse(report.as_dict(), status=report.http_status)
    response["Cache-Control"] = "no-store"
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """API paths answer in the API's error shape; pages get the 404 page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "not_found", "message": "No such endpoint or object."}}, status=404)
    return render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 handler; a database that cannot be reached is a 503 with ``Retry-After`` instead.

    Django calls it while handling the exception, so ``sys.exc_info()`` names it. The 503 page
    is rendered without the request: the layout's context processors would query the database
    that just failed. API paths answer in the API's error shape (the API's own exception handler
    covers errors inside its views; this covers those raised around them, in middleware).
    """
    if database_unavailable(sys.exc_info()[1]):
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse(database_unavailable_body(), status=503)
        else:
            response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
        return response
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body("server_error", "Internal error; the request id identifies it in the logs."), status=500
        )
    return defaults.server_error(request)
