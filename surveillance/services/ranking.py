"""Learning from analysts' decisions: how likely is an open alert to be acted upon?

The label of a closed alert is "actioned" when it ended with informal action or a STOR. A
gradient-boosting model trained on past decisions (oldest first, time-ordered hold-out) scores
every open alert; the probability and its SHAP explanation (log-odds) are stored on the alert and
shown beside the rule score. With too few decisions, or only one kind, nothing is scored and the
page says so. Each training writes its model card to the audit trail.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from portfolios.models import Trade
from surveillance.engine.action_model import (
    action_model_explain,
    action_model_fit,
    action_model_predict,
    alert_features,
)
from surveillance.engine.types import SurveillanceInputError
from surveillance.models import Alert

ACTIONED = (Alert.Outcome.INFORMAL_ACTION, Alert.Outcome.STOR_FILED)
MAX_TRAINING_ALERTS = 20_000  # the newest decisions; ~20k × 20 features trains in about a second


def _notionals(alerts: list[Alert]) -> dict[int, float]:
    """Traded value of each alert's evidence trades (price × quantity, instrument currency)."""
    ids = {t for a in alerts for t in a.trade_ids}
    value = {
        pk: float(price * qty)
        for pk, price, qty in Trade.objects.filter(pk__in=ids).values_list("pk", "price", "quantity").iterator()
    }
    return {a.pk: sum(value.get(t, 0.0) for t in a.trade_ids) for a in alerts}


def _rows(alerts: list[Alert], history: dict[int, tuple[int, int]]) -> list[dict[str, Any]]:
    notional = _notionals(alerts)
    rows = []
    for a in alerts:
        prior, prior_actioned = history.get(a.pk, (0, 0))
        rows.append(
            {
                "scenario": a.scenario,
                "score": a.score,
                "occurrences": a.occurrences,
                "account_kind": a.account.kind,
                "is_employee": a.account.owner.is_employee,
                "notional": notional[a.pk],
                "prior_alerts": prior,
                "prior_actioned": prior_actioned,
                "hour_of_day": a.window_start.hour,
            }
        )
    return rows


def _history(alerts: list[Alert], closed: list[Alert]) -> dict[int, tuple[int, int]]:
    """For each alert: how many earlier alerts its account had, and how many were actioned."""
    seen: Counter[int] = Counter()
    actioned: Counter[int] = Counter()
    out: dict[int, tuple[int, int]] = {}
    timeline = sorted({a.pk: a for a in [*closed, *alerts]}.values(), key=lambda a: (a.created_at, a.pk))
    for a in timeline:
        out[a.pk] = (seen[a.account_id], actioned[a.account_id])
        seen[a.account_id] += 1
        if a.outcome in ACTIONED:
            actioned[a.account_id] += 1
    return out


def alerts_rank() -> dict[str, Any]:
    """Train on closed alerts and score every open one. Returns a small summary for the run."""
    base = Alert.objects.select_related("account__owner")
    closed = list(base.filter(state=Alert.State.CLOSED).order_by("-closed_at", "-id")[:MAX_TRAINING_ALERTS])
    closed.reverse()  # oldest first, so the hold-out is the most recent decisions
    open_alerts = list(base.exclude(state=Alert.State.CLOSED))
    if not open_alerts:
        return {"scored": 0, "trained_on": len(closed)}
    history = _history(open_alerts, closed)
    X_train, names = alert_features(_rows(closed, history))
    y = [1 if a.outcome in ACTIONED else 0 for a in closed]
    try:
        model = action_model_fit(X_train, y, names, seed=settings.SURVEILLANCE_SEED)
    except SurveillanceInputError as exc:
        return {"scored": 0, "trained_on": len(closed), "reason": str(exc)}
    X_open, _ = alert_features(_rows(open_alerts, history))
    probabilities = action_model_predict(model, X_open)
    shap_values, shap_base = action_model_explain(model, X_open)
    with transaction.atomic():
        for alert, prob, contributions in zip(open_alerts, probabilities, shap_values, strict=True):
            alert.action_probability = float(prob)
            alert.action_explanation = {
                "values": {n: float(v) for n, v in zip(names, contributions, strict=True)},
                "base": float(shap_base),
                "units": "log-odds of being actioned",
                "model_version": model.model_card["version"],
            }
        Alert.objects.bulk_update(open_alerts, ["action_probability", "action_explanation"], batch_size=500)
        audit_record(
            action="surveillance.model.card",
            object_type="surveillance.action_model",
            object_id=str(model.model_card["version"]),
            object_repr="Alert action-likelihood model",
            after={**model.model_card, "fitted_at": timezone.now().isoformat()},
            parameters={"max_training_alerts": MAX_TRAINING_ALERTS, "seed": settings.SURVEILLANCE_SEED},
        )
    return {"scored": len(open_alerts), "trained_on": len(closed), "version": model.model_card["version"]}
