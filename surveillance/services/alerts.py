"""Raising and storing alerts (the ranking by action likelihood is in ``ranking``).

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
#: Rows per INSERT/UPDATE statement of a bulk write (well under SQLite's bound-parameter cap).
_BULK_BATCH = 500
#: What a merge changes (``_merge_into``), written back by ``bulk_update``.
_MERGED_FIELDS = [
    "order_ids",
    "trade_ids",
    "window_start",
    "window_end",
    "occurrences",
    "score",
    "features",
    "run",
    "updated_at",
]

_Key = tuple[str, int, int | None]  # an episode: scenario, account id, instrument id (None: none)


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


def _key(d: Detection) -> _Key:
    return (d.scenario, d.account, d.instrument if d.instrument >= 0 else None)


def _near(alert: Alert, d: Detection) -> bool:
    """Whether ``alert``'s window lies within ``GROUP_WINDOW`` of detection ``d``'s."""
    return alert.window_end >= _dt(d.start_us) - GROUP_WINDOW and alert.window_start <= _dt(d.end_us) + GROUP_WINDOW


def _open_candidates(detections: Sequence[Detection]) -> dict[_Key, list[Alert]]:
    """Open alerts that any of ``detections`` may merge into, by episode key, locked for update.

    One query bounded by all keys' scenarios, accounts and the batch's overall time span; the
    exact key and window are checked in memory (``_near``), where the batch's own new alerts join.
    """
    keys = {_key(d) for d in detections}
    instruments = {k[2] for k in keys}
    lo = _dt(min(d.start_us for d in detections)) - GROUP_WINDOW
    hi = _dt(max(d.end_us for d in detections)) + GROUP_WINDOW
    on_instrument = Q(instrument_id__in=[i for i in instruments if i is not None])
    if None in instruments:
        on_instrument |= Q(instrument_id__isnull=True)
    qs = (
        Alert.objects.select_for_update()
        .filter(
            on_instrument,
            scenario__in={k[0] for k in keys},
            account_id__in={k[1] for k in keys},
            window_end__gte=lo,
            window_start__lte=hi,
        )
        .exclude(state=Alert.State.CLOSED)
        .order_by("id")
    )
    out: dict[_Key, list[Alert]] = {}
    for alert in qs:
        key = (alert.scenario, alert.account_id, alert.instrument_id)
        if key in keys:
            out.setdefault(key, []).append(alert)
    return out


@dataclass
class _Written:
    """What one bulk write did: per detection the alert holding its evidence (None for an
    unknown account), the alerts created, and the alerts that existed and were merged into."""

    targets: list[Alert | None]
    created: list[Alert]
    merged: list[Alert]


def _alerts_write(
    *,
    detections: Sequence[Detection],
    parameters: Sequence[dict[str, Any]],
    model_versions: Sequence[str],
    accounts: dict[int, Account],
    run: CalculationRun | None,
    source: str,
    history_within_batch: bool,
) -> _Written:
    """Merge or create the alerts of ``detections`` in bulk, in the caller's transaction.

    The same outcome as storing the detections one at a time in order: each goes into the
    highest-scoring open alert of its episode near it (alerts created earlier in the batch
    included) or becomes a new one, but with one query for candidates, one ``bulk_create`` and
    one ``bulk_update``. ``parameters`` and ``model_versions`` are per detection. With
    ``history_within_batch`` an alert created earlier in the batch counts towards the history
    boost of later new alerts of the same account and scenario, as when raised one at a time.
    """
    since = timezone.now() - HISTORY_WINDOW
    prior: dict[tuple[str, int], int] = {}
    for scenario, account_id in Alert.objects.filter(
        account_id__in=accounts, created_at__gte=since, scenario__in={d.scenario for d in detections}
    ).values_list("scenario", "account_id"):
        prior[(scenario, account_id)] = prior.get((scenario, account_id), 0) + 1
    known = [d for d in detections if d.account in accounts]
    live = _open_candidates(known) if known else {}
    targets: list[Alert | None] = []
    created: list[Alert] = []
    merged: dict[int, Alert] = {}
    for d, params, version in zip(detections, parameters, model_versions, strict=True):
        account = accounts.get(d.account)
        if account is None:
            targets.append(None)
            continue
        episode = live.setdefault(_key(d), [])
        near = [a for a in episode if _near(a, d)]
        if near:
            # max() keeps the first of equal scores: the oldest alert, then the batch's earliest.
            existing = max(near, key=lambda a: a.score)
            if _merge_into(existing, d):
                existing.run = run or existing.run
                if existing.pk is not None:
                    merged[existing.pk] = existing
            targets.append(existing)
            continue
        alert = Alert(
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
            parameters=params,
            model_version=version,
            run=run,
        )
        episode.append(alert)
        created.append(alert)
        if history_within_batch:
            prior[(d.scenario, d.account)] = prior.get((d.scenario, d.account), 0) + 1
        targets.append(alert)
    Alert.objects.bulk_create(created, batch_size=_BULK_BATCH)
    if merged:
        now = timezone.now()  # bulk_update does not apply auto_now
        for alert in merged.values():
            alert.updated_at = now
        Alert.objects.bulk_update(list(merged.values()), _MERGED_FIELDS, batch_size=_BULK_BATCH)
    return _Written(targets=targets, created=created, merged=list(merged.values()))


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
    ``updated`` lists the alerts that existed before and took new evidence, once each. Writes
    no audit event: the detection run records one for all its alerts.
    """
    if not detections:
        return StoreOutcome(created=[], updated=[])
    accounts = {a.pk: a for a in Account.objects.filter(pk__in={d.account for d in detections})}
    with transaction.atomic():
        written = _alerts_write(
            detections=detections,
            parameters=[parameters.get(d.scenario, parameters) for d in detections],
            model_versions=[model_version] * len(detections),
            accounts=accounts,
            run=run,
            source=source,
            # A detection run's own detections are not each other's history.
            history_within_batch=False,
        )
    return StoreOutcome(created=[a.pk for a in written.created], updated=[a.pk for a in written.merged])


