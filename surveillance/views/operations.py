"""The surveillance dashboard with its detection runs, the sweep button, and detector parameters.

Detection runs are firm-wide (they sweep every desk's orders), so their status is shown to every
surveillance user; their per-desk results are the alerts, which stay scoped.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from core.models import CalculationRun
from core.permissions import area_required
from core.plotting import PALETTE
from core.roles import Area
from surveillance import charts, selectors, services
from surveillance.engine.detectors import DETECTORS
from surveillance.forms import DetectorForm
from surveillance.models import Alert, Scenario
from surveillance.services.workflow import is_supervisor
from surveillance.views.common import can_act, field_errors

DASHBOARD_DAYS = (7, 30, 90)
RECENT_RUNS = 10
SCENARIO_LABELS = dict(Scenario.choices)


def _runs() -> list[CalculationRun]:
    return list(
        CalculationRun.objects.filter(kind__startswith="surveillance.")
        .select_related("user")
        .order_by("-id")[:RECENT_RUNS]
    )


@area_required(Area.SURVEILLANCE)
def dashboard(request: HttpRequest) -> HttpResponse:
    """Alert volumes, the open backlog by state and age, time to close, recent detection runs."""
    days = request.GET.get("days", "30")
    n_days = int(days) if days in {str(d) for d in DASHBOARD_DAYS} else 30
    stats = selectors.alert_stats(user=request.user, days=n_days)
    per_day = [
        {"day": day, "scenario": scenario, "count": n}
        for day, counts in stats.per_day.items()
        for scenario, n in counts.items()
    ]
    state_labels = dict(Alert.State.choices)
    close_rows = [
        {"scenario": s, "median_hours": t.median_hours, "p90_hours": t.p90_hours, "n": t.n}
        for s, t in stats.time_to_close.items()
    ]
    runs = _runs()
    mine = next((r for r in runs if r.user_id == request.user.pk and not r.is_finished), None)
    ctx: dict[str, Any] = {
        "stats": stats,
        "days": n_days,
        "day_choices": DASHBOARD_DAYS,
        "raised": sum(r["count"] for r in per_day),
        "aged_week": sum(stats.ageing.get(label, 0) for label, low, _ in selectors.AGEING_BUCKETS if low >= 7),
        "aged_month": sum(stats.ageing.get(label, 0) for label, low, _ in selectors.AGEING_BUCKETS if low >= 30),
        "closed": sum(stats.outcomes.values()),
        "outcomes": [(Alert.Outcome(k).label, v) for k, v in stats.outcomes.items() if k in Alert.Outcome.values],
        "close_rows": [{**r, "label": SCENARIO_LABELS.get(r["scenario"], r["scenario"])} for r in close_rows],
        "volume_chart": charts.volume_chart(per_day, SCENARIO_LABELS),
        "state_chart": charts.count_bars_chart(
            [(state_labels[s], n) for s, n in stats.open_by_state.items()], value_label="open alerts"
        ),
        "ageing_chart": charts.count_bars_chart(
            list(stats.ageing.items()), value_label="open alerts", colour=PALETTE[1]
        ),
        "close_chart": charts.close_time_chart(close_rows, SCENARIO_LABELS),
        "runs": runs,
        "active_run": mine,
        "can_act": can_act(request),
    }
    return render(request, "surveillance/dashboard.html", ctx)


@require_POST
@area_required(Area.SURVEILLANCE, write=True)
def sweep(request: HttpRequest) -> HttpResponse:
    """Start a detection sweep; answers the progress partial (htmx) or goes back to the dashboard."""
    try:
        run = services.surveillance_sweep_create(user=request.user)
    except ApplicationError as exc:
        if request.htmx:  # type: ignore[attr-defined]
            return render(request, "surveillance/_error.html", {"message": exc.message}, status=400)
        messages.error(request, f"Sweep not started: {exc.message}")
        return redirect("surveillance:dashboard")
    run.refresh_from_db()  # without a broker the run has already finished in-process
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "core/_run_progress.html", {"run": run})
    messages.success(request, f"Surveillance sweep #{run.pk} started.")
    return redirect("surveillance:dashboard")


# ---------------------------------------------------------------------------- detectors


@area_required(Area.SURVEILLANCE)
def detector_list(request: HttpRequest) -> HttpResponse:
    """Every rule detector with the parameters it runs with (defaults overlaid by the stored ones)."""
    rows = [
        {
            "config": setting,
            "params": [
                (p, setting.parameters.get(p.name, p.default), p.name in setting.overrides) for p in setting.params
            ],
        }
        for setting in services.detector_config_list()
    ]
    return render(
        request,
        "surveillance/detector_list.html",
        {"rows": rows, "can_edit": can_act(request) and is_supervisor(request.user)},
    )


@area_required(Area.SURVEILLANCE)
def detector_edit(request: HttpRequest, scenario: str) -> HttpResponse:
    """One detector's parameters: supervisors edit them (or restore the defaults), others read."""
    spec = DETECTORS.get(scenario)
    if spec is None:
        raise Http404("No such detector.")
    config = services.detector_config_get(scenario=scenario)
    can_edit = can_act(request) and is_supervisor(request.user)
    initial = {"enabled": config.enabled, **config.overrides}
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Only a compliance supervisor may change detector parameters.")
        restore = "restore" in request.POST
        form = DetectorForm(request.POST, spec=spec, initial=initial)
        if restore or form.is_valid():
            try:
                services.detector_config_update(
                    scenario=scenario,
                    parameters=dict.fromkeys(config.overrides) if restore else form.parameters(),
                    enabled=True if restore else form.cleaned_data["enabled"],
                    user=request.user,
                )
            except ApplicationError as exc:
                field_errors(form, exc)
            else:
                done = "defaults restored" if restore else "parameters saved"
                messages.success(request, f"{spec.title}: {done}; the next detection runs use them.")
                return redirect("surveillance:detector_edit", scenario=scenario)
        status = 400
    else:
        form = DetectorForm(initial=initial, spec=spec)
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    ctx = {"spec": spec, "config": config, "form": form, "can_edit": can_edit}
    return render(request, "surveillance/detector_form.html", ctx, status=status)
