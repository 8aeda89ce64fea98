"""Wealth pages."""

from __future__ import annotations

from typing import Any

from django.views.generic import TemplateView

from core.permissions import AreaRequiredMixin
from core.roles import Area
from portfolios import selectors


class IndexView(AreaRequiredMixin, TemplateView):
    """Landing page of the Wealth area: what the user's desks hold, until the module lands."""

    area = Area.WEALTH
    template_name = "wealth/index.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx["portfolios"] = selectors.portfolio_list(user=self.request.user)
        ctx["accounts"] = selectors.account_list(user=self.request.user)
        return ctx
