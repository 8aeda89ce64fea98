"""Detection runs: incremental after each ingested batch, and the nightly sweep.

Both are ``CalculationRun`` rows on the ``surveillance`` queue. A run loads its window from the
database (``surveillance.inputs``), runs every enabled rule detector with the supervisor's
parameters, ranks behavioural anomalies (top k, with SHAP), stores alerts (merging into open
ones), re-ranks open alerts by the learned action likelihood and writes one audit event with
the inputs hash, parameters, code version and the anomaly model card.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Max, Min
from django.utils import timezone

from audit.services import audit_record, inputs_hash_of
from core.errors import ValidationFailed
from core.models import CalculationRun
from core.services import calculation_run_create
from portfolios.models import OrderEvent, Trade
from surveillance.engine.anomaly import anomalies_rank
from surveillance.engine.features import behaviour_features
from surveillance.engine.types import Detection, SurveillanceData, SurveillanceInputError
from surveillance.inputs import surveillance_data_load
from surveillance.services.alerts import alerts_store
from surveillance.services.detectors import detector_parameters_effective, detectors_enabled
from surveillance.services.ranking import alerts_rank

Progress = Callable[[int, str], None]

KIND_SWEEP = "surveillance.sweep"
KIND_INCREMENTAL = "surveillance.incremental"
QUEUE = "surveillance"


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def _parse(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationFailed(
            f"{field} must be an ISO 8601 date-time.", extra={"fields": {field: ["Invalid."]}}
        ) from None
    if parsed.tzinfo is None:
        raise ValidationFailed(f"{field} must carry a time zone.", extra={"fields": {field: ["Naive date-time."]}})
    return parsed


def _task() -> Any:
    from surveillance.tasks import surveillance_run_task

    return surveillance_run_task


def surveillance_sweep_create(
    *, user: User | None, since: datetime | None = None, until: datetime | None = None
) -> CalculationRun:
    """Queue a full sweep of every instrument over ``[since, until)``.

    Defaults: ``until`` = just after the newest order event, ``since`` = ``until`` minus
    ``SURVEILLANCE_SWEEP_DAYS`` (the nightly sweep reviews the last day with a margin).
    """
    if until is None:
        newest = OrderEvent.objects.aggregate(m=Max("ts"))["m"] or timezone.now()
        until = newest + timedelta(microseconds=1)
    if since is None:
        since = until - timedelta(days=settings.SURVEILLANCE_SWEEP_DAYS)
    if since >= until:
        raise ValidationFailed("The sweep window is empty.", extra={"fields": {"since": ["Must be before until."]}})
    for name, bound in (("until", until), ("since", since)):
        # Detectors look around the window (lookbacks, settlement): a window at the calendar's
        # ends overflows there, as a failed run; ingestion accepts no timestamps outside either.
        if not 1900 <= bound.year < 2200:
            raise ValidationFailed(
                "The sweep window is outside 1900–2200.",
                extra={"fields": {name: ["Must be between the years 1900 and 2200."]}},
            )
    if until - since > timedelta(days=settings.SURVEILLANCE_MAX_WINDOW_DAYS):
        # A sweep holds its whole window in memory (~1 GB per 5 million order events).
        days = settings.SURVEILLANCE_MAX_WINDOW_DAYS
        raise ValidationFailed(
            f"A sweep covers at most {days} days; split longer periods.",
            extra={"fields": {"since": [f"At most {days} days before until."]}},
        )
    return calculation_run_create(
        kind=KIND_SWEEP,
        task=_task(),
        parameters={"since": _iso(since), "until": _iso(until), "instrument_ids": None},
        user=user,
        queue=QUEUE,
    )


def surveillance_incremental_create(
    *, order_event_ids: Sequence[int] = (), trade_ids: Sequence[int] = (), user: User | None = None
) -> CalculationRun | None:
    """Queue detection over the instruments and times a committed batch touched, reaching back
    ``SURVEILLANCE_INCREMENTAL_LOOKBACK_HOURS`` so an episode spanning batches is seen whole."""
    spans = []
    instruments: set[int] = set()
    if order_event_ids:
        qs = OrderEvent.objects.filter(pk__in=order_event_ids)
        spans.append(qs.aggregate(lo=Min("ts"), hi=Max("ts")))
        instruments |= set(qs.values_list("order__instrument_id", flat=True).distinct())
    if trade_ids:
        qs2 = Trade.objects.filter(pk__in=trade_ids)
        spans.append(qs2.aggregate(lo=Min("ts"), hi=Max("ts")))
        instruments |= set(qs2.values_list("instrument_id", flat=True).distinct())
    lows = [s["lo"] for s in spans if s["lo"]]
    highs = [s["hi"] for s in spans if s["hi"]]
    if not lows or not instruments:
        return None
    since = min(lows) - timedelta(hours=settings.SURVEILLANCE_INCREMENTAL_LOOKBACK_HOURS)
    until = max(highs) + timedelta(microseconds=1)
    return calculation_run_create(
        kind=KIND_INCREMENTAL,
        task=_task(),
        parameters={"since": _iso(since), "until": _iso(until), "instrument_ids": sorted(instruments)},
        user=user,
        queue=QUEUE,
    )


def _data_summary(data: SurveillanceData) -> dict[str, int]:
    return {
        "order_events": len(data.orders),
        "trades": len(data.trades),
        "quotes": len(data.quotes),
        "tape": len(data.tape),
        "news": len(data.news),
        "accounts": len(data.accounts),
    }


def _inputs_hash(data: SurveillanceData) -> str:
    # The content hash of every column would cost as much as the detection; ids and times of
    # the events identify the inputs (rows are immutable once ingested).
    o, t = data.orders, data.trades
    return inputs_hash_of(
        {
            "orders": [int(o.order_id.sum()), int(o.ts_us.sum()), len(o)],
            "trades": [int(t.trade_id.sum()), int(t.ts_us.sum()), len(t)],
            "quotes": len(data.quotes),
            "tape": len(data.tape),
        }
    )


MAX_ANOMALY_EVIDENCE = 200  # order ids attached to an anomaly alert (the page lists them all)


def _with_evidence(data: SurveillanceData, detections: list[Detection]) -> list[Detection]:
    """Attach the account's orders and trades in the instrument on the flagged day."""
    o, t = data.orders, data.trades
    out = []
    for d in detections:
        in_o = (
            (o.account == d.account) & (o.instrument == d.instrument) & (o.ts_us >= d.start_us) & (o.ts_us <= d.end_us)
        )
        in_t = (
            (t.account == d.account) & (t.instrument == d.instrument) & (t.ts_us >= d.start_us) & (t.ts_us <= d.end_us)
        )
        out.append(
            replace(
                d,
                order_ids=tuple(np.unique(o.order_id[in_o])[:MAX_ANOMALY_EVIDENCE].tolist()),
                trade_ids=tuple(np.unique(t.trade_id[in_t])[:MAX_ANOMALY_EVIDENCE].tolist()),
                extra={**d.extra, "explanation": _explanation(d)},
            )
        )
    return out


