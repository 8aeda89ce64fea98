"""Best execution pages: the TCA dashboard, each order's TCA, venue/broker and RTS 28 reports,
the pre-trade estimate and the cost model cards.

Compliance analysts and supervisors and risk officers read and act; auditors read (every POST
refuses them with 403 and the pages show them no buttons); retraining the cost model is for
compliance supervisors. Orders of other desks are "not found". Views are thin: reads come from
``execution_quality.selectors``, every action calls one service, charts come from
``execution_quality.charts`` and files from ``execution_quality.exports``. A service's domain
error becomes a form error or a message, never a server error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core import exports as core_exports
from core.errors import ApplicationError, NotFound
from core.models import CalculationRun
from core.permissions import area_required, deny_record
from core.roles import Area, Role, has_area, is_read_only, user_roles
from core.selectors import run_list
from execution_quality import charts, exports, selectors
from execution_quality.engine.types import US_PER_SECOND, TcaFlag
from execution_quality.filters import TcaExecutionFilterSet, TcaOrderFilterSet
from execution_quality.forms import PERIODS, PretradeForm, period_start
from execution_quality.models import CostModel, TcaOrderResult
from execution_quality.services import cost_model_train_create, pretrade_estimate, tca_run_create
from execution_quality.services.inputs import quotes_load
from execution_quality.services.model import TRAIN_KIND
from portfolios import selectors as book_selectors
from portfolios.models import Instrument, Order

PAGE_SIZE = 25
POOR_SHOWN = 15
RUN_KIND = "tca.run"
#: Quotes drawn before the arrival and after the end of an order on its fills chart.
QUOTE_MARGIN = timedelta(seconds=60)
#: Instruments offered in the pre-trade form's suggestion list (the rest can still be typed).
SUGGESTED_SYMBOLS = 500
BENCHMARKS = (
    ("Arrival mid", "arrival_price", "cost_arrival_bps"),
    ("Interval VWAP", "vwap", "cost_vwap_bps"),
    ("Interval TWAP", "twap", "cost_twap_bps"),
    ("Participation-weighted price", "pwp", "cost_pwp_bps"),
    ("Previous close", "prev_close", "cost_prev_close_bps"),
    ("Open", "open_price", "cost_open_bps"),
    ("Close", "close_price", "cost_close_bps"),
)
FLAG_TEXT = {
    TcaFlag.NO_ARRIVAL_QUOTE: "no quote at arrival: arrival price and TWAP missing",
    TcaFlag.STALE_ARRIVAL_QUOTE: "the arrival quote was stale",
    TcaFlag.NO_TAPE: "no public prints while the order worked: no interval VWAP",
    TcaFlag.PWP_SHORT: "the tape after arrival was too thin for the participation-weighted price",
    TcaFlag.NO_DAILY_BAR: "no daily bar for the day: open and close missing",
    TcaFlag.NO_PREVIOUS_CLOSE: "no previous close",
    TcaFlag.NO_FILLS: "no fills",
    TcaFlag.PARTIAL_FILL: "partly filled: the unfilled quantity carries an opportunity cost",
    TcaFlag.OVERFILL: "filled more than ordered",
    TcaFlag.ZERO_DURATION: "arrival and end at the same instant",
    TcaFlag.DECISION_IS_ARRIVAL: "no decision price: the arrival mid stands in (delay cost 0)",
    TcaFlag.NO_HISTORY: "too little daily history for ADV and volatility",
    TcaFlag.FILL_OUTSIDE_ORDER_LIFE: "a fill before arrival or after the end",
    TcaFlag.NO_OPPORTUNITY_PRICE: "unfilled quantity without an end price",
}


def _user(request: HttpRequest) -> User:
    """The signed-in user (every view here is behind ``area_required``)."""
    return cast(User, request.user)


def _can_act(request: HttpRequest) -> bool:
    return not is_read_only(request.user)


def _can_retrain(request: HttpRequest) -> bool:
    """Retraining changes the expectation every order is judged against: supervisors only."""
    user = request.user
    return bool(getattr(user, "is_superuser", False)) or Role.COMPLIANCE_SUPERVISOR in user_roles(user)


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _query_without(params: QueryDict, *names: str) -> str:
    """The query string without ``names`` (e.g. the page number), for links that keep filters."""
    q = params.copy()
    for name in names:
        q.pop(name, None)
    return q.urlencode()


def _active_run(request: HttpRequest) -> CalculationRun | None:
    """The user's latest unfinished TCA run, so a reload keeps showing its progress."""
    run = CalculationRun.objects.filter(kind=RUN_KIND, user=_user(request)).order_by("-id").first()
    return run if run is not None and not run.is_finished else None


