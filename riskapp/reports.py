"""Read-side assembly of a risk run for the pages, the exports and the PDF report.

Nothing here computes risk: every figure comes from a stored run (its result rows and its
``summary``), so what a page, a spreadsheet and the PDF show is the same and traceable to the
run's inputs hash. Limit utilisation is measured against the latest run with the same limit
arithmetic as the checks (``engine.limits``), so a limit added after the run is gauged at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from portfolios.models import Portfolio
from riskapp.engine import limits as engine
from riskapp.models import Limit, LimitBreach, RiskResult, RiskRun

METHOD_LABELS = {
    "parametric_normal": "Parametric normal",
    "parametric_t": "Parametric Student-t",
    "cornish_fisher": "Cornish–Fisher",
    "historical": "Historical simulation",
    "fhs_ewma": "Filtered HS (EWMA)",
    "fhs_garch": "Filtered HS (GARCH)",
    "monte_carlo": "Monte Carlo (normal)",
    "monte_carlo_t": "Monte Carlo (Student-t)",
    "evt": "EVT (peaks over threshold)",
}
METHOD_ORDER = list(METHOD_LABELS)


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method.replace("_", " "))


def latest_run(portfolio: Portfolio) -> RiskRun | None:
    """The portfolio's most recent succeeded run (latest as-of day, then newest)."""
    return (
        RiskRun.objects.filter(portfolio=portfolio, calculation__status="succeeded")
        .select_related("calculation", "portfolio")
        .order_by("-as_of", "-id")
        .first()
    )


def last_attempt(portfolio: Portfolio) -> RiskRun | None:
    """The portfolio's most recently created run, whatever its status."""
    return RiskRun.objects.filter(portfolio=portfolio).select_related("calculation").order_by("-id").first()


def headline(run: RiskRun | None, method: str = "historical", confidence: float = 0.99, horizon: int = 1) -> Any:
    """The run's result row for one method, confidence and horizon (None when absent)."""
    if run is None:
        return None
    for r in run.results.all():
        if r.method == method and float(r.confidence) == confidence and r.horizon_days == horizon:
            return r
    return None


# ---------------------------------------------------------------------------- method comparison


@dataclass(frozen=True)
class MethodRow:
    method: str
    label: str
    cells: list[RiskResult | None]
    revaluation: str


def method_table(run: RiskRun) -> tuple[list[tuple[float, int]], list[MethodRow]]:
    """Columns (confidence, horizon) by horizon then confidence, and one row per method."""
    results = list(run.results.all())
    columns = sorted({(float(r.confidence), r.horizon_days) for r in results}, key=lambda c: (c[1], c[0]))
    by_key = {(r.method, float(r.confidence), r.horizon_days): r for r in results}
    methods = sorted({r.method for r in results}, key=lambda m: METHOD_ORDER.index(m) if m in METHOD_ORDER else 99)
    rows = []
    for m in methods:
        cells = [by_key.get((m, c, h)) for c, h in columns]
        first = next((c for c in cells if c is not None), None)
        rows.append(MethodRow(m, method_label(m), cells, (first.details or {}).get("revaluation", "") if first else ""))
    return columns, rows


# ---------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class LimitUsage:
    """One limit gauged against a run: ``level`` is ok / warning / breach / unmeasured."""

    limit: Limit
    measured: float | None
    utilisation: float | None
    level: str
    subject: str
    is_fraction: bool

    @property
    def width_pct(self) -> float:
        """Bar width on the gauge (capped at 100 %)."""
        return min(100.0, max(0.0, (self.utilisation or 0.0) * 100.0))


def _exposures(summary: dict[str, Any]) -> engine.Exposures | None:
    exp = summary.get("exposures")
    nav = summary.get("nav") or 0.0
    if not exp or nav <= 0:
        return None
    return engine.Exposures(
        nav=nav,
        gross=exp["gross_leverage"],
        net=exp["net_leverage"],
        by_instrument=exp.get("by_instrument", {}),
        by_sector=exp.get("by_sector", {}),
    )


