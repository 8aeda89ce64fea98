"""Scoring detectors against the generator's labelled episodes: precision, recall, F1, alert volume.

Matching rule (docs/surveillance-methodology.md): a detection matches an episode when both have
the same scenario and instrument, the detection's account is in the episode account's group
(same beneficial owner or linked accounts) and the time windows overlap once each is widened by
``tolerance_us``. A detection matching an episode of another scenario does not count for it.

Per scenario:
- ``tp`` = alerts that match at least one episode; ``fp`` = the other alerts;
- ``fn`` = episodes no alert matches; ``detected`` = episodes − fn;
- precision = tp / alerts; recall = detected / episodes; F1 = their harmonic mean.
Several alerts on one episode (say the spoofer's and its linked account's) are all true
positives: none is a false alarm, and recall counts the episode once. A ratio with a zero
denominator is NaN (shown as "n/a"), never a flattering 1.
Alert volume is per 10,000 orders (distinct order ids), the unit analysts staff against.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from surveillance.engine.scenarios import SCENARIOS, Episode, market_generate
from surveillance.engine.types import (
    US_PER_MINUTE,
    Accounts,
    BoolArray,
    Detection,
    FloatArray,
    IntArray,
    SurveillanceData,
)

DEFAULT_TOLERANCE_US = 15 * US_PER_MINUTE


def _ratio(num: int, den: int) -> float:
    return num / den if den else math.nan


@dataclass(frozen=True)
class ScenarioScore:
    """Counts and ratios for one scenario (see the module docstring for the definitions)."""

    scenario: str
    episodes: int
    alerts: int
    tp: int
    fp: int
    fn: int
    alerts_per_10k_orders: float

    @property
    def detected(self) -> int:
        return self.episodes - self.fn

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.alerts)

    @property
    def recall(self) -> float:
        return _ratio(self.detected, self.episodes)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        if math.isnan(r) or (math.isnan(p) and self.episodes == 0):
            return math.nan
        p = 0.0 if math.isnan(p) else p
        return 2 * p * r / (p + r) if p + r > 0 else 0.0


@dataclass(frozen=True)
class EvaluationReport:
    """Scores per scenario plus totals; ``missing`` lists scenarios whose detector could not be
    loaded (they are scored with no alerts). Timings in seconds."""

    scores: dict[str, ScenarioScore]
    orders_count: int
    severity: str = ""
    seed: int | None = None
    days: int | None = None
    instruments: int | None = None
    activity: float = 1.0
    missing: tuple[str, ...] = ()
    generate_s: float = 0.0
    detect_s: float = 0.0
    order_events: int = 0
    false_positives: tuple[Detection, ...] = field(default=(), repr=False)
    missed: tuple[Episode, ...] = field(default=(), repr=False)

    @property
    def alerts(self) -> int:
        return sum(s.alerts for s in self.scores.values())

    @property
    def alerts_per_10k_orders(self) -> float:
        return 1e4 * self.alerts / self.orders_count if self.orders_count else math.nan


def _widened_overlap(d: Detection, starts: FloatArray, ends: FloatArray, tolerance_us: int) -> BoolArray:
    return (d.start_us - tolerance_us <= ends) & (starts - tolerance_us <= d.end_us)


def detections_score(
    detections: Sequence[Detection],
    episodes: Sequence[Episode],
    *,
    orders_count: int,
    tolerance_us: int = DEFAULT_TOLERANCE_US,
    accounts: Accounts | None = None,
    scenarios: Sequence[str] | None = None,
) -> EvaluationReport:
    """Match ``detections`` to ``episodes`` and score each scenario.

    ``accounts`` gives the groups (same beneficial owner or linked); without it only the very
    same account matches. ``scenarios`` fixes the rows reported, ignoring detections and
    episodes of other scenarios (default: the seven abuses plus any other scenario that has
    detections or episodes).
    """
    if orders_count < 0 or tolerance_us < 0:
        raise ValueError("orders_count and tolerance_us must be non-negative")
    if scenarios is not None:
        names = list(scenarios)
    else:
        names = list(SCENARIOS)
        names += sorted(({d.scenario for d in detections} | {e.scenario for e in episodes}) - set(names))

    def group(account_ids: Sequence[int]) -> IntArray:
        ids = np.asarray(account_ids, dtype=np.int64)
        if accounts is None or len(accounts) == 0:
            return ids
        known = np.isin(ids, accounts.account_id)
        # An account the table does not know is its own group (negative, never equal to a real one).
        return np.where(known, accounts.group_of(ids), -1 - ids).astype(np.int64)

    scores: dict[str, ScenarioScore] = {}
    false_pos: list[Detection] = []
    missed: list[Episode] = []
    for s in names:
        eps = [e for e in episodes if e.scenario == s]
        dets = [d for d in detections if d.scenario == s]
        e_inst = np.array([e.instrument for e in eps], dtype=np.int64)
        e_group = group([e.account for e in eps])
        e_start = np.array([e.start_us for e in eps], dtype=np.float64)
        e_end = np.array([e.end_us for e in eps], dtype=np.float64)
        d_group = group([d.account for d in dets])
        hit = np.zeros(len(eps), dtype=bool)
        tp = 0
        for k, d in enumerate(dets):
            m = (e_inst == d.instrument) & (e_group == d_group[k]) & _widened_overlap(d, e_start, e_end, tolerance_us)
            if m.any():
                tp += 1
                hit |= m
            else:
                false_pos.append(d)
        missed.extend(e for e, h in zip(eps, hit, strict=True) if not h)
        scores[s] = ScenarioScore(
            scenario=s,
            episodes=len(eps),
            alerts=len(dets),
            tp=tp,
            fp=len(dets) - tp,
            fn=int((~hit).sum()),
            alerts_per_10k_orders=1e4 * len(dets) / orders_count if orders_count else math.nan,
        )
    return EvaluationReport(
        scores=scores, orders_count=orders_count, false_positives=tuple(false_pos), missed=tuple(missed)
    )


def detectors_available(scenarios: Sequence[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """(scenarios whose detector module imports and exports ``SPEC``, {scenario: why not} for the
    others). Lets evaluation run while only some detectors exist."""
    ok: list[str] = []
    missing: dict[str, str] = {}
    for s in scenarios or SCENARIOS:
        name = f"surveillance.engine.{s}"
        if importlib.util.find_spec(name) is None:
            missing[s] = "no module"
            continue
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - a half-written module is reported, not fatal
            missing[s] = f"import failed: {exc}"
            continue
        if not hasattr(module, "SPEC"):
            missing[s] = "module has no SPEC"
            continue
        ok.append(s)
    return ok, missing


def _detect_all() -> Callable[..., list[Detection]] | None:
    """The registry's ``detect_all`` once every detector module imports, else None."""
    try:
        from surveillance.engine.detectors import detect_all  # imports every detector module
    except Exception:  # noqa: BLE001 - fall back to the modules that exist
        return None
    return detect_all