# ---------------------------------------------------------------------------- dashboard


def _dashboard_filters(request: HttpRequest, scoped: Any) -> tuple[QueryDict, str]:
    """The request's filters with a quick period turned into ``date_from`` (anchored on the
    newest order in scope); the period shown is "" (all), one of ``PERIODS`` or "custom"."""
    params = request.GET.copy()
    period = params.get("period", "")
    if params.get("date_from") or params.get("date_to"):
        return params, "custom"
    if period in PERIODS:
        newest = scoped.order_by().aggregate(newest=Max("arrival_ts"))["newest"]
        start = period_start(period, newest.astimezone(UTC).date() if newest else None)
        if start is not None:
            params["date_from"] = start.isoformat()
        return params, period
    return params, ""


def _orders_filtered(request: HttpRequest) -> tuple[Any, Any, Any, str]:
    """(every result in scope, the filtered results, the bound filter set, the period)."""
    scoped = selectors.tca_order_list(user=request.user)
    params, period = _dashboard_filters(request, scoped)
    filterset = TcaOrderFilterSet(data=params, queryset=scoped)
    orders = filterset.qs if filterset.is_valid() else scoped.none()
    return scoped, orders, filterset, period


def _choices(scoped: Any, field: str) -> list[str]:
    return [v for v in scoped.order_by(field).values_list(field, flat=True).distinct() if v]


