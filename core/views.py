"""Shell pages: home with live counts, login/logout, run progress partial, health."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.views import LoginView, LogoutView
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.generic import TemplateView

from core.api.views import run_list
from core.models import CalculationRun
from core.permissions import AreaRequiredMixin
from core.roles import Area
from portfolios import selectors
from portfolios.models import Instrument, MarketTrade, PriceBar, Quote


class VigilLoginView(LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class VigilLogoutView(LogoutView):
    http_method_names = ["post", "options"]


def home_counts(user: Any) -> dict[str, Any]:
    """Figures for the home page, scoped to the user's desks."""
    since = timezone.now() - timedelta(days=1)
    trades = selectors.trade_list(user=user)
    latest_trade = trades.order_by("-ts").values_list("ts", flat=True).first()
    runs = run_list(user=user)
    return {
        "portfolios": selectors.portfolio_list(user=user).count(),
        "accounts": selectors.account_list(user=user).count(),
        "orders": selectors.order_list(user=user).count(),
        "trades": trades.count(),
        "trades_24h": trades.filter(ts__gte=since).count(),
        "latest_trade": latest_trade,
        "instruments": Instrument.objects.count(),
        "price_bars": PriceBar.objects.count(),
        "quotes": Quote.objects.count(),
        "tape": MarketTrade.objects.count(),
        "halted": selectors.portfolio_list(user=user).filter(halted=True).count(),
        "runs_active": runs.filter(status__in=[CalculationRun.Status.QUEUED, CalculationRun.Status.RUNNING]).count(),
        "runs_failed_24h": runs.filter(status=CalculationRun.Status.FAILED, created_at__gte=since).count(),
        "recent_runs": list(runs[:5]),
    }


class HomeView(AreaRequiredMixin, TemplateView):
    area = Area.HOME
    template_name = "core/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx["counts"] = home_counts(self.request.user)
        ctx["desks"] = selectors.desk_list(user=self.request.user)
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
    """Liveness for load balancers: database reachable. Says nothing else (no auth needed)."""
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        db = "ok"
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        db = "unavailable"
    status = 200 if db == "ok" else 503
    return JsonResponse({"status": "ok" if status == 200 else "degraded", "database": db}, status=status)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)
