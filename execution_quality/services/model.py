"""Training and using the cost model: the expected cost of an order for the conditions it traded in.

``cost_model_train`` fits the gradient-boosting model of ``execution_quality.engine.cost_model``
on the stored TCA results (oldest first, time-ordered hold-out), stores it with joblib in
``CostModel.artifact``, makes it the active model and writes its card to the audit trail. It runs
on a worker: ``cost_model_train_create`` queues it as a ``CalculationRun`` (kind
``tca.model_train``, queue ``tca``), for "Retrain now" and the monthly schedule alike, and
``cost_model_train_execute`` is the run's body.
``expected_costs`` is what TCA runs and the pre-trade estimate call: the active model's
prediction with SHAP values by feature, or, before any model is trained, half the arrival
spread plus the square-root-law impact (both in bps), which also adds up exactly.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import joblib
import numpy as np
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record, inputs_hash_of
from core.errors import ValidationFailed
from core.models import CalculationRun
from core.services import calculation_run_create
from execution_quality.engine.cost_model import (
    MIN_TRAINING_ORDERS,
    NUMERIC_FEATURES,
    CostFeatureSpec,
    CostRows,
    cost_model_explain,
    cost_model_fit,
    cost_model_predict,
)
from execution_quality.engine.cost_model import CostModel as FittedCostModel
from execution_quality.engine.types import FloatArray, TcaInputError
from execution_quality.models import CostModel, TcaOrderResult

#: Newest orders a training reads: ~200k rows × 36 columns fit in a couple of minutes on one core.
MAX_TRAINING_ORDERS = 200_000
MODEL_SEED = 7
TRAIN_KIND = "tca.model_train"
TRAIN_QUEUE = "tca"
FALLBACK_BASIS = "spread/2 + square-root law"

#: Model columns grouped into the features a person reads (one-hot columns summed per category).
FEATURE_GROUPS: dict[str, str] = {
    "size_adv": "size (% ADV)",
    "volatility_daily_bps": "volatility",
    "arrival_spread_bps": "spread",
    "minutes_since_open": "time of day",
    "duration_s": "duration",
    "pov": "participation",
    "side_buy": "side",
    "order_type": "order type",
    "venue": "venue",
    "broker": "broker",
}


def _group(column: str) -> str:
    return FEATURE_GROUPS.get(column.split("=", 1)[0], column)


# ---------------------------------------------------------------------------- artifact


def _dump(fitted: FittedCostModel) -> bytes:
    buf = io.BytesIO()
    # The spec is stored as plain values so the artifact does not pin the dataclass layout.
    joblib.dump({"regressor": fitted.regressor, "spec": asdict(fitted.spec)}, buf, compress=3)
    return buf.getvalue()


def _load(model: CostModel) -> FittedCostModel:
    # The artifact is only ever written by cost_model_train (this module); never load one from elsewhere.
    payload = joblib.load(io.BytesIO(bytes(model.artifact)))
    spec = CostFeatureSpec(**{k: tuple(v) for k, v in payload["spec"].items()})
    return FittedCostModel(regressor=payload["regressor"], spec=spec, card=model.card)


@dataclass(frozen=True)
class ActiveModel:
    """The active cost model loaded from its row, with its version."""

    row: CostModel
    fitted: FittedCostModel

    @property
    def version(self) -> str:
        return self.row.version


def cost_model_active() -> ActiveModel | None:
    """The active cost model, or None before the first training."""
    row = CostModel.objects.filter(is_active=True).first()
    return ActiveModel(row=row, fitted=_load(row)) if row is not None else None


# ---------------------------------------------------------------------------- rows


def cost_rows(
    *,
    size_adv: Any,
    volatility_daily_bps: Any,
    arrival_spread_bps: Any,
    minutes_since_open: Any,
    duration_s: Any,
    pov: Any,
    side_buy: Any,
    order_type: list[str],
    venue: list[str],
    broker: list[str],
) -> CostRows:
    """Model rows from per-order columns (None/NaN where unknown), in ``NUMERIC_FEATURES`` order."""
    columns = [size_adv, volatility_daily_bps, arrival_spread_bps, minutes_since_open, duration_s, pov, side_buy]
    numeric = np.column_stack([np.asarray(c, dtype=np.float64).reshape(-1) for c in columns])
    return CostRows(numeric=numeric, order_type=order_type, venue=venue, broker=broker)


def _rows_of_results(results: list[dict[str, Any]]) -> CostRows:
    def col(name: str) -> list[float]:
        return [np.nan if r[name] is None else float(r[name]) for r in results]

    return cost_rows(
        size_adv=col("size_adv"),
        volatility_daily_bps=col("volatility_daily_bps"),
        arrival_spread_bps=col("arrival_spread_bps"),
        minutes_since_open=col("minutes_since_open"),
        duration_s=col("duration_s"),
        pov=col("pov"),
        side_buy=[1.0 if r["side"] == "buy" else 0.0 for r in results],
        order_type=[r["order_type"] for r in results],
        venue=[r["venue"] for r in results],
        broker=[r["broker"] for r in results],
    )


# ---------------------------------------------------------------------------- expected costs


@dataclass(frozen=True)
class Expected:
    """Expected cost (bps) per row, the explanation of each (values by feature, base) and the basis."""

    cost_bps: FloatArray
    explanations: list[dict[str, Any]]
    model_version: str


def expected_costs(
    *, rows: CostRows, half_spread_bps: FloatArray, sqrt_impact_bps: FloatArray, model: ActiveModel | None
) -> Expected:
    """The active model's prediction and SHAP values by feature, or the fallback estimate.

    Either way ``base + Σ values`` is the expected cost of the row, in bps.
    """
    n = len(rows)
    if model is None:
        cost = half_spread_bps + sqrt_impact_bps
        explanations = [
            {
                "values": {
                    "half spread": _num(half_spread_bps[k]),
                    "impact (square-root law)": _num(sqrt_impact_bps[k]),
                },
                "base": 0.0,
                "units": "bps of expected cost",
                "basis": FALLBACK_BASIS,
            }
            if np.isfinite(cost[k])
            else {}
            for k in range(n)
        ]
        return Expected(cost_bps=cost, explanations=explanations, model_version="")
    predicted = cost_model_predict(model.fitted, rows)
    values, base = cost_model_explain(model.fitted, rows)
    names = model.fitted.spec.names
    groups = sorted({_group(c) for c in names}, key=list(FEATURE_GROUPS.values()).index)
    index = {g: [j for j, c in enumerate(names) if _group(c) == g] for g in groups}
    explanations = []
    for k in range(n):
        explanations.append(
            {
                "values": {g: float(values[k, cols].sum()) for g, cols in index.items()},
                "base": base,
                "units": "bps of predicted cost",
                "basis": "cost model",
                "model_version": model.version,
                "inputs": {f: _num(rows.numeric[k, j]) for j, f in enumerate(NUMERIC_FEATURES)},
            }
        )
    return Expected(cost_bps=predicted, explanations=explanations, model_version=model.version)


def _num(x: Any) -> float | None:
    v = float(x)
    return v if np.isfinite(v) else None


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as None (PostgreSQL's jsonb refuses them) and numpy scalars as Python."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


# ---------------------------------------------------------------------------- training

_TRAINING_FIELDS = (
    "id",
    "order_id",
    "arrival_ts",
    "side",
    "order_type",
    "venue",
    "broker",
    "size_adv",
    "volatility_daily_bps",
    "arrival_spread_bps",
    "minutes_since_open",
    "duration_s",
    "pov",
    "cost_arrival_bps",
)


def cost_model_train(*, user: User | None, progress: Callable[[int, str], None] | None = None) -> CostModel:
    """Fit a new cost model on the stored TCA results, make it the active one and audit its card.

    Reads the newest ``MAX_TRAINING_ORDERS`` orders with a cost vs arrival, oldest first. Raises
    ``ValidationFailed`` when fewer than ``MIN_TRAINING_ORDERS`` are available. ``progress``
    (percent, message) hears of each stage when the training runs as a ``CalculationRun``.
    Pages and the API queue a training with ``cost_model_train_create`` rather than calling this.
    """
    report = progress or (lambda _pct, _msg: None)
    report(5, "Loading analysed orders")
    newest = (
        TcaOrderResult.objects.filter(cost_arrival_bps__isnull=False)
        .order_by("-arrival_ts", "-id")
        .values(*_TRAINING_FIELDS)[:MAX_TRAINING_ORDERS]
    )
    results = list(reversed(list(newest)))
    if len(results) < MIN_TRAINING_ORDERS:
        raise ValidationFailed(
            f"Too little data to train the cost model: {len(results)} analysed orders with a cost, "
            f"at least {MIN_TRAINING_ORDERS} are needed. Run TCA on more orders first.",
            extra={"fields": {"orders": f"{len(results)} available, {MIN_TRAINING_ORDERS} needed."}},
        )
    y = np.array([r["cost_arrival_bps"] for r in results], dtype=np.float64)
    report(20, f"Fitting on {len(results)} orders")
    try:
        fitted = cost_model_fit(_rows_of_results(results), y, seed=MODEL_SEED)
    except TcaInputError as exc:
        raise ValidationFailed(str(exc), extra={"fields": {"orders": str(exc)}}) from None
    report(90, "Saving the model and its card")
    now = timezone.now()
    artifact = _dump(fitted)
    # Microseconds keep two trainings on the same data in the same second apart (same artifact hash).
    version = f"tca-cost-{now:%Y%m%d%H%M%S%f}-{inputs_hash_of(artifact)[:8]}"
    card = json_safe(
        {
            **fitted.card,
            "version": version,
            "trained_at": now.isoformat(),
            "trained_by": user.get_username() if user else "system",
            "training_window": {
                "from": results[0]["arrival_ts"].isoformat(),
                "to": results[-1]["arrival_ts"].isoformat(),
                "orders": len(results),
            },
        }
    )
    inputs_hash = inputs_hash_of({"orders": [r["order_id"] for r in results], "costs": y.round(6).tolist()})
    with transaction.atomic():
        previous = CostModel.objects.select_for_update().filter(is_active=True).first()
        CostModel.objects.filter(is_active=True).update(is_active=False)
        model = CostModel.objects.create(version=version, trained_by=user, card=card, artifact=artifact, is_active=True)
        audit_record(
            action="tca.model.card",
            actor=user,
            obj=model,
            before={"active": previous.version} if previous else None,
            after=card,
            inputs_hash=inputs_hash,
            parameters=card["parameters"],
        )
    return model


# ---------------------------------------------------------------------------- training as a run


def _train_task() -> Any:
    from execution_quality.tasks import cost_model_train_task

    return cost_model_train_task


def cost_model_train_create(*, user: User | None) -> CalculationRun:
    """Queue a training of the cost model as a ``CalculationRun`` (kind ``tca.model_train``, queue
    ``tca``) and return it; pages and the API poll the run. ``user`` None is the monthly schedule.

    Training takes minutes on a large book, so it never runs inside a request. Too little data
    ends the run as failed with ``cost_model_train``'s message as its error; nothing changes.
    Who may train (compliance supervisors) is checked by the callers.
    """
    return calculation_run_create(kind=TRAIN_KIND, task=_train_task(), parameters={}, user=user, queue=TRAIN_QUEUE)


def cost_model_train_execute(*, run: CalculationRun, progress: Callable[[int, str], None]) -> dict[str, Any]:
    """The body of a ``tca.model_train`` run: train as the run's user; the run's result is the
    new model's version, its training orders and its hold-out metrics (bps, R²)."""
    model = cost_model_train(user=run.user, progress=progress)
    metrics = model.card.get("metrics") or {}
    return {
        "version": model.version,
        "orders": (model.card.get("training_window") or {}).get("orders"),
        "metrics": {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()},
    }
