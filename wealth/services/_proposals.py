"""Storing a proposal: the new recommendation supersedes the client's open one of the same kind
in the same transaction (one open proposal per kind per client, a partial unique constraint)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record, inputs_hash_of
from wealth.models import Client, Recommendation
from wealth.services._common import json_safe, money


def proposal_store(
    *,
    actor: User | None,
    client: Client,
    kind: str,
    title: str,
    reason: str,
    explanation: dict[str, Any],
    trades: list[dict[str, Any]] | None = None,
    tax_effect: float | Decimal = 0,
    parameters: dict[str, Any] | None = None,
) -> Recommendation:
    explanation = json_safe(explanation)
    trades = json_safe(trades or [])
    with transaction.atomic():
        open_ones = list(
            Recommendation.objects.select_for_update().filter(
                client=client, kind=kind, status=Recommendation.Status.PROPOSED
            )
        )
        now = timezone.now()
        for old in open_ones:
            old.status = Recommendation.Status.SUPERSEDED
            old.decided_at = now
            old.decision_note = "Superseded by a newer proposal."
            old.save(update_fields=["status", "decided_at", "decision_note"])
        reco = Recommendation.objects.create(
            client=client,
            kind=kind,
            title=title[:200],
            reason=reason,
            explanation=explanation,
            trades=trades,
            tax_effect=money(tax_effect),
        )
        audit_record(
            action="wealth.recommendation.propose",
            actor=actor,
            obj=reco,
            after={"kind": kind, "title": reco.title, "trades": len(trades), "tax_effect": reco.tax_effect},
            parameters=json_safe({**(parameters or {}), "superseded": [o.pk for o in open_ones]}),
            inputs_hash=inputs_hash_of({"explanation": explanation, "trades": trades}),
            explanation={"reason": reason, "explanation": explanation},
        )
    return reco


def trade_dict(trade: Any) -> dict[str, Any]:
    """An engine ``Trade`` as the JSON a recommendation stores (floats, rounded)."""
    return {
        "account": trade.account,
        "symbol": trade.symbol,
        "side": trade.side,
        "quantity": round(float(trade.quantity), 6),
        "price": round(float(trade.price), 8),
        "amount": round(float(trade.amount), 2),
        "lot_id": trade.lot_id,
        "realized_gain": round(float(trade.realized_gain), 2),
        "short_term": trade.short_term,
        "tax": round(float(trade.tax), 2),
    }
