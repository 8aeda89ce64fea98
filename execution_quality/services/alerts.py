"""Poor executions raised into the surveillance review queue (scenario ``best_execution``).

The one place best execution crosses into surveillance, through the documented services
``surveillance.services.alert_raise`` and, for a run's poor executions in one batch,
``alerts_raise`` (an import-linter contract allows this module and no other).

An order is a poor execution when its cost against the arrival mid exceeds the expected cost for
its conditions by more than ``TCA_POOR_MARGIN_BPS``. Its score (0–100) grows with the excess:
``score = 50 · excess / margin``, capped at 100, so an order just past the margin scores 50 and
one twice the margin beyond expectation scores 100.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.models import CalculationRun
from execution_quality.models import TcaOrderResult
from surveillance import services as surveillance_services

SCENARIO = "best_execution"


def poor_execution_score(*, cost_bps: float, expected_bps: float, margin_bps: float) -> float:
    """Alert score 0–100 of an order costing ``cost_bps`` against ``expected_bps`` (see module docstring)."""
    excess = cost_bps - expected_bps
    if margin_bps <= 0:
        return 100.0 if excess > 0 else 0.0
    return float(min(100.0, max(0.0, 50.0 * excess / margin_bps)))


def _summary(result: TcaOrderResult) -> str:
    conditions = []
    if result.size_adv is not None:
        conditions.append(f"size {result.size_adv * 100:.1f}% ADV")
    if result.arrival_spread_bps is not None:
        conditions.append(f"spread {result.arrival_spread_bps:.0f} bps")
    context = f" ({', '.join(conditions)})" if conditions else ""
    return (
        f"Cost {result.cost_arrival_bps:.0f} bps vs {result.predicted_cost_bps:.0f} bps expected "
        f"for these conditions{context}"
    )


def _alert_input(
    result: TcaOrderResult, order_ids: list[int], trade_ids: list[int], margin_bps: float
) -> surveillance_services.AlertInput:
    assert result.cost_arrival_bps is not None and result.predicted_cost_bps is not None
    figures: dict[str, Any] = {
        "cost_arrival_bps": result.cost_arrival_bps,
        "expected_cost_bps": result.predicted_cost_bps,
        "excess_bps": result.cost_arrival_bps - result.predicted_cost_bps,
        "size_adv": result.size_adv,
        "arrival_spread_bps": result.arrival_spread_bps,
        "volatility_daily_bps": result.volatility_daily_bps,
        "pov": result.pov,
        "duration_s": result.duration_s,
        "cost_vwap_bps": result.cost_vwap_bps,
    }
    explanation = result.explanation or {}
    return surveillance_services.AlertInput(
        scenario=SCENARIO,
        account=result.account,
        instrument=result.instrument,
        window_start=result.arrival_ts,
        window_end=result.end_ts,
        score=poor_execution_score(
            cost_bps=result.cost_arrival_bps, expected_bps=result.predicted_cost_bps, margin_bps=margin_bps
        ),
        summary=_summary(result),
        order_ids=order_ids,
        trade_ids=trade_ids,
        features={k: float(v) for k, v in figures.items() if v is not None},
        explanation={
            "values": explanation.get("values", {}),
            "base": explanation.get("base", 0.0),
            "units": explanation.get("units", "bps of predicted cost"),
            "basis": explanation.get("basis", ""),
        },
        parameters={"margin_bps": margin_bps, "expected_basis": explanation.get("basis", "")},
        model_version=result.model_version,
    )


def poor_executions_alerts_raise(
    *,
    results: Sequence[TcaOrderResult],
    order_ids: Mapping[int, list[int]],
    trade_ids: Mapping[int, list[int]],
    margin_bps: float,
    run: CalculationRun | None,
) -> list[int]:
    """Raise (or merge into the open alert of the same episode) the alerts of poor executions,
    in one batch with one audit event; returns the alert id of each result, in order.

    ``order_ids`` maps a result's parent order id to the parent and its children, ``trade_ids``
    to its fills (a missing entry: none). ``results`` need ``account`` and ``instrument`` loaded.
    """
    items = [
        _alert_input(r, order_ids.get(r.order_id, [r.order_id]), trade_ids.get(r.order_id, []), margin_bps)
        for r in results
    ]
    return [int(alert.pk) for alert in surveillance_services.alerts_raise(items=items, run=run)]


def poor_execution_alert_raise(
    *,
    result: TcaOrderResult,
    order_ids: list[int],
    trade_ids: list[int],
    margin_bps: float,
    run: CalculationRun | None,
) -> int:
    """Raise (or merge into the open alert of the same episode) the alert of one poor execution;
    returns the alert id. ``order_ids`` are the parent and its children, ``trade_ids`` its fills."""
    return poor_executions_alerts_raise(
        results=[result],
        order_ids={result.order_id: order_ids},
        trade_ids={result.order_id: trade_ids},
        margin_bps=margin_bps,
        run=run,
    )[0]
