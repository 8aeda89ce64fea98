"""Raising and storing alerts, and ranking open ones by how likely analysts are to act.

One alert per episode: a detection of the same scenario, account and instrument whose window
lies within ``GROUP_WINDOW`` of an open alert is merged into it (evidence united, score raised by
the noisy-or of ``surveillance.engine.grouping``) instead of duplicating it. Re-running detection
over the same data therefore changes nothing: evidence already held is not counted twice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import audit_record
from core.errors import ValidationFailed
from core.models import CalculationRun
from portfolios.models import Account, Instrument
from surveillance.engine.grouping import score_combine, score_with_history
from surveillance.engine.types import US_PER_MINUTE, Detection
from surveillance.models import Alert, Scenario

GROUP_WINDOW = timedelta(microseconds=30 * US_PER_MINUTE)
HISTORY_WINDOW = timedelta(days=90)  # prior alerts of the same account and scenario raise the score


def _features(values: dict[str, float]) -> dict[str, float | None]:
    """Features as JSON: a measure a detector could not compute (NaN, infinite) is stored as null."""
    return {k: (float(v) if math.isfinite(float(v)) else None) for k, v in values.items()}


def _dt(ts_us: int) -> datetime:
    return datetime.fromtimestamp(ts_us / 1_000_000, tz=UTC)


@dataclass(frozen=True)
class StoreOutcome:
    created: list[int]
    updated: list[int]

    @property
    def alert_ids(self) -> list[int]:
        return self.created + self.updated


def _merge_into(alert: Alert, d: Detection) -> bool:
    """Fold detection ``d`` into ``alert``; False when it brings no new evidence."""
    new_orders = set(d.order_ids) - set(alert.order_ids)
    new_trades = set(d.trade_ids) - set(alert.trade_ids)
    if not new_orders and not new_trades:
        return False
    alert.order_ids = sorted(set(alert.order_ids) | set(d.order_ids))
    alert.trade_ids = sorted(set(alert.trade_ids) | set(d.trade_ids))
    alert.window_start = min(alert.window_start, _dt(d.start_us))
    alert.window_end = max(alert.window_end, _dt(d.end_us))
    alert.occurrences += d.occurrences
    alert.score = min(100.0, score_combine([alert.score, d.score]))
    if d.score >= alert.score * 0.5:
        alert.features = _features(d.features)
    return True


def _open_alerts_near(d: Detection) -> Q:
    return Q(
        scenario=d.scenario,
        account_id=d.account,
        instrument_id=d.instrument if d.instrument >= 0 else None,
        window_end__gte=_dt(d.start_us) - GROUP_WINDOW,
        window_start__lte=_dt(d.end_us) + GROUP_WINDOW,
    ) & ~Q(state=Alert.State.CLOSED)


def alerts_store(
    *,
    detections: Sequence[Detection],
    run: CalculationRun | None,
    parameters: dict[str, Any],
    model_version: str = "",
    source: str = Alert.Source.RULE,
) -> StoreOutcome:
    """Write detections as alerts, merging into open alerts of the same episode.

    A new alert's score is raised for an account already alerted for the same scenario in the
    last ``HISTORY_WINDOW`` (``score_with_history``). Accounts unknown to the database are
    skipped (the caller loaded them from it, so this only happens on a concurrent delete).
    """
    if not detections:
        return StoreOutcome(created=[], updated=[])
    accounts = {a.pk: a for a in Account.objects.filter(pk__in={d.account for d in detections})}
    since = timezone.now() - HISTORY_WINDOW
    prior: dict[tuple[str, int], int] = {}
    for scenario, account_id in Alert.objects.filter(
        account_id__in=accounts, created_at__gte=since, scenario__in={d.scenario for d in detections}
    ).values_list("scenario", "account_id"):
        prior[(scenario, account_id)] = prior.get((scenario, account_id), 0) + 1
    created: list[int] = []
    updated: list[int] = []
    with transaction.atomic():
        for d in detections:
            account = accounts.get(d.account)
            if account is None:
                continue
            existing = Alert.objects.select_for_update().filter(_open_alerts_near(d)).order_by("-score").first()
            if existing is not None:
                if _merge_into(existing, d):
                    existing.run = run or existing.run
                    existing.save()
                    updated.append(existing.pk)
                continue
            alert = Alert.objects.create(
                scenario=d.scenario,
                source=source,
                account=account,
                desk_id=account.desk_id,
                instrument_id=d.instrument if d.instrument >= 0 else None,
                window_start=_dt(d.start_us),
                window_end=_dt(max(d.end_us, d.start_us)),
                score=score_with_history(min(max(d.score, 0.0), 100.0), prior.get((d.scenario, d.account), 0)),
                occurrences=d.occurrences,
                summary=d.summary,
                order_ids=sorted(set(d.order_ids)),
                trade_ids=sorted(set(d.trade_ids)),
                features=_features(d.features),
                explanation=d.extra.get("explanation", {}),
                parameters=parameters.get(d.scenario, parameters),
                model_version=model_version,
                run=run,
            )
            created.append(alert.pk)
    return StoreOutcome(created=created, updated=updated)


def alert_raise(
    *,
    scenario: str,
    account: Account,
    instrument: Instrument | None,
    window_start: datetime,
    window_end: datetime,
    score: float,
    summary: str,
    order_ids: Iterable[int] = (),
    trade_ids: Iterable[int] = (),
    features: dict[str, float] | None = None,
    explanation: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
    model_version: str = "",
    source: str = Alert.Source.PRODUCT,
    run: CalculationRun | None = None,
) -> Alert:
    """Raise one alert into the review queue — the entry point for other products (best
    execution raises poor executions here, ``scenario="best_execution"``) — and audit it.

    Merges into an open alert of the same episode like detection runs do. Raises
    ``ValidationFailed`` for an unknown scenario, a score outside [0, 100] or a reversed window.
    """
    errors: dict[str, str] = {}
    if scenario not in Scenario.values:
        errors["scenario"] = f"Unknown scenario {scenario!r}."
    if not 0 <= score <= 100:
        errors["score"] = "Must be between 0 and 100."
    if window_end < window_start:
        errors["window_end"] = "Must not be before window_start."
    if not summary.strip():
        errors["summary"] = "Must not be blank."
    if errors:
        raise ValidationFailed("The alert cannot be raised.", extra={"fields": errors})
    detection = Detection(
        scenario=scenario,
        account=account.pk,
        instrument=instrument.pk if instrument else -1,
        start_us=int(window_start.timestamp() * 1_000_000),
        end_us=int(window_end.timestamp() * 1_000_000),
        score=float(score),
        summary=summary,
        order_ids=tuple(order_ids),
        trade_ids=tuple(trade_ids),
        features=features or {},
        extra={"explanation": explanation or {}},
    )
    with transaction.atomic():
        outcome = alerts_store(
            detections=[detection],
            run=run,
            parameters={scenario: parameters or {}},
            model_version=model_version,
            source=source,
        )
        ids = outcome.created or outcome.updated
        if not ids:  # the same evidence is already under review: return that alert
            alert = Alert.objects.filter(_open_alerts_near(detection)).order_by("-score").first()
            assert alert is not None
            return alert
        alert = Alert.objects.get(pk=ids[0])
        audit_record(
            action="surveillance.alert.raise" if outcome.created else "surveillance.alert.merge",
            obj=alert,
            after={"scenario": scenario, "score": alert.score, "summary": summary},
            parameters=parameters or {},
            explanation=explanation or None,
        )
    return alert
