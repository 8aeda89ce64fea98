"""Grouping: one alert per account, instrument and scenario episode, not one per order.

Detections of the same scenario, account and instrument whose windows lie within
``window_us`` of each other are merged. Repetition raises the score by a noisy-or,
``1 − Π(1 − sᵢ/100)``: two independent 60-point hits make 84, never more than 100.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from surveillance.engine.types import US_PER_MINUTE, Detection

DEFAULT_GROUP_WINDOW_US = 30 * US_PER_MINUTE


def score_combine(scores: Iterable[float]) -> float:
    """Noisy-or of 0–100 scores, kept within [0, 100]."""
    miss = 1.0
    for s in scores:
        miss *= 1.0 - min(max(s, 0.0), 100.0) / 100.0
    return round(100.0 * (1.0 - miss), 2)


def score_with_history(score: float, prior_alerts: int, *, step: float = 0.15) -> float:
    """Raise a score for an account already alerted for the same scenario before: each prior
    alert closes ``step`` of the remaining gap to 100 (at most five counted)."""
    gap = 100.0 - score
    return round(100.0 - gap * (1.0 - step) ** min(max(prior_alerts, 0), 5), 2)


def _merge(group: Sequence[Detection]) -> Detection:
    if len(group) == 1:
        return group[0]
    top = max(group, key=lambda d: d.score)
    occurrences = sum(d.occurrences for d in group)
    return replace(
        top,
        start_us=min(d.start_us for d in group),
        end_us=max(d.end_us for d in group),
        score=score_combine(d.score for d in group),
        order_ids=tuple(sorted({i for d in group for i in d.order_ids})),
        trade_ids=tuple(sorted({i for d in group for i in d.trade_ids})),
        occurrences=occurrences,
        summary=f"{top.summary} ({occurrences} occurrences in this episode)",
    )


def detections_group(detections: Iterable[Detection], *, window_us: int = DEFAULT_GROUP_WINDOW_US) -> list[Detection]:
    """Merge detections of one scenario, account and instrument that are close in time."""
    ordered = sorted(detections, key=lambda d: (d.scenario, d.account, d.instrument, d.start_us))
    out: list[Detection] = []
    group: list[Detection] = []
    for d in ordered:
        if group:
            last = group[-1]
            same = (last.scenario, last.account, last.instrument) == (d.scenario, d.account, d.instrument)
            if same and d.start_us <= max(g.end_us for g in group) + window_us:
                group.append(d)
                continue
            out.append(_merge(group))
        group = [d]
    if group:
        out.append(_merge(group))
    return out
