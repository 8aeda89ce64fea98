"""Risk pages: the desk overview, each portfolio's risk page, exports, limits and scenarios.

Risk officers read and act; auditors read (every POST and form page refuses them with 403).
Views are thin: figures come from stored runs (``riskapp.reports``), changes go through the
services (runs, limits, scenarios), charts through ``riskapp.charts``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.generic import ListView, TemplateView

from core.errors import ApplicationError
from core.permissions import AreaRequiredMixin, area_required
from core.roles import Area, is_read_only
from portfolios import selectors as book_selectors
from portfolios.models import Portfolio
from riskapp import charts, exports, reports, selectors
from riskapp.forms import LimitForm, ScenarioForm
from riskapp.models import Limit, RiskRun, Scenario
from riskapp.services.limits import limit_save, portfolio_resume
from riskapp.services.runs import risk_run_create, risk_runs_queue_all
from riskapp.services.scenarios import scenario_save


def _portfolio(request: HttpRequest, code: str) -> Portfolio:
    return get_object_or_404(book_selectors.portfolio_list(user=request.user), code=code)


def _run_for(request: HttpRequest, portfolio: Portfolio) -> RiskRun | None:
    """``?run=<id>`` (one of the portfolio's succeeded runs) or the latest succeeded run."""
    run_id = request.GET.get("run")
    # isascii: str.isdigit() also accepts "²" and other digits int() refuses (a 500, not a 404).
    if run_id and run_id.isascii() and run_id.isdigit():
        return get_object_or_404(
            RiskRun.objects.filter(portfolio=portfolio, calculation__status="succeeded").select_related("calculation"),
            pk=int(run_id),
        )
    return reports.latest_run(portfolio)


class IndexView(AreaRequiredMixin, TemplateView):
    """Desk overview: every portfolio of the user's desks with its latest risk figures."""

    area = Area.RISK
    template_name = "riskapp/index.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        user = self.request.user
        portfolios = list(selectors.latest_runs(user=user).order_by("desk__code", "code"))
        latest: dict[int, int | None] = {p.pk: getattr(p, "latest_run_id", None) for p in portfolios}
        runs = (
            RiskRun.objects.select_related("calculation")
            .prefetch_related("results")
            .in_bulk([rid for rid in latest.values() if rid])
        )
        limits: dict[int, list[Limit]] = {}
        for lim in Limit.objects.filter(portfolio__in=portfolios, is_active=True):
            limits.setdefault(lim.portfolio_id, []).append(lim)
        open_breaches = selectors.breach_list(user=user).filter(status="open")
        rows = []
        for p in portfolios:
            run_id = latest[p.pk]
            run = runs.get(run_id) if run_id else None
            head = reports.headline(run)
            usage = reports.limit_usage(run, limits.get(p.pk, []))
            attempt = reports.last_attempt(p)
            rows.append(
                {
                    "portfolio": p,
                    "run": run,
                    "var": head.var if head else None,
                    "es": head.es if head else None,
                    "var_pct": head.var_pct_nav if head else None,
                    "es_pct": head.es_pct_nav if head else None,
                    "day_pnl": run.summary.get("day_pnl") if run else None,
                    "worst": reports.worst_usage(usage),
                    "n_limits": len(usage),
                    "n_alerts": sum(1 for u in usage if u.level in {"warning", "breach"}),
                    "open_breaches": open_breaches.filter(portfolio=p).count(),
                    "attempt": attempt if attempt and attempt != run else None,
                }
            )
        ctx.update(
            rows=rows,
            totals={
                "nav": sum(float(p.nav) for p in portfolios),
                "var": sum(float(r["var"] or 0) for r in rows),  # type: ignore[arg-type,misc]
                "halted": sum(1 for p in portfolios if p.halted),
                "open_breaches": open_breaches.count(),
                "with_run": sum(1 for r in rows if r["run"]),
            },
            overview_chart=charts.overview_chart(rows),
            breaches=selectors.breach_list(user=user).select_related("run")[:15],
            can_edit=not is_read_only(user),
        )
        return ctx


class PortfolioRiskView(AreaRequiredMixin, TemplateView):
    """One portfolio's risk page: the latest run's figures, limits, breaches, run now, exports."""

    area = Area.RISK
    template_name = "riskapp/portfolio.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        portfolio = _portfolio(self.request, kwargs["code"])
        run = _run_for(self.request, portfolio)
        attempt = reports.last_attempt(portfolio)
        limits = list(portfolio.limits.order_by("kind", "sector", "id"))
        ctx.update(
            portfolio=portfolio,
            run=run,
            attempt=attempt,
            usage=reports.limit_usage(run, limits),
            breaches=reports.breach_rows(portfolio.breaches.select_related("limit", "run")[:20]),
            can_edit=not is_read_only(self.request.user),
            history=RiskRun.objects.filter(portfolio=portfolio).select_related("calculation").order_by("-id")[:8],
        )
        if run is not None:
            ctx.update(self._run_context(run, portfolio.base_currency))
        return ctx

    @staticmethod
    def _run_context(run: RiskRun, currency: str) -> dict[str, Any]:
        s = run.summary
        columns, method_rows = reports.method_table(run)
        head_99 = [
            next(
                (c for c, (conf, h) in zip(row.cells, columns, strict=True) if conf == 0.99 and h == 1),
                None,
            )
            for row in method_rows
        ]
        components = reports.component_rows(run)
        stress = reports.stress_rows(run)
        factor_rows = reports.factor_rows(run)
        backtest = reports.backtest_view(s.get("backtest") or {})
        liquidity = s.get("liquidity", {})
        concentration = reports.concentration_view(s.get("concentration") or {})
        regime = s.get("regime", {})
        bt_main = next((m for m in backtest.get("method_list", []) if m["method"] == "historical"), None)
        return {
            "head": reports.headline(run),
            "head_10d": reports.headline(run, horizon=10),
            "head_param": reports.headline(run, method="parametric_normal"),
            "day_pnl_pct": (s.get("day_pnl") or 0.0) / s["nav"] if s.get("nav") else None,
            "columns": columns,
            "method_rows": method_rows,
            "components": components,
            "stress": stress,
            "factor_rows": factor_rows,
            "summary": s,
            "backtest": backtest,
            "bt_main": bt_main,
            "liquidity": liquidity,
            "concentration": concentration,
            "regime": regime,
            "worst_stress": next((x for x in stress if x.kind != "reverse"), None),
            "reverse": next((x for x in stress if x.kind == "reverse"), None),
            "backtest_chart": charts.backtest_chart(backtest, currency),
            "methods_chart": charts.methods_chart(head_99, currency),
            "components_chart": charts.components_chart(components, currency),
            "stress_chart": charts.stress_chart(stress, currency),
            "factors_chart": charts.factors_chart(factor_rows),
            "sector_chart": charts.sector_chart(concentration.get("by_sector")),
            "liquidity_chart": charts.liquidity_chart(liquidity.get("profile") or {}),
            "regime_chart": charts.regime_chart(regime),
        }


# ---------------------------------------------------------------------------- runs


@require_POST
@area_required(Area.RISK, write=True)
def run_now(request: HttpRequest, code: str) -> HttpResponse:
    """Queue a default risk run of the portfolio; answers the progress partial (htmx) or redirects."""
    portfolio = _portfolio(request, code)
    try:
        run = risk_run_create(portfolio=portfolio, user=request.user)  # type: ignore[arg-type]
    except ApplicationError as exc:
        if request.htmx:  # type: ignore[attr-defined]
            return render(request, "riskapp/_error.html", {"message": exc.message}, status=400)
        messages.error(request, exc.message)
        return redirect("riskapp:portfolio", code=portfolio.code)
    run.calculation.refresh_from_db()  # eager mode (no broker) has already run it
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "core/_run_progress.html", {"run": run.calculation})
    messages.success(request, f"Risk run #{run.pk} queued.")
    return redirect("riskapp:portfolio", code=portfolio.code)