def _explanation(d: Detection) -> dict[str, Any]:
    """The stored SHAP payload of an anomaly alert (units: tree edges of mean path length)."""
    return {
        "values": {k: float(v) for k, v in d.extra.get("shap", {}).items()},
        "base": float(d.extra.get("shap_base", 0.0)),
        "units": "mean isolation path length (edges); negative = more unusual",
        "detector_scores": d.extra.get("detector_scores", {}),
    }


def _anomalies(data: SurveillanceData, progress: Progress) -> tuple[list[Detection], dict[str, Any] | None]:
    """Top-k behavioural anomalies with SHAP, or nothing when the window is too small to rank."""
    table = behaviour_features(data)
    try:
        result = anomalies_rank(table, top_k=settings.SURVEILLANCE_ANOMALY_TOP_K, seed=settings.SURVEILLANCE_SEED)
    except SurveillanceInputError as exc:
        progress(80, f"Anomaly ranking skipped: {exc}")
        return [], None
    progress(80, f"Anomaly ranking: {len(result.detections)} of {len(table.account)} account-days reviewed")
    card = {**result.model_card, "fitted_at": timezone.now().isoformat()}
    return _with_evidence(data, list(result.detections)), card


def surveillance_run_execute(*, run: CalculationRun, progress: Progress) -> dict[str, Any]:
    """The body of a sweep or incremental run (see the module docstring)."""
    from surveillance.engine.detectors import detect_all

    p = run.parameters
    since, until = _parse(p["since"], "since"), _parse(p["until"], "until")
    progress(2, "Loading orders, trades and market data")
    data = surveillance_data_load(since=since, until=until, instrument_ids=p.get("instrument_ids"))
    params, enabled = detector_parameters_effective(), detectors_enabled()
    progress(20, f"Loaded {len(data.orders):,} order events; running {len(enabled)} detectors")

    def detector_progress(pct: int, message: str) -> None:
        progress(20 + pct * 50 // 100, message)

    detections = (
        detect_all(data, parameters=params, scenarios=enabled, progress=detector_progress)
        if len(data.orders) or len(data.trades)
        else []
    )
    # Anomalies are ranked once a day by the sweep: the top k is sized to a day's review capacity,
    # so ranking again after every ingested batch would raise k new alerts per batch.
    ranks_anomalies = run.kind == KIND_SWEEP and len(data.orders) > 0
    anomalies, model_card = _anomalies(data, progress) if ranks_anomalies else ([], None)
    progress(85, f"Storing {len(detections) + len(anomalies)} detections")
    stored = alerts_store(detections=detections, run=run, parameters=params)
    stored_ml = alerts_store(
        detections=anomalies,
        run=run,
        parameters={"anomaly": {"top_k": settings.SURVEILLANCE_ANOMALY_TOP_K}},
        model_version=str((model_card or {}).get("version", "")),
        source="model",
    )
    # Ranking retrains on every closed alert: the sweep does it daily, an incremental run (after
    # every ingested batch) only when it raised or changed an alert that needs a probability.
    touched = stored.created or stored.updated or stored_ml.created or stored_ml.updated
    if run.kind == KIND_SWEEP or touched:
        progress(92, "Ranking open alerts by action likelihood")
        ranking = alerts_rank()
    else:
        ranking = {"scored": 0, "reason": "No alert raised or changed by this incremental run."}
    by_scenario = Counter(d.scenario for d in [*detections, *anomalies])
    result = {
        "window": {"since": p["since"], "until": p["until"]},
        "inputs": _data_summary(data),
        "detections": dict(by_scenario),
        "alerts_created": len(stored.created) + len(stored_ml.created),
        "alerts_updated": len(stored.updated) + len(stored_ml.updated),
        "action_model": ranking,
    }
    audit_record(
        action="surveillance.run.detect",
        actor=run.user,
        obj=run,
        inputs_hash=_inputs_hash(data),
        parameters={"detectors": params, "enabled": enabled, "window": result["window"]},
        after={
            "alerts_created": stored.created + stored_ml.created,
            "alerts_updated": stored.updated + stored_ml.updated,
        },
    )
    if model_card:
        audit_record(
            action="surveillance.model.card",
            actor=run.user,
            object_type="surveillance.anomaly_model",
            object_id=str(model_card.get("version", "")),
            object_repr="Behavioural anomaly model",
            after=model_card,
            parameters={"top_k": settings.SURVEILLANCE_ANOMALY_TOP_K, "seed": settings.SURVEILLANCE_SEED},
        )
    return result
