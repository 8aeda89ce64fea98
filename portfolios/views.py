"""Pages of the shared model: the portfolios a user can see and each one's book."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST
from django.views.generic import DetailView, ListView

from core.permissions import AreaRequiredMixin, area_required
from core.plotting import chart_json, horizontal_bar_figure
from core.roles import Area, is_read_only
from core.services import calculation_run_create
from portfolios import selectors
from portfolios.forms import SnapshotForm
from portfolios.models import Instrument, Portfolio, PriceBar
from portfolios.services import portfolio_book
from portfolios.tasks import positions_snapshot_task

# Bars drawn on the portfolio page's position chart before the rest are summed into one.
POSITIONS_CHART_MAX = 25


class PortfolioListView(AreaRequiredMixin, ListView):  # type: ignore[type-arg]
    area = Area.HOME
    template_name = "portfolios/portfolio_list.html"
    paginate_by = 50

    def get_queryset(self) -> Any:
        return selectors.portfolio_list(user=self.request.user).annotate(n_accounts=Count("accounts")).order_by("code")


class PortfolioDetailView(AreaRequiredMixin, DetailView):  # type: ignore[type-arg]
    area = Area.HOME
    template_name = "portfolios/portfolio_detail.html"
    slug_field = "code"
    slug_url_kwarg = "code"

    def get_queryset(self) -> Any:
        return selectors.portfolio_list(user=self.request.user)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        portfolio: Portfolio = self.object
        as_of = self._as_of(portfolio)
        book = portfolio_book(portfolio=portfolio, as_of=as_of) if as_of else {}
        instruments = Instrument.objects.in_bulk(list(book))
        closes = (
            dict(
                PriceBar.objects.filter(instrument_id__in=list(book), date=as_of).values_list("instrument_id", "close")
            )
            if as_of
            else {}
        )
        rows = []
        for iid, qty in sorted(book.items(), key=lambda kv: instruments[kv[0]].symbol):
            inst = instruments[iid]
            close = closes.get(iid)
            value = qty * close * inst.multiplier if close is not None else None
            rows.append({"instrument": inst, "quantity": qty, "close": close, "value": value})
        ctx.update(
            as_of=as_of,
            rows=rows,
            positions_chart=self._positions_chart(rows, portfolio.base_currency),
            gross=sum((abs(r["value"]) for r in rows if r["value"] is not None), 0),
            accounts=portfolio.accounts.select_related("owner"),
            form=SnapshotForm(initial={"as_of": as_of}),
            can_run=not is_read_only(self.request.user),
        )
        return ctx

    @staticmethod
    def _positions_chart(rows: list[dict[str, Any]], currency: str) -> str:
        """Horizontal bars of position value (base currency), largest absolute value on top.

        Past ``POSITIONS_CHART_MAX`` bars the rest are summed into one "others" bar, so a book
        of thousands of lines still draws a readable chart. Empty when no position has a close.
        """
        valued = sorted((r for r in rows if r["value"] is not None), key=lambda r: -abs(r["value"]))
        if not valued:
            return ""
        top, rest = valued[:POSITIONS_CHART_MAX], valued[POSITIONS_CHART_MAX:]
        labels = [r["instrument"].symbol for r in top]
        values = [r["value"] for r in top]
        hover = [f"{r['instrument'].name} · qty {r['quantity']:,.0f}" for r in top]
        if rest:
            labels.append(f"{len(rest)} others")
            values.append(sum((r["value"] for r in rest), 0))
            hover.append("sum of the remaining positions")
        fig = horizontal_bar_figure(labels=labels, values=values, value_label=f"Value ({currency})", hover_text=hover)
        return chart_json(fig)

    @staticmethod
    def _as_of(portfolio: Portfolio) -> Any:
        """The latest day with a close for any instrument: the demo data ends in 2022."""
        return PriceBar.objects.aggregate(d=Max("date"))["d"]


@require_POST
@area_required(Area.HOME, write=True)
def snapshot_start(request: HttpRequest, code: str) -> HttpResponse:
    """Queue an end-of-day snapshot run and answer with the progress partial."""
    portfolio = get_object_or_404(selectors.portfolio_list(user=request.user), code=code)
    form = SnapshotForm(request.POST)
    if not form.is_valid():
        response = render(request, "portfolios/_snapshot_form.html", {"form": form, "portfolio": portfolio}, status=400)
        # The form posts into its run slot; an invalid form replaces the whole form instead.
        response["HX-Retarget"] = "#snapshot"
        response["HX-Reswap"] = "outerHTML"
        return response
    run = calculation_run_create(
        kind="positions.snapshot",
        task=positions_snapshot_task,
        parameters={"portfolio_id": portfolio.pk, "as_of": form.cleaned_data["as_of"].isoformat()},
        user=request.user,
    )
    return render(request, "core/_run_progress.html", {"run": run})