def detections_run(
    data: SurveillanceData,
    *,
    scenarios: Sequence[str] | None = None,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Detection]:
    """Run the given detectors (default: every available one) and group their output, as
    ``detectors.detect_all`` does; works before every detector module exists."""
    available, _ = detectors_available(scenarios)
    detect_all = _detect_all()
    if detect_all is not None:
        return detect_all(data, parameters=parameters, scenarios=available)
    from surveillance.engine.grouping import detections_group
    from surveillance.engine.params import params_clean

    out: list[Detection] = []
    for s in available:
        spec = importlib.import_module(f"surveillance.engine.{s}").SPEC
        out.extend(spec.run(data, params_clean(spec, (parameters or {}).get(s))))
    return detections_group(out)


def evaluation_run(
    *,
    seed: int,
    days: int,
    instruments: int,
    severity: str,
    episodes_per_scenario: int | None = None,
    closes: FloatArray | None = None,
    activity: float = 1.0,
    scenarios: Sequence[str] | None = None,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    tolerance_us: int = DEFAULT_TOLERANCE_US,
) -> EvaluationReport:
    """Generate a market, run the detectors and score them. ``scenarios`` restricts both the
    detectors run and the rows reported (all seven by default); a scenario whose detector is
    not available yet is listed in ``missing`` and scored with no alerts. ``closes`` and
    ``activity`` go to ``market_generate``."""
    chosen = list(scenarios) if scenarios is not None else list(SCENARIOS)
    t0 = time.perf_counter()
    gen = market_generate(
        seed=seed,
        days=days,
        instruments=instruments,
        severity=severity,
        episodes_per_scenario=episodes_per_scenario,
        closes=closes,
        activity=activity,
    )
    t1 = time.perf_counter()
    available, missing = detectors_available(chosen)
    detections = detections_run(gen.data, scenarios=available, parameters=parameters) if available else []
    t2 = time.perf_counter()
    report = detections_score(
        [d for d in detections if d.scenario in chosen],
        [e for e in gen.episodes if e.scenario in chosen],
        orders_count=gen.orders_count,
        tolerance_us=tolerance_us,
        accounts=gen.data.accounts,
        scenarios=chosen,
    )
    return EvaluationReport(
        scores=report.scores,
        orders_count=report.orders_count,
        severity=severity,
        seed=seed,
        days=days,
        instruments=instruments,
        activity=activity,
        missing=tuple(sorted(missing)),
        generate_s=t1 - t0,
        detect_s=t2 - t1,
        order_events=len(gen.data.orders),
        false_positives=report.false_positives,
        missed=report.missed,
    )


