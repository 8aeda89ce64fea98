"""Risk runs: queue one, compute it on a worker, save everything it found in one transaction.

A risk run is a ``CalculationRun`` of kind ``risk.run`` on the ``risk`` queue with a
:class:`~riskapp.models.RiskRun` beside it. The worker (``tasks.risk_run_task`` →
``core.services.run_execute`` → :func:`risk_run_execute`) loads the book and its history
(``riskapp.inputs``), computes VaR/ES for every method × confidence × horizon, Euler
components, stress tests, factor exposures, concentration, liquidity, the market regime and the
VaR backtest, then saves results, checks the portfolio's limits and writes a ``risk.run`` audit
event with the inputs hash, parameters and code version — all in one transaction.

Idempotent: a redelivered task for a finished run does nothing (``run_execute``), and a run
whose results were already committed (the worker died before marking it finished) returns the
stored summary instead of computing and saving again.

A run with a large Monte Carlo is split over workers instead (``services/mc_shards.py``): the
shards simulate the seeded blocks and return their tails, and the chord's last task calls
:func:`risk_run_execute` with them — the same figures and rows as computing it here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from core.errors import ValidationFailed
from core.models import CalculationRun
from core.services import calculation_run_create
from core.version import CODE_VERSION
from portfolios.models import Portfolio
from riskapp.engine import decomposition, montecarlo, var
from riskapp.engine.covariance import sample_cov
from riskapp.engine.limits import exposures as limit_exposures
from riskapp.engine.types import Revalue, RiskInputError, VarResult
from riskapp.inputs import (
    DEFAULT_RATE,
    DEFAULT_WINDOW_DAYS,
    MIN_COMMON_DAYS,
    RiskDataError,
    RiskInputs,
    risk_inputs_load,
)
from riskapp.models import FactorExposure, RiskComponent, RiskResult, RiskRun, StressResult
from riskapp.selectors import latest_price_date, scenario_list
from riskapp.services import measures
from riskapp.services.limits import limits_check

KIND = "risk.run"
QUEUE = "risk"
#: Methods a run computes by default: every method of the engine (see ``var.ALL_METHODS``).
DEFAULT_METHODS: tuple[str, ...] = (
    "parametric_normal",
    "parametric_t",
    "cornish_fisher",
    "historical",
    "fhs_ewma",
    "fhs_garch",
    "monte_carlo",
    "monte_carlo_t",
    "evt",
)
#: Methods that reprice options in full through the run's option book (the others are delta-based).
FULL_REVALUATION = frozenset({"historical", "monte_carlo", "monte_carlo_t"})
DEFAULT_PARAMETERS: dict[str, Any] = {
    "confidences": [0.95, 0.975, 0.99],
    "horizons": [1, 10],
    "methods": list(DEFAULT_METHODS),
    "window_days": DEFAULT_WINDOW_DAYS,
    "n_scenarios": 100_000,
    "seed": 0,
    "ewma_lambda": 0.94,
    "participation": 0.10,
    "reverse_stress_pct_nav": 0.10,
    "rate": DEFAULT_RATE,
}
N_SCENARIOS_BOUNDS = (1_000, 1_000_000)
WINDOW_BOUNDS = (MIN_COMMON_DAYS, 5_000)
MAX_HORIZON_DAYS = 250
#: EVT threshold: the empirical quantile of losses above which the GPD is fitted. 0.95 is the
#: textbook choice; it is lowered (not below 0.80) so that the lowest confidence asked for
#: still lies in the fitted tail (a 95 % VaR needs a threshold below the 95 % quantile).
EVT_THRESHOLD_QUANTILE = 0.95
# The figure components decompose, shown on the page and used for the limit defaults.
COMPONENT_CONFIDENCE = 0.99

Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class MonteCarloShards:
    """A run's Monte Carlo computed by shards (``services/mc_shards.py``): per method, the
    tails of its shards, or the reason the engine gave for not computing it; and the hash of the
    inputs the shards loaded."""

    tails: dict[str, list[montecarlo.McTail] | str]
    inputs_hash: str


# ---------------------------------------------------------------------------- parameters


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"Invalid risk run parameters: {message}", extra={"fields": {field: [message]}})


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def risk_run_parameters_clean(parameters: dict[str, Any] | None) -> dict[str, Any]:
    """The defaults overridden by ``parameters``, validated; raises ``ValidationFailed``.

    confidences: 1–6 numbers in (0, 1); horizons: 1–5 whole days in [1, 250]; methods: a
    non-empty subset of the engine's methods; n_scenarios: 1,000–1,000,000; seed: a whole number
    ≥ 0; window_days: 250–5,000; ewma_lambda in (0, 1); participation in (0, 1];
    reverse_stress_pct_nav in (0, 1]; rate in [−0.05, 0.5].
    """
    raw = dict(parameters or {})
    unknown = sorted(set(raw) - set(DEFAULT_PARAMETERS))
    if unknown:
        raise _bad(unknown[0], f"unknown parameter(s) {', '.join(unknown)}; allowed: {', '.join(DEFAULT_PARAMETERS)}.")
    p = {**DEFAULT_PARAMETERS, **raw}
    confs = p["confidences"]
    # Checked after rounding to the 5 decimals stored: 0.999999 would otherwise become a 100 % VaR.
    if (
        not isinstance(confs, list)
        or not 1 <= len(confs) <= 6
        or not all(_number(c) and 0 < round(c, 5) < 1 for c in confs)
    ):
        raise _bad("confidences", "give 1 to 6 confidences strictly between 0 and 1, e.g. [0.95, 0.99].")
    horizons = p["horizons"]
    if not isinstance(horizons, list) or not 1 <= len(horizons) <= 5:
        raise _bad("horizons", "give 1 to 5 horizons in days, e.g. [1, 10].")
    if not all(_whole(h) and 1 <= h <= MAX_HORIZON_DAYS for h in horizons):
        raise _bad("horizons", f"horizons are whole numbers of days from 1 to {MAX_HORIZON_DAYS}.")
    methods = p["methods"]
    if not isinstance(methods, list) or not methods or any(m not in var.ALL_METHODS for m in methods):
        raise _bad("methods", f"choose methods among {', '.join(var.ALL_METHODS)}.")
    lo, hi = N_SCENARIOS_BOUNDS
    if not _whole(p["n_scenarios"]) or not lo <= p["n_scenarios"] <= hi:
        raise _bad("n_scenarios", f"n_scenarios must be a whole number from {lo:,} to {hi:,}.")
    if not _whole(p["seed"]) or not 0 <= p["seed"] < 2**32:
        raise _bad("seed", "seed must be a whole number from 0 to 2³²−1.")
    lo, hi = WINDOW_BOUNDS
    if not _whole(p["window_days"]) or not lo <= p["window_days"] <= hi:
        raise _bad("window_days", f"window_days must be a whole number from {lo} to {hi}.")
    for name, low, high, low_open in (
        ("ewma_lambda", 0.0, 1.0 - 1e-12, True),
        ("participation", 0.0, 1.0, True),
        ("reverse_stress_pct_nav", 0.0, 1.0, True),
        ("rate", -0.05, 0.5, False),
    ):
        v = p[name]
        if not _number(v) or v > high or (v <= low if low_open else v < low):
            raise _bad(name, f"{name} must be a number in {'(' if low_open else '['}{low:g}, {high:g}].")
    p["confidences"] = sorted({round(float(c), 5) for c in confs})
    p["horizons"] = sorted(set(horizons))
    p["methods"] = [m for m in var.ALL_METHODS if m in set(methods)]
    return p


# ---------------------------------------------------------------------------- queueing


def risk_run_create(
    *,
    portfolio: Portfolio,
    user: User | None,
    as_of: date | None = None,
    parameters: dict[str, Any] | None = None,
) -> RiskRun:
    """Record a risk run of ``portfolio`` as of ``as_of`` (default: the latest day with prices)
    and dispatch it on the ``risk`` queue once the transaction commits."""
    from riskapp.tasks import risk_run_task

    params = risk_run_parameters_clean(parameters)
    day = as_of or latest_price_date()
    if day is None:
        raise ValidationFailed("There are no prices in the database yet: load price bars first.")
    if day > timezone.now().date():
        raise ValidationFailed("A risk run cannot be dated in the future.", extra={"fields": {"as_of": ["Future."]}})
    with transaction.atomic():
        calc = calculation_run_create(
            kind=KIND,
            task=risk_run_task,
            # portfolio_id: scheduled (user-less) runs are shown to the desks of that portfolio.
            parameters={"portfolio_id": portfolio.pk, "portfolio": portfolio.code, "as_of": day.isoformat(), **params},
            user=user,
            queue=QUEUE,
        )
        return RiskRun.objects.create(calculation=calc, portfolio=portfolio, as_of=day, parameters=params)


def risk_runs_queue_all(*, user: User | None, portfolios: Iterable[Portfolio] | None = None) -> list[RiskRun]:
    """Queue a default run for each portfolio (all of them when ``portfolios`` is None)."""
    day = latest_price_date()
    chosen = list(portfolios) if portfolios is not None else list(Portfolio.objects.order_by("code"))
    return [risk_run_create(portfolio=p, user=user, as_of=day) for p in chosen]


# ---------------------------------------------------------------------------- the computation


def evt_threshold_quantile(p: dict[str, Any]) -> float:
    lowest = float(min(p["confidences"]))
    return max(0.80, min(EVT_THRESHOLD_QUANTILE, round(lowest - 0.05, 4)))


def method_options(*, method: str, parameters: dict[str, Any], revalue: Revalue | None) -> dict[str, Any]:
    """The ``var.var_all`` options a run uses for ``method`` (its Monte Carlo shards too)."""
    kw: dict[str, Any] = {}
    if method in FULL_REVALUATION and revalue is not None:
        kw["revalue"] = revalue
    if method == "fhs_ewma":
        kw["lam"] = parameters["ewma_lambda"]
    if method == "evt":
        kw["threshold_quantile"] = evt_threshold_quantile(parameters)
    return kw


def _var_batch(
    inp: RiskInputs, p: dict[str, Any], method: str, confs: list[float], kw: dict[str, Any], mc: MonteCarloShards | None
) -> list[VarResult]:
    """One method at every confidence and horizon: computed here, or merged from its shards."""
    if mc is not None and method in mc.tails:
        tails = mc.tails[method]
        if isinstance(tails, str):
            raise RiskInputError(tails)  # the engine refused it in the shards, as it would have here
        return montecarlo.mc_results(method, confs, p["horizons"], {1: tails}, n_scenarios=p["n_scenarios"])
    return var.var_all(
        inp.returns,
        inp.exposures,
        confidences=confs,
        horizons=p["horizons"],
        methods=[method],
        seed=p["seed"],
        n_scenarios=p["n_scenarios"],
        **kw,
    )


def _var_results(
    inp: RiskInputs, p: dict[str, Any], progress: Progress, mc: MonteCarloShards | None = None
) -> tuple[list[VarResult], list[dict[str, Any]], dict[str, str]]:
    """Every method × confidence × horizon; a method that cannot run is skipped with its reason.

    Also returns how each method treated options: "full" (repriced), "delta" or "linear".
    """
    results: list[VarResult] = []
    skipped: list[dict[str, Any]] = []
    revaluation: dict[str, str] = {}
    revalue = inp.revalue()
    methods: list[str] = p["methods"]
    evt_q = evt_threshold_quantile(p)
    for i, method in enumerate(methods):
        progress(10 + int(45 * i / len(methods)), f"VaR and ES: {method.replace('_', ' ')}")
        kw = method_options(method=method, parameters=p, revalue=revalue)
        confs = p["confidences"]
        if method == "evt":
            # Confidences at or below the threshold are outside the fitted tail.
            low = [c for c in confs if c <= evt_q]
            skipped += [
                {"method": method, "confidence": c, "reason": f"below the EVT threshold quantile {evt_q:g}"}
                for c in low
            ]
            confs = [c for c in confs if c > evt_q]
        if not confs:
            continue
        try:
            batch = _var_batch(inp, p, method, confs, kw, mc)
        except RiskInputError as exc:
            skipped.append({"method": method, "reason": str(exc)})
            continue
        revaluation[method] = "full" if "revalue" in kw else ("delta" if inp.has_options else "linear")
        for r in batch:
            details = {**r.details, "threshold_quantile": evt_q} if method == "evt" else r.details
            results.append(VarResult(r.method, r.confidence, r.horizon_days, r.var, r.es, details))
    return results, skipped, revaluation


def _components(inp: RiskInputs) -> list[dict[str, Any]]:
    """Euler component VaR and ES at 99 % / 1 day (parametric normal, sample covariance)."""
    cov = sample_cov(inp.returns)
    marginal = decomposition.marginal_var(cov, inp.exposures, confidence=COMPONENT_CONFIDENCE)
    comp = decomposition.component_var(cov, inp.exposures, confidence=COMPONENT_CONFIDENCE)
    comp_es = decomposition.component_es(cov, inp.exposures, confidence=COMPONENT_CONFIDENCE)
    return [
        {
            "instrument": inst,
            "value": float(inp.exposures[i]),
            "marginal_var": float(marginal[i]),
            "component_var": float(comp[i]),
            "component_es": float(comp_es[i]),
        }
        for i, inst in enumerate(inp.instruments)
    ]


def _stress(inp: RiskInputs, p: dict[str, Any], betas: Any) -> measures.StressOutcome:
    out = measures.StressOutcome()
    measures.historical_stress(inp, betas, out)
    measures.hypothetical_stress(inp, betas, out)
    measures.user_stress(inp, list(scenario_list()), out)
    limit = inp.portfolio.limits.filter(kind="stress_loss", is_active=True).order_by("threshold").first()
    if limit is not None:
        threshold, source = float(limit.threshold), f"stress-loss limit #{limit.pk}"
    else:
        threshold = p["reverse_stress_pct_nav"] * (inp.nav or float(np.abs(inp.linear_values).sum()))
        source = f"{p['reverse_stress_pct_nav']:.0%} of NAV"
    if threshold > 0:
        measures.reverse_stress_row(inp, threshold, source, out)
    return out


def _pick(results: list[VarResult], method: str, confidence: float, horizon: int) -> VarResult | None:
    return next(
        (
            r
            for r in results
            if r.method == method and abs(r.confidence - confidence) < 1e-9 and r.horizon_days == horizon
        ),
        None,
    )


def _summary(inp: RiskInputs, p: dict[str, Any], results: list[VarResult], progress: Progress) -> dict[str, Any]:
    """Run-level figures: book, exposures, concentration, liquidity, regime, backtest."""
    val = inp.valuation
    headline = _pick(results, "historical", 0.99, 1)
    progress(72, "Concentration and liquidity")
    summary: dict[str, Any] = {
        "nav": inp.nav,
        "market_value": float(sum(val.values.values())),
        "gross": float(sum(abs(v) for v in val.values.values())),
        "net": float(sum(val.values.values())),
        "delta_gross": float(np.abs(inp.exposures).sum()),
        "delta_net": float(inp.exposures.sum()),
        "day_pnl": val.day_pnl,
        "positions": len(val.quantities),
        "options": len(inp.options),
        "factors": inp.factors,
        "window": {"start": inp.dates[0], "end": inp.dates[-1], "days": inp.n_days},
        "rate": inp.rate,
        "var_99_1d": headline.var if headline else None,
        "es_99_1d": headline.es if headline else None,
        "concentration": measures.concentration_summary(inp),
        "liquidity": measures.liquidity_summary(
            inp, var_99_1d=headline.var if headline else None, participation=p["participation"]
        ),
    }
    if inp.nav > 0:
        exp = limit_exposures(val.values, val.sectors, inp.nav)
        summary["exposures"] = {
            "gross_leverage": exp.gross,
            "net_leverage": exp.net,
            "by_instrument": exp.by_instrument,
            "by_sector": exp.by_sector,
        }
    progress(80, "Market regime")
    summary["regime"] = measures.regime_summary(as_of=inp.as_of, seed=p["seed"])
    progress(86, "VaR backtest")
    summary["backtest"] = measures.backtest_summary(inp)
    return summary


def risk_run_compute(
    *, inp: RiskInputs, parameters: dict[str, Any], progress: Progress, mc: MonteCarloShards | None = None
) -> dict[str, Any]:
    """Everything a run stores, computed from ``inp`` (no writes): rows and summary. The Monte
    Carlo methods in ``mc`` are merged from their shards' tails instead of simulated here."""
    results, skipped, revaluation = _var_results(inp, parameters, progress, mc)
    progress(56, "Component VaR")
    components = _components(inp)
    progress(60, "Stress tests")
    market = measures.market_returns(inp, window_days=parameters["window_days"])
    betas = measures.market_betas(inp, market)
    stress_out = _stress(inp, parameters, betas)
    progress(68, "Factor exposures")
    factor = measures.factor_risk(inp, market, window_days=parameters["window_days"])
    summary = _summary(inp, parameters, results, progress)
    summary["skipped"] = skipped
    summary["stress_skipped"] = stress_out.skipped
    summary["worst_stress_loss"] = stress_out.worst_loss
    summary["factor"] = {k: v for k, v in factor.items() if k != "exposures"}
    return {
        "results": results,
        "revaluation": revaluation,
        "components": components,
        "stress": stress_out.rows,
        "factors": factor.get("exposures", []),
        "summary": summary,
    }