@require_POST
@area_required(Area.RISK, write=True)
def run_all(request: HttpRequest) -> HttpResponse:
    """Queue a default run for every portfolio of the user's desks."""
    portfolios = list(book_selectors.portfolio_list(user=request.user).order_by("code"))
    try:
        runs = risk_runs_queue_all(user=request.user, portfolios=portfolios)  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("riskapp:index")
    if request.htmx:  # type: ignore[attr-defined]
        for r in runs:
            r.calculation.refresh_from_db()
        return render(request, "riskapp/_run_all.html", {"runs": runs})
    messages.success(request, f"{len(runs)} risk runs queued.")
    return redirect("riskapp:index")


# ---------------------------------------------------------------------------- exports


def _download(
    request: HttpRequest,
    code: str,
    build: Callable[[RiskRun], tuple[bytes | str, str, str]],
    *,
    disposition: str = "attachment",
) -> HttpResponse:
    """The latest (or ``?run=``) run of the portfolio as a file; ``build(run)`` gives
    (content, content type, file name). Without a run, back to the page with a message."""
    portfolio = _portfolio(request, code)
    run = _run_for(request, portfolio)
    if run is None:
        messages.info(request, "No risk run to export yet.")
        return redirect("riskapp:portfolio", code=portfolio.code)
    content, content_type, name = build(run)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'{disposition}; filename="{name}"'
    return response