@area_required(Area.EXECUTION)
def dashboard(request: HttpRequest) -> HttpResponse:
    """Cost distribution, cost vs size, cost by venue/broker/hour, poor executions, all orders."""
    scoped, orders, filterset, period = _orders_filtered(request)
    has_any = scoped.exists()
    page = Paginator(orders.order_by("-arrival_ts", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    ctx: dict[str, Any] = {
        "has_any": has_any,
        "form": filterset.form,
        "period": period,
        "periods": list(PERIODS),
        "venues": _choices(scoped, "venue") if has_any else [],
        "brokers": _choices(scoped, "broker") if has_any else [],
        "page_obj": page,
        "orders": page.object_list,
        "query": _query_without(request.GET, "page"),
        "can_act": _can_act(request),
        "can_see_alerts": has_area(request.user, Area.SURVEILLANCE),
        "active_run": _active_run(request),
    }
    if has_any:
        summary = selectors.tca_summary(orders=orders)
        ctx.update(
            summary=summary,
            poor=selectors.tca_poor_list(orders=orders, limit=POOR_SHOWN),
            histogram_chart=charts.cost_histogram(selectors.tca_cost_histogram(orders=orders)),
            size_chart=charts.cost_vs_size(selectors.tca_cost_vs_size(orders=orders)),
            venue_chart=charts.cost_by_group(selectors.tca_cost_by(orders=orders, key="venue")),
            broker_chart=charts.cost_by_group(selectors.tca_cost_by(orders=orders, key="broker")),
            hour_chart=charts.cost_by_group(selectors.tca_cost_by(orders=orders, key="hour"), label="UTC "),
        )
    return render(request, "execution_quality/dashboard.html", ctx)


@area_required(Area.EXECUTION)  # type: ignore[arg-type]  # a streamed file; the decorator is typed for HttpResponse
def orders_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The dashboard's orders (same filters) as CSV, one row per parent order."""
    _, orders, filterset, _ = _orders_filtered(request)
    if not filterset.is_valid():
        messages.error(request, "The filters are not valid; fix them before exporting.")
        return redirect(f"{reverse('execution_quality:index')}?{request.GET.urlencode()}")
    return core_exports.stream(exports.orders_csv(orders), "text/csv; charset=utf-8", "tca-orders.csv")


# ---------------------------------------------------------------------------- runs


def _run_started(request: HttpRequest, run: CalculationRun, back: str, *, label: str = "TCA run") -> HttpResponse:
    """The progress partial for htmx; otherwise a message and back to the page (which shows the run)."""
    run.refresh_from_db()  # eager mode (no broker) has already run it
    if _htmx(request):
        return render(request, "core/_run_progress.html", {"run": run})
    if run.status == CalculationRun.Status.FAILED:
        messages.error(request, f"{label} #{run.pk} failed: {run.error}")
    elif run.status == CalculationRun.Status.SUCCEEDED:
        messages.success(request, f"{label} #{run.pk} finished.")
    else:
        messages.success(request, f"{label} #{run.pk} queued.")
    return redirect(back)


def _run_failed(request: HttpRequest, exc: ApplicationError, back: str) -> HttpResponse:
    if _htmx(request):
        return render(request, "execution_quality/_error.html", {"message": exc.message}, status=400)
    messages.error(request, exc.message)
    return redirect(back)


@require_POST
@area_required(Area.EXECUTION, write=True)
def run_now(request: HttpRequest) -> HttpResponse:
    """Queue a TCA run over every parent order of the user's desks."""
    back = reverse("execution_quality:index")
    try:
        run = tca_run_create(user=_user(request))
    except ApplicationError as exc:
        return _run_failed(request, exc, back)
    return _run_started(request, run, back)


@require_POST
@area_required(Area.EXECUTION, write=True)
def order_run(request: HttpRequest, order_id: int) -> HttpResponse:
    """Queue a TCA run of one parent order (e.g. one that has no analysis yet); a child order
    stands for its parent, which is what TCA measures."""
    order = _order_in_scope(request, order_id)
    parent_id = order.parent_id or order.pk
    back = reverse("execution_quality:order_detail", args=[parent_id])
    try:
        run = tca_run_create(user=_user(request), order_ids=[parent_id])
    except ApplicationError as exc:
        return _run_failed(request, exc, back)
    return _run_started(request, run, back)


# ---------------------------------------------------------------------------- order page


def _order_in_scope(request: HttpRequest, order_id: int) -> Order:
    """An order of the user's desks; anything else is 404 (never 403: no probing)."""
    order = book_selectors.order_list(user=request.user).filter(pk=order_id).first()
    if order is None:
        raise Http404("No such order.")
    return order


def _flags(bits: int) -> list[str]:
    return [text for flag, text in FLAG_TEXT.items() if bits & flag]


def _fills_chart(result: TcaOrderResult, executions: list[Any]) -> str:
    start, end = result.arrival_ts, max(result.end_ts, result.arrival_ts)
    book = quotes_load(windows=[(result.instrument_id, start - QUOTE_MARGIN, end + QUOTE_MARGIN)])
    quotes = [
        {"ts": datetime.fromtimestamp(int(ts) / US_PER_SECOND, tz=UTC), "bid": float(b), "ask": float(a)}
        for ts, b, a in zip(book.ts_us, book.bid, book.ask, strict=True)
    ]
    return charts.fills_chart(
        fills=[{"ts": e.ts, "price": e.price, "quantity": e.quantity, "venue": e.venue} for e in executions],
        quotes=quotes,
        benchmarks={"Arrival": result.arrival_price, "VWAP": result.vwap, "TWAP": result.twap},
        start=start,
        end=end,
        side=result.side,
    )


def _markouts(executions: list[Any]) -> tuple[list[list[float | None]], list[float | None]]:
    """Each fill's markouts by horizon, and their quantity-weighted average (NaN/None skipped)."""
    per_fill: list[list[float | None]] = []
    average: list[float | None] = []
    for h in selectors.MARKOUT_HORIZONS_S:
        num = den = 0.0
        for e in executions:
            value = getattr(e, f"markout_{h}s_bps")
            if value is not None and value == value:  # NaN is not equal to itself
                num += value * float(e.quantity)
                den += float(e.quantity)
        average.append(num / den if den else None)
    for e in executions:
        per_fill.append([getattr(e, f"markout_{h}s_bps") for h in selectors.MARKOUT_HORIZONS_S])
    return per_fill, average


def _order_context(result: TcaOrderResult) -> dict[str, Any]:
    executions = list(result.executions.all())
    explanation = result.explanation or {}
    per_fill, average = _markouts(executions)
    details = result.details or {}
    shortfall = {
        "delay": result.shortfall_delay_bps,
        "trading": result.shortfall_trading_bps,
        "opportunity": result.shortfall_opportunity_bps,
        "fees": result.shortfall_fees_bps,
        "total": result.shortfall_bps,
    }
    return {
        "result": result,
        "executions": executions,
        "benchmarks": [(label, getattr(result, p), getattr(result, c)) for label, p, c in BENCHMARKS],
        "shortfall": shortfall,
        "shortfall_currency": details.get("shortfall") or {},
        "flags": _flags(result.flags),
        "horizons": [charts.horizon_label(h) for h in selectors.MARKOUT_HORIZONS_S],
        "markout_average": average,
        "excess_bps": (
            result.cost_arrival_bps - result.predicted_cost_bps
            if result.cost_arrival_bps is not None and result.predicted_cost_bps is not None
            else None
        ),
        "alert_id": details.get("alert_id"),
        "fills_chart": _fills_chart(result, executions),
        "shortfall_chart": charts.shortfall_chart(shortfall),
        "markouts_chart": charts.markouts_chart(selectors.MARKOUT_HORIZONS_S, per_fill, average),
        "shap_chart": charts.shap_chart(
            explanation.get("values") or {}, base=explanation.get("base"), prediction=result.predicted_cost_bps
        ),
    }


@area_required(Area.EXECUTION)
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    """One parent order's TCA: benchmarks and costs, Perold shortfall, fills over the quote,
    markouts, the cost model's explanation, and the alert if one was raised."""
    order = _order_in_scope(request, order_id)
    if order.parent_id is not None:
        return redirect("execution_quality:order_detail", order_id=order.parent_id)
    ctx: dict[str, Any] = {
        "order": order,
        "can_act": _can_act(request),
        "can_see_alerts": has_area(request.user, Area.SURVEILLANCE),
        "active_run": _active_run(request),
    }
    try:
        result = selectors.tca_order_get(user=request.user, order_id=order.pk)
    except NotFound:
        result = None
    if result is not None:
        ctx.update(_order_context(result))
    return render(request, "execution_quality/order_detail.html", ctx)


# ---------------------------------------------------------------------------- reports


def _report_filters(request: HttpRequest) -> tuple[Any, dict[str, Any] | None]:
    """The bound execution filter set of the reports page and its valid filters (None if invalid)."""
    params = request.GET.copy()
    filterset = TcaExecutionFilterSet(data=params, queryset=selectors.tca_execution_list(user=request.user))
    if not filterset.is_valid():
        return filterset, None
    keep = ("date_from", "date_to", "instrument", "side")
    return filterset, {k: params[k] for k in keep if params.get(k)}


def _report_years(request: HttpRequest) -> list[int]:
    years = selectors.tca_execution_list(user=request.user).order_by().dates("ts", "year", order="DESC")
    return [d.year for d in years]


@area_required(Area.EXECUTION)
def reports(request: HttpRequest) -> HttpResponse:
    """Venue and broker league tables over a period, with CSV and PDF downloads."""
    filterset, filters = _report_filters(request)
    venues = selectors.venue_league_table(user=request.user, filters=filters) if filters is not None else []
    brokers = selectors.broker_league_table(user=request.user, filters=filters) if filters is not None else []
    ctx = {
        "form": filterset.form,
        "venues": venues,
        "brokers": brokers,
        "venue_chart": charts.league_chart(venues),
        "broker_chart": charts.league_chart(brokers),
        "horizons": [f"{h}s" for h in selectors.MARKOUT_HORIZONS_S],
        "horizon_labels": [charts.horizon_label(h) for h in selectors.MARKOUT_HORIZONS_S],
        "query": request.GET.urlencode(),
        "years": _report_years(request),
    }
    return render(request, "execution_quality/reports.html", ctx)


def _league_download(request: HttpRequest, build: Callable[[Mapping[str, Any]], HttpResponse]) -> HttpResponse:
    _, filters = _report_filters(request)
    if filters is None:
        messages.error(request, "The filters are not valid; fix them before downloading.")
        return redirect(f"{reverse('execution_quality:reports')}?{request.GET.urlencode()}")
    return build(filters)


@area_required(Area.EXECUTION)
def report_csv(request: HttpRequest, by: str) -> HttpResponse:
    """The venue or broker league table as CSV (same filters as the page)."""

    def build(filters: Mapping[str, Any]) -> HttpResponse:
        rows = selectors.league_table(user=request.user, by=by, filters=filters)
        return core_exports.download(
            exports.league_csv(rows, by=by), "text/csv; charset=utf-8", exports.league_filename(by, filters, "csv")
        )

    return _league_download(request, build)


@area_required(Area.EXECUTION)
def report_pdf(request: HttpRequest) -> HttpResponse:
    """Both league tables as a PDF report (same filters as the page)."""

    def build(filters: Mapping[str, Any]) -> HttpResponse:
        content = exports.league_pdf(
            venues=selectors.venue_league_table(user=request.user, filters=filters),
            brokers=selectors.broker_league_table(user=request.user, filters=filters),
            filters=filters,
        )
        name = exports.league_filename("venues-brokers", filters, "pdf")
        return core_exports.download(content, "application/pdf", name, disposition="inline")

    return _league_download(request, build)


def _rts28(request: HttpRequest, year: int) -> Any:
    try:
        return selectors.rts28_report(user=request.user, year=year)
    except ApplicationError:
        raise Http404("No such year.") from None


@area_required(Area.EXECUTION)
def rts28(request: HttpRequest, year: int) -> HttpResponse:
    """The RTS 28-style top five execution venues per class of instruments for one year."""
    report = _rts28(request, year)
    years = _report_years(request)
    return render(request, "execution_quality/rts28.html", {"report": report, "years": years})


@area_required(Area.EXECUTION)
def rts28_csv(request: HttpRequest, year: int) -> HttpResponse:
    report = _rts28(request, year)
    return core_exports.download(exports.rts28_csv(report), "text/csv; charset=utf-8", f"rts28-top5-venues-{year}.csv")


@area_required(Area.EXECUTION)
def rts28_pdf(request: HttpRequest, year: int) -> HttpResponse:
    report = _rts28(request, year)
    return core_exports.download(
        exports.rts28_pdf(report), "application/pdf", f"rts28-top5-venues-{year}.pdf", disposition="inline"
    )


# ---------------------------------------------------------------------------- pre-trade


def _symbols() -> list[str]:
    kinds = (Instrument.Kind.EQUITY, Instrument.Kind.ETF)
    qs = Instrument.objects.filter(is_active=True, kind__in=kinds).order_by("symbol")
    return list(qs.values_list("symbol", flat=True)[:SUGGESTED_SYMBOLS])


def _field_errors(form: PretradeForm, exc: ApplicationError) -> None:
    """A service's error back on the form: its named fields where the form has them."""
    placed = False
    for name, errors in (exc.extra.get("fields") or {}).items():
        for error in errors if isinstance(errors, list | tuple) else [errors]:
            if name in form.fields:
                form.add_error(name, str(error))
            else:
                form.add_error(None, f"{name.replace('_', ' ').capitalize()}: {error}")
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def _pretrade_charts(estimate: dict[str, Any]) -> dict[str, str]:
    schedule = estimate.get("schedule") or {}
    model = estimate.get("model") or {}
    explanation = model.get("explanation") or {}
    return {
        "schedule_chart": charts.schedule_chart(
            schedule.get("times_minutes") or [],
            schedule.get("holdings") or [],
            schedule.get("trades") or [],
            unit="minutes",
        ),
        "shap_chart": charts.shap_chart(
            explanation.get("values") or {}, base=explanation.get("base"), prediction=model.get("cost_bps")
        ),
    }


def _pretrade_initial(request: HttpRequest) -> dict[str, Any]:
    """As of the newest analysed order: a book whose data stops in the past still has history."""
    newest = selectors.tca_order_list(user=request.user).order_by().aggregate(newest=Max("arrival_ts"))["newest"]
    return {"arrival": newest.astimezone(UTC).replace(microsecond=0)} if newest else {}


@area_required(Area.EXECUTION)
def pretrade(request: HttpRequest) -> HttpResponse:
    """Expected cost of an order before it is sent (square-root law, I-Star, the cost model) and
    the Almgren–Chriss schedule for a risk aversion. It reads only, so auditors may use it too."""
    posted = request.method == "POST"
    form = PretradeForm(request.POST if posted else None, initial=None if posted else _pretrade_initial(request))
    estimate: dict[str, Any] | None = None
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            estimate = pretrade_estimate(
                user=_user(request),
                instrument=data["instrument"],
                side=data["side"],
                quantity=data["quantity"],
                risk_aversion=data["risk_aversion"],
                horizon_minutes=data["horizon_minutes"],
                arrival=data["arrival"],
            )
        except ApplicationError as exc:
            _field_errors(form, exc)
    ctx: dict[str, Any] = {"form": form, "estimate": estimate, "symbols": _symbols()}
    if estimate is not None:
        ctx.update(_pretrade_charts(estimate))
    status = 400 if posted and form.errors else 200
    return render(request, "execution_quality/pretrade.html", ctx, status=status)


# ---------------------------------------------------------------------------- cost models


def _train_run(request: HttpRequest, newest: CostModel | None) -> CalculationRun | None:
    """The latest training run the user may see, while it is unfinished or if it failed after the
    newest model was trained (its error explains why no new model appeared); else None."""
    run = run_list(user=request.user).filter(kind=TRAIN_KIND).order_by("-id").first()
    if run is None or not run.is_finished:
        return run
    failed_since = run.status == CalculationRun.Status.FAILED and (
        newest is None or (run.finished_at is not None and run.finished_at > newest.trained_at)
    )
    return run if failed_since else None


@area_required(Area.EXECUTION)
def model_list(request: HttpRequest) -> HttpResponse:
    """Every trained cost model with its card, the active one first, and the latest training run
    (progress, or why it failed)."""
    models = list(
        CostModel.objects.select_related("trained_by").defer("artifact").order_by("-is_active", "-trained_at", "-id")
    )
    newest = max(models, key=lambda m: m.trained_at, default=None)
    return render(
        request,
        "execution_quality/model_list.html",
        {"models": models, "can_retrain": _can_retrain(request), "train_run": _train_run(request, newest)},
    )


@require_POST
@area_required(Area.EXECUTION, write=True)
def model_train(request: HttpRequest) -> HttpResponse:
    """Queue a training of the cost model on the stored results (a ``tca.model_train`` run); a
    successful run makes the new model the active one. htmx gets the run's progress partial."""
    if not _can_retrain(request):
        deny_record(request, Area.EXECUTION)
        raise PermissionDenied
    back = reverse("execution_quality:model_list")
    try:
        run = cost_model_train_create(user=_user(request))
    except ApplicationError as exc:
        return _run_failed(request, exc, back)
    return _run_started(request, run, back, label="Cost model training")