# ---------------------------------------------------------------------------- saving


def _json_safe(value: Any) -> Any:
    """Plain JSON: numpy scalars to Python, dates to ISO strings, NaN/±inf to None."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_json_safe(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, date):
        return value.isoformat()
    return value


def _money(x: float) -> Decimal:
    return Decimal(f"{x:.4f}")


def _pct(x: float, nav: float) -> float | None:
    return x / nav if nav > 0 else None


def risk_run_save(*, risk_run: RiskRun, inp: RiskInputs, computed: dict[str, Any]) -> list[Any]:
    """Replace the run's rows with ``computed``, check limits and audit, in one transaction.

    Returns the breach rows the limit check recorded.
    """
    nav = inp.nav
    results: list[VarResult] = computed["results"]
    summary = _json_safe({**computed["summary"], "saved_at": timezone.now().isoformat()})
    with transaction.atomic():
        RiskRun.objects.select_for_update().filter(pk=risk_run.pk).first()
        for related in (risk_run.results, risk_run.components, risk_run.stress_results, risk_run.factor_exposures):
            related.all().delete()
        RiskResult.objects.bulk_create(
            RiskResult(
                run=risk_run,
                method=r.method,
                confidence=Decimal(str(round(r.confidence, 5))),
                horizon_days=r.horizon_days,
                var=_money(r.var),
                es=_money(r.es),
                var_pct_nav=_pct(r.var, nav),
                es_pct_nav=_pct(r.es, nav),
                details=_json_safe({**r.details, "revaluation": computed["revaluation"].get(r.method, "")}),
            )
            for r in results
        )
        RiskComponent.objects.bulk_create(
            RiskComponent(
                run=risk_run,
                instrument=c["instrument"],
                value=_money(c["value"]),
                marginal_var=c["marginal_var"],
                component_var=c["component_var"],
                component_es=c["component_es"],
            )
            for c in computed["components"]
        )
        StressResult.objects.bulk_create(
            StressResult(
                run=risk_run,
                scenario=s["scenario"][:100],
                kind=s["kind"],
                pnl=_money(s["pnl"]),
                pnl_pct_nav=_pct(s["pnl"], nav),
                details=_json_safe(s["details"]),
            )
            for s in computed["stress"]
        )
        FactorExposure.objects.bulk_create(
            FactorExposure(run=risk_run, factor=f["factor"][:32], beta=f["beta"], contribution=f["contribution"])
            for f in computed["factors"]
        )
        risk_run.inputs_hash = inp.inputs_hash
        risk_run.code_version = CODE_VERSION
        risk_run.summary = summary
        risk_run.save(update_fields=["inputs_hash", "code_version", "summary"])
        amounts: dict[str, dict[tuple[str, float, int], float]] = {"var": {}, "es": {}}
        for r in results:
            amounts["var"][(r.method, r.confidence, r.horizon_days)] = r.var
            amounts["es"][(r.method, r.confidence, r.horizon_days)] = r.es
        breaches = limits_check(
            portfolio=risk_run.portfolio,
            as_of=risk_run.as_of,
            run=risk_run,
            amounts=amounts,
            stress_loss=computed["summary"]["worst_stress_loss"],
            valuation=inp.valuation,
        )
        audit_record(
            action="risk.run",
            actor=risk_run.calculation.user,
            obj=risk_run,
            object_repr=f"{risk_run.portfolio.code} risk run {risk_run.as_of.isoformat()}",
            inputs_hash=inp.inputs_hash,
            parameters=risk_run.parameters,
            after=_result_payload(risk_run, breaches=len(breaches)),
        )
    return breaches


def _result_payload(risk_run: RiskRun, *, breaches: int) -> dict[str, Any]:
    """The small result of the calculation run (also the audit event's ``after``)."""
    s = risk_run.summary
    return {
        "risk_run_id": risk_run.pk,
        "portfolio": risk_run.portfolio.code,
        "as_of": risk_run.as_of.isoformat(),
        "var_99_1d": None if s.get("var_99_1d") is None else round(s["var_99_1d"], 2),
        "es_99_1d": None if s.get("es_99_1d") is None else round(s["es_99_1d"], 2),
        "results": risk_run.results.count(),
        "breaches": breaches,
    }


def risk_run_inputs(*, risk_run: RiskRun) -> RiskInputs:
    """The run's engine inputs, loaded for its stored as-of date and parameters (the same
    rows, hence the same arrays and hash, wherever and however often they are loaded)."""
    params = risk_run.parameters
    return risk_inputs_load(
        portfolio=risk_run.portfolio,
        as_of=risk_run.as_of,
        window_days=params["window_days"],
        rate=params["rate"],
        parameters=params,
    )


def risk_run_execute(*, run: CalculationRun, progress: Progress, mc: MonteCarloShards | None = None) -> dict[str, Any]:
    """Body of the ``risk.run`` calculation (see module docstring); returns the run's result.

    ``mc``: the Monte Carlo already computed by shards; their inputs must be these inputs.
    """
    risk_run = RiskRun.objects.select_related("portfolio", "calculation__user").get(calculation=run)
    if risk_run.summary.get("saved_at"):
        # Saved by an earlier delivery that died before marking the run finished.
        return _result_payload(risk_run, breaches=risk_run.breaches.count())
    params = risk_run.parameters
    progress(2, "Loading positions and prices")
    inp = risk_run_inputs(risk_run=risk_run)
    if mc is not None and mc.inputs_hash != inp.inputs_hash:
        raise RiskDataError(
            f"Positions or prices of {risk_run.portfolio.code} up to {risk_run.as_of.isoformat()} changed while "
            "the Monte Carlo shards ran: queue the run again."
        )
    computed = risk_run_compute(inp=inp, parameters=params, progress=progress, mc=mc)
    progress(94, "Saving results and checking limits")
    breaches = risk_run_save(risk_run=risk_run, inp=inp, computed=computed)
    return _result_payload(risk_run, breaches=len(breaches))