@area_required(Area.RISK)
def export_csv(request: HttpRequest, code: str) -> HttpResponse:
    """One table of the run as CSV: ``?table=results|components|stress|factors|backtest``."""
    table = request.GET.get("table", "results")
    if table not in exports.CSV_TABLES:
        table = "results"
    return _download(
        request,
        code,
        lambda run: (exports.run_csv(run, table=table), "text/csv; charset=utf-8", exports.filename(run, table, "csv")),
    )


@area_required(Area.RISK)
def export_xlsx(request: HttpRequest, code: str) -> HttpResponse:
    return _download(
        request,
        code,
        lambda run: (exports.run_xlsx(run), exports.XLSX_CONTENT_TYPE, exports.filename(run, "risk", "xlsx")),
    )


@area_required(Area.RISK)
def report_pdf(request: HttpRequest, code: str) -> HttpResponse:
    """The daily risk report of the run as PDF."""
    return _download(
        request,
        code,
        lambda run: (exports.run_pdf(run), "application/pdf", exports.filename(run, "report", "pdf")),
        disposition="inline",
    )


# ---------------------------------------------------------------------------- limits, resume


def _limit_form(request: HttpRequest, portfolio: Portfolio, limit: Limit) -> HttpResponse:
    # The form validates on its own copy: a ModelForm writes the cleaned values into its
    # instance, and limit_save must still see the limit as it was to audit "before".
    form = LimitForm(request.POST or None, instance=Limit.objects.get(pk=limit.pk) if limit.pk else None)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            limit_save(user=request.user, limit=limit, data=data)  # type: ignore[arg-type]
        except ApplicationError as exc:
            for name, errors in (exc.extra.get("fields") or {}).items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
            if not exc.extra.get("fields"):
                form.add_error(None, exc.message)
        else:
            messages.success(request, f"Limit saved: {limit.get_kind_display()}.")
            return redirect(f"{reverse('riskapp:portfolio', args=[portfolio.code])}#limits")
    status = 400 if request.method == "POST" else 200
    ctx = {"form": form, "portfolio": portfolio, "limit": limit, "methods": reports.METHOD_LABELS}
    return render(request, "riskapp/limit_form.html", ctx, status=status)


@area_required(Area.RISK, write=True)
def limit_create(request: HttpRequest, code: str) -> HttpResponse:
    portfolio = _portfolio(request, code)
    return _limit_form(request, portfolio, Limit(portfolio=portfolio))


@area_required(Area.RISK, write=True)
def limit_edit(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    portfolio = _portfolio(request, code)
    limit = get_object_or_404(Limit, portfolio=portfolio, pk=pk)
    return _limit_form(request, portfolio, limit)


@require_POST
@area_required(Area.RISK, write=True)
def resume(request: HttpRequest, code: str) -> HttpResponseRedirect:
    """Lift the kill switch of a halted portfolio; the rationale is mandatory and audited."""
    portfolio = _portfolio(request, code)
    if not portfolio.halted:
        messages.info(request, f"{portfolio.code} is not halted.")
    else:
        try:
            portfolio_resume(user=request.user, portfolio=portfolio, rationale=request.POST.get("rationale", ""))  # type: ignore[arg-type]
        except ApplicationError as exc:
            messages.error(request, f"Not resumed: {exc.message}")
        else:
            messages.success(request, f"{portfolio.code} resumed: orders are accepted again.")
    return redirect("riskapp:portfolio", code=portfolio.code)


# ---------------------------------------------------------------------------- scenarios


class ScenarioListView(AreaRequiredMixin, ListView):  # type: ignore[type-arg]
    """User-defined stress scenarios (active ones are applied by every run)."""

    area = Area.RISK
    template_name = "riskapp/scenario_list.html"
    queryset = Scenario.objects.select_related("created_by").order_by("-is_active", "name")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx["can_edit"] = not is_read_only(self.request.user)
        return ctx


def _scenario_form(request: HttpRequest, scenario: Scenario) -> HttpResponse:
    form = ScenarioForm(request.POST or None, instance=Scenario.objects.get(pk=scenario.pk) if scenario.pk else None)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in ("name", "description", "shocks", "is_active")}
        try:
            scenario_save(user=request.user, scenario=scenario, data=data)  # type: ignore[arg-type]
        except ApplicationError as exc:
            for name, errors in (exc.extra.get("fields") or {}).items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
        else:
            messages.success(request, f"Scenario “{scenario.name}” saved; the next risk runs apply it.")
            return redirect("riskapp:scenario_list")
    status = 400 if request.method == "POST" else 200
    return render(request, "riskapp/scenario_form.html", {"form": form, "scenario": scenario}, status=status)


@area_required(Area.RISK, write=True)
def scenario_create(request: HttpRequest) -> HttpResponse:
    return _scenario_form(request, Scenario())


@area_required(Area.RISK, write=True)
def scenario_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _scenario_form(request, get_object_or_404(Scenario, pk=pk))
