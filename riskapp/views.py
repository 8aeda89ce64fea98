"""Risk pages: the desk overview and each portfolio's risk page."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.views.generic import TemplateView

from core.permissions import AreaRequiredMixin
from core.roles import Area, is_read_only
from portfolios import selectors as book_selectors
from riskapp import selectors


class IndexView(AreaRequiredMixin, TemplateView):
    """Desk overview: every portfolio of the user's desks with its latest risk figures."""

    area = Area.RISK
    template_name = "riskapp/index.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx["portfolios"] = selectors.latest_runs(user=self.request.user)
        ctx["breaches"] = selectors.breach_list(user=self.request.user)[:20]
        return ctx


class PortfolioRiskView(AreaRequiredMixin, TemplateView):
    """One portfolio's risk page."""

    area = Area.RISK
    template_name = "riskapp/portfolio.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        portfolio = get_object_or_404(book_selectors.portfolio_list(user=self.request.user), code=kwargs["code"])
        run = selectors.run_list(user=self.request.user).filter(portfolio=portfolio).first()
        ctx.update(
            portfolio=portfolio,
            run=run,
            results=run.results.all() if run else [],
            limits=portfolio.limits.all(),
            breaches=portfolio.breaches.select_related("limit")[:20],
            can_edit=not is_read_only(self.request.user),
        )
        return ctx