def limit_usage(run: RiskRun | None, limits: list[Limit] | QuerySet[Limit]) -> list[LimitUsage]:
    """Each active limit measured on ``run`` (inactive limits and a missing run: unmeasured)."""
    out: list[LimitUsage] = []
    summary = run.summary if run else {}
    exp = _exposures(summary) if run else None
    results = {(r.method, float(r.confidence), r.horizon_days): r for r in run.results.all()} if run else {}
    for limit in limits:
        spec = engine.LimitSpec(
            id=limit.pk,
            kind=limit.kind,
            threshold=float(limit.threshold),
            warning_ratio=float(limit.warning_ratio),
            sector=limit.sector,
        )
        check: engine.LimitCheck | None = None
        if run is not None and limit.is_active:
            if limit.kind in engine.EXPOSURE_KINDS and exp is not None:
                check = engine.check_exposure_limit(spec, exp)
            elif limit.kind in {"var", "es"}:
                key = (
                    limit.method or "historical",
                    float(limit.confidence or Decimal("0.99")),
                    limit.horizon_days or 1,
                )
                row = results.get(key)
                if row is not None:
                    check = engine.check_amount_limit(spec, float(row.var if limit.kind == "var" else row.es))
            elif limit.kind == "stress_loss" and summary.get("worst_stress_loss") is not None:
                check = engine.check_amount_limit(spec, float(summary["worst_stress_loss"]))
            elif limit.kind == "daily_loss" and summary.get("day_pnl") is not None:
                check = engine.check_amount_limit(spec, -float(summary["day_pnl"]))
        out.append(
            LimitUsage(
                limit=limit,
                measured=check.measured if check else None,
                utilisation=check.utilisation if check else None,
                level=check.severity if check else "unmeasured",
                subject=check.subject if check else "",
                is_fraction=limit.kind in engine.EXPOSURE_KINDS,
            )
        )
    return out


def worst_usage(usages: list[LimitUsage]) -> LimitUsage | None:
    """The most utilised measured limit (for the desk overview's colour)."""
    measured = [u for u in usages if u.utilisation is not None]
    return max(measured, key=lambda u: u.utilisation or 0.0, default=None)


# ---------------------------------------------------------------------------- stress and components


def stress_rows(run: RiskRun) -> list[Any]:
    """Stress results, worst first (reverse stress last)."""
    rows = list(run.stress_results.all())
    return sorted(rows, key=lambda s: (s.kind == "reverse", float(s.pnl)))


def factor_rows(run: RiskRun) -> list[Any]:
    """Factor exposures with the market factor first, then the style factors by name."""
    return sorted(run.factor_exposures.all(), key=lambda f: ("−" in f.factor, f.factor))


def component_rows(run: RiskRun) -> list[Any]:
    """Components, largest contribution first; ``share`` of the total is added for display."""
    rows = list(run.components.select_related("instrument").all())
    total = sum(c.component_var for c in rows) or 1.0
    for c in rows:
        c.share = c.component_var / total  # type: ignore[attr-defined]  # display-only attribute
    return sorted(rows, key=lambda c: -abs(c.component_var))


# ---------------------------------------------------------------------------- summary views

#: Backtest methods in display order (JSON objects come back from PostgreSQL's jsonb reordered).
BACKTEST_ORDER = ("historical", "parametric_normal", "fhs_ewma", "fhs_garch", "evt", "evt_ewma")


def backtest_view(backtest: dict[str, Any]) -> dict[str, Any]:
    """The stored backtest with ``method_list``: its methods in display order, each with its name."""
    methods = backtest.get("methods") or {}
    order = sorted(methods, key=lambda m: BACKTEST_ORDER.index(m) if m in BACKTEST_ORDER else 99)
    return {**backtest, "method_list": [{"method": m, **methods[m]} for m in order]}


def concentration_view(concentration: dict[str, Any]) -> dict[str, Any]:
    """Groups sorted by gross exposure, largest first (jsonb does not keep the stored order)."""
    out = dict(concentration)
    for key in ("by_sector", "by_country"):
        groups = concentration.get(key) or {}
        out[key] = dict(sorted(groups.items(), key=lambda kv: -kv[1].get("gross", 0.0)))
    return out


def breach_rows(breaches: Iterable[LimitBreach]) -> list[LimitBreach]:
    """Breaches with ``is_fraction`` set, so exposure limits display as % of NAV."""
    rows = list(breaches)
    for b in rows:
        b.is_fraction = b.limit.kind in engine.EXPOSURE_KINDS  # type: ignore[attr-defined]
    return rows
