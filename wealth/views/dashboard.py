"""The advisor's dashboard: the clients needing attention today (from the latest daily scan),
KPIs, filters, the CSV of the list, and the "Scan now" button with the run's progress."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from core.exports import csv_lines, stream
from core.models import CalculationRun
from core.permissions import area_required
from core.roles import Area
from wealth import selectors, services
from wealth.forms import AttentionFilterForm
from wealth.models import ClientReview
from wealth.views.common import active_scan, can_act, is_htmx, reason_text

PAGE_SIZE = 25
# Total drift (½·Σ|w − target|) from which a client counts as drifted: the rebalancing band of
# docs/wealth-methodology.md.
DRIFT_BAND = 0.05
FLAGS = {
    "drift": lambda r: r.drift >= DRIFT_BAND,
    "harvest": lambda r: r.harvest_saving > 0,
    "goals": lambda r: r.goals_off_track > 0,
    "coaching": lambda r: r.coaching_flags > 0,
}


def _filtered(request: HttpRequest) -> tuple[AttentionFilterForm, list[ClientReview], list[ClientReview]]:
    """(the filter form, every latest review in scope, the reviews the filters keep). Filters
    that are not valid keep nothing (the form shows why), never the unfiltered list."""
    form = AttentionFilterForm(request.GET or None)
    reviews = selectors.attention_list(user=request.user)
    rows = reviews
    if form.is_bound and not form.is_valid():
        rows = []
    elif form.is_bound:
        q = form.cleaned_data["q"].strip().lower()
        if q:
            rows = [r for r in rows if q in r.client.name.lower() or q in r.client.code.lower()]
        show = form.cleaned_data["show"]
        if show:
            rows = [r for r in rows if r.attention == (show == "attention")]
        flag = FLAGS.get(form.cleaned_data["flag"])
        if flag is not None:
            rows = [r for r in rows if flag(r)]
    for r in rows:
        r.reason_texts = [reason_text(x) for x in (r.reasons or [])]  # type: ignore[attr-defined]
    return form, reviews, rows


@area_required(Area.WEALTH)
def index(request: HttpRequest) -> HttpResponse:
    """Clients needing attention first (drift, harvestable tax saving, goals off track, coaching
    flags, with the reasons), KPIs of the advisor's book, 25 a page."""
    form, reviews, rows = _filtered(request)
    clients = selectors.client_scope(request.user)
    reviewed = {r.client_id for r in reviews}
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    ctx: dict[str, Any] = {
        "form": form,
        "page_obj": page,
        "reviews": page.object_list,
        "has_clients": clients.exists(),
        "has_reviews": bool(reviews),
        "kpis": {
            "clients": clients.count(),
            "aum": sum((r.market_value for r in reviews), Decimal(0)),
            "attention": sum(1 for r in reviews if r.attention),
            "harvest": sum((r.harvest_saving for r in reviews), Decimal(0)),
            "as_of": max((r.as_of for r in reviews), default=None),
        },
        "unreviewed": [c for c in clients.order_by("name")[:200] if c.pk not in reviewed],
        "query": query.urlencode(),
        "can_act": can_act(request),
        "active_run": active_scan(request),
        "drift_band": DRIFT_BAND,
    }
    return render(request, "wealth/index.html", ctx)


@area_required(Area.WEALTH)  # type: ignore[arg-type]  # a streamed file; the decorator is typed for HttpResponse
def attention_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The dashboard's list (same filters, every page) as CSV; fractions as fractions."""
    _, _, rows = _filtered(request)
    header = [
        "client_code", "client", "as_of", "attention", "market_value", "drift", "harvest_saving",
        "goals_off_track", "coaching_flags", "reasons",
    ]  # fmt: skip

    def lines() -> Iterator[list[Any]]:
        for r in rows:
            yield [
                r.client.code, r.client.name, r.as_of.isoformat(), r.attention, r.market_value,
                f"{r.drift:.6f}", r.harvest_saving, r.goals_off_track, r.coaching_flags,
                " | ".join(r.reason_texts),  # type: ignore[attr-defined]
            ]  # fmt: skip

    return stream(csv_lines(header, lines()), "text/csv; charset=utf-8", "wealth-attention.csv")


@require_POST
@area_required(Area.WEALTH, write=True)
def scan(request: HttpRequest) -> HttpResponse:
    """Queue the drift / tax-loss / goals / coaching scan of the user's clients; answers the
    progress partial (htmx) or goes back to the dashboard, which shows the run."""
    back = reverse("wealth:index")
    try:
        run = services.wealth_scan_queue(actor=request.user)
    except ApplicationError as exc:
        if is_htmx(request):
            return render(request, "wealth/_error.html", {"message": exc.message}, status=400)
        messages.error(request, f"Scan not started: {exc.message}")
        return redirect(back)
    run.refresh_from_db()  # without a broker the run has already finished in-process
    if is_htmx(request):
        return render(request, "core/_run_progress.html", {"run": run})
    if run.status == CalculationRun.Status.FAILED:
        messages.error(request, f"Scan #{run.pk} failed: {run.error}")
    elif run.status == CalculationRun.Status.SUCCEEDED:
        messages.success(request, f"Scan #{run.pk} finished.")
    else:
        messages.success(request, f"Scan #{run.pk} queued.")
    return redirect(back)