@dataclass(frozen=True)
class AlertInput:
    """One alert another product raises (see ``alerts_raise``): its episode (scenario, account,
    instrument, window), score 0–100, one-line summary, evidence rows, measured features,
    explanation, the parameters it was judged with and the model version."""

    scenario: str
    account: Account
    instrument: Instrument | None
    window_start: datetime
    window_end: datetime
    score: float
    summary: str
    order_ids: Sequence[int] = ()
    trade_ids: Sequence[int] = ()
    features: dict[str, float] | None = None
    explanation: dict[str, Any] | None = None
    parameters: dict[str, Any] | None = None
    model_version: str = ""


def _errors(item: AlertInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    if item.scenario not in Scenario.values:
        errors["scenario"] = f"Unknown scenario {item.scenario!r}."
    if not 0 <= item.score <= 100:
        errors["score"] = "Must be between 0 and 100."
    if item.window_end < item.window_start:
        errors["window_end"] = "Must not be before window_start."
    if not item.summary.strip():
        errors["summary"] = "Must not be blank."
    return errors


def _detection(item: AlertInput) -> Detection:
    return Detection(
        scenario=item.scenario,
        account=item.account.pk,
        instrument=item.instrument.pk if item.instrument else -1,
        start_us=int(item.window_start.timestamp() * 1_000_000),
        end_us=int(item.window_end.timestamp() * 1_000_000),
        score=float(item.score),
        summary=item.summary,
        order_ids=tuple(item.order_ids),
        trade_ids=tuple(item.trade_ids),
        features=item.features or {},
        extra={"explanation": item.explanation or {}},
    )


def alerts_raise(
    *,
    items: Sequence[AlertInput],
    run: CalculationRun | None = None,
    source: str = Alert.Source.PRODUCT,
) -> list[Alert]:
    """Raise alerts into the review queue — the entry point for other products (best execution
    raises a run's poor executions here, ``scenario="best_execution"``) — and audit them.

    The same alerts as raising the items one at a time with ``alert_raise``, in order (an alert
    created earlier in the batch is history for later ones), written in bulk.
    Returns, per item, the alert holding its evidence. Each item merges into an open alert of the
    same episode like detection runs do (an item bringing no new evidence returns that alert
    unchanged). All items are validated first: ``ValidationFailed`` for an unknown scenario, a
    score outside [0, 100], a reversed window or a blank summary, with the first invalid item's
    field errors in ``extra["fields"]`` and every invalid item's, by position, in
    ``extra["items"]``; nothing is written then. One audit event covers the batch: action
    ``surveillance.alert.raise`` when it created an alert (else ``surveillance.alert.merge``),
    on the alert when only one was touched (else on ``run``), listing each created or merged
    alert's id and score; none when nothing changed.
    """
    invalid = {i: e for i, item in enumerate(items) if (e := _errors(item))}
    if invalid:
        raise ValidationFailed(
            "The alert cannot be raised." if len(items) == 1 else f"{len(invalid)} of {len(items)} alerts are invalid.",
            extra={"fields": next(iter(invalid.values())), "items": invalid},
        )
    if not items:
        return []
    with transaction.atomic():
        written = _alerts_write(
            detections=[_detection(item) for item in items],
            parameters=[item.parameters or {} for item in items],
            model_versions=[item.model_version for item in items],
            accounts={item.account.pk: item.account for item in items},
            run=run,
            source=source,
            history_within_batch=True,
        )
        touched = [*written.created, *written.merged]
        if touched:
            only = touched[0] if len(touched) == 1 else None
            audit_record(
                action="surveillance.alert.raise" if written.created else "surveillance.alert.merge",
                obj=only or run,
                object_type="" if only or run else Alert._meta.label_lower,
                after={
                    "scenarios": sorted({a.scenario for a in touched}),
                    "created": [{"id": a.pk, "score": a.score} for a in written.created],
                    "merged": [{"id": a.pk, "score": a.score} for a in written.merged],
                },
                parameters=(items[0].parameters or {}) if len(items) == 1 else None,
                explanation=(items[0].explanation or None) if len(items) == 1 else None,
            )
    targets = written.targets
    assert all(t is not None for t in targets)  # every item names its account object
    return [t for t in targets if t is not None]


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
    """Raise one alert into the review queue and audit it: ``alerts_raise`` of one item."""
    item = AlertInput(
        scenario=scenario,
        account=account,
        instrument=instrument,
        window_start=window_start,
        window_end=window_end,
        score=score,
        summary=summary,
        order_ids=tuple(order_ids),
        trade_ids=tuple(trade_ids),
        features=features,
        explanation=explanation,
        parameters=parameters,
        model_version=model_version,
    )
    return alerts_raise(items=[item], run=run, source=source)[0]