def _fmt(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.2f}"


def report_rows(report: EvaluationReport) -> list[list[str]]:
    """Table rows: scenario, episodes, alerts, TP, FP, FN, precision, recall, F1, alerts/10k."""
    rows = []
    for s in report.scores.values():
        name = f"{s.scenario} (no detector)" if s.scenario in report.missing else s.scenario
        rows.append(
            [
                name,
                str(s.episodes),
                str(s.alerts),
                str(s.tp),
                str(s.fp),
                str(s.fn),
                _fmt(s.precision),
                _fmt(s.recall),
                _fmt(s.f1),
                f"{s.alerts_per_10k_orders:.2f}",
            ]
        )
    return rows


HEADERS = ["scenario", "episodes", "alerts", "TP", "FP", "FN", "precision", "recall", "F1", "alerts/10k orders"]


def report_markdown(report: EvaluationReport) -> str:
    """The report as a Markdown table with a one-line heading giving the run's options."""
    head = (
        f"**Severity {report.severity}** — seed {report.seed}, {report.days} sessions × {report.instruments} "
        f"instruments at activity {report.activity:g}, {report.orders_count:,} orders "
        f"({report.order_events:,} order events); "
        f"{report.alerts} alerts = {report.alerts_per_10k_orders:.2f} per 10,000 orders."
    )
    lines = [head, "", "| " + " | ".join(HEADERS) + " |", "|" + "|".join(["---"] + ["---:"] * (len(HEADERS) - 1)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in report_rows(report)]
    return "\n".join(lines)


def report_text(report: EvaluationReport) -> str:
    """The report as a fixed-width table for a terminal."""
    rows = [HEADERS, *report_rows(report)]
    widths = [max(len(r[k]) for r in rows) for k in range(len(HEADERS))]
    fmt = "  ".join(f"{{:{'<' if k == 0 else '>'}{w}}}" for k, w in enumerate(widths))
    head = (
        f"severity {report.severity}: seed {report.seed}, {report.days} sessions x {report.instruments} instruments "
        f"(activity {report.activity:g}), "
        f"{report.orders_count:,} orders ({report.order_events:,} events); generated in {report.generate_s:.1f} s, "
        f"detected in {report.detect_s:.1f} s"
    )
    body = [fmt.format(*r) for r in rows]
    tail = f"alerts: {report.alerts} = {report.alerts_per_10k_orders:.2f} per 10,000 orders"
    if report.missing:
        tail += f"; no detector yet for: {', '.join(report.missing)}"
    return "\n".join([head, *body, tail])
