"""The daily client review and the scan that runs it for every client.

A review (one ``ClientReview`` per client and day, upserted) records: market value; drift =
½·Σ|w − target| over the whole (cash included, as ``CASH``) against the target of
``wealth.services.state``; the harvestable saving = the sum of the net tax savings of the
actionable harvest candidates; the goals off track = goals whose newest plan gives a probability
of success below 70 % (the threshold the dashboard uses; a goal never planned is not counted);
and the number of coaching nudges. The client needs attention when drift is above the 5 % band,
the harvestable saving is at least $1,000 or 0.25 % of the client's market value, whichever is
larger (a smaller saving is not worth a meeting and a trade ticket: on a $2 million book the bar
is $5,000), a goal is off track or there is a nudge; ``reasons`` lists each in a short sentence.
The dashboard orders the clients needing attention by the number of reasons, then by the money
at stake (``wealth.selectors.attention_priority``).

The scan (``wealth.scan``, a CalculationRun on queue ``wealth``) reviews every client (an
advisor's scan: their own clients), reporting progress, and refreshes the proposals (rebalance,
harvest, coaching) of the clients that need attention. A client whose review fails is recorded in
the run's result with the error; the others go on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction

from audit.services import audit_record
from core.errors import ApplicationError, PermissionDenied
from core.models import CalculationRun
from core.roles import Role, user_roles
from core.services import calculation_run_create
from wealth.engine.rebalance import drift as drift_of
from wealth.models import Client, ClientReview, GoalPlan
from wealth.services._common import money
from wealth.services.rebalancing import (
    BAND,
    actionable,
    coaching_check,
    coaching_propose,
    harvest_propose,
    harvest_scan,
    rebalance_propose,
)
from wealth.services.state import client_state, target_for

KIND = "wealth.scan"
QUEUE = "wealth"
OFF_TRACK_PROBABILITY = 0.70
HARVEST_ATTENTION = Decimal(1000)  # dollars of net tax saving, at least
HARVEST_ATTENTION_SHARE = Decimal("0.0025")  # of the client's market value, at least
Progress = Callable[[int, str], None]


def harvest_attention_threshold(market_value: Decimal | float) -> Decimal:
    """The net tax saving from harvesting that calls for attention: $1,000 or 0.25 % of the
    client's market value, whichever is larger."""
    return max(HARVEST_ATTENTION, money(Decimal(str(market_value)) * HARVEST_ATTENTION_SHARE))


def _goals_off_track(client: Client) -> int:
    count = 0
    for goal in client.goals.all():
        plan = GoalPlan.objects.filter(goal=goal).order_by("-created_at", "-id").first()
        if plan is not None and plan.success_probability < OFF_TRACK_PROBABILITY:
            count += 1
    return count


def client_review(*, client: Client, as_of: dt.date | None = None, audit: bool = True) -> ClientReview:
    """Review one client as of ``as_of`` (the latest price date) and store it (module docstring)."""
    state = client_state(client, as_of=as_of)
    reasons: list[str] = []
    try:
        target = target_for(client)
        weights = state.weights(with_cash=True)
        keys = sorted(set(weights) | set(target.weights))
        drift = (
            drift_of(
                np.array([weights.get(k, 0.0) for k in keys]), np.array([target.weights.get(k, 0.0) for k in keys])
            )
            if weights
            else 0.0
        )
    except ApplicationError as exc:
        drift = 0.0
        reasons.append(f"No target to measure drift against: {exc.message}")
    candidates, _ = harvest_scan(client, state)
    saving = money(sum(c.net_benefit for c in actionable(candidates)))
    off_track = _goals_off_track(client)
    nudges = coaching_check(client=client, as_of=state.as_of)
    if drift > BAND:
        reasons.append(f"Drift {drift:.1%} is above the {BAND:.0%} band.")
    harvest_bar = harvest_attention_threshold(state.total)
    if saving >= harvest_bar:
        reasons.append(f"About ${saving:,.0f} of tax can be saved by harvesting losses.")
    if off_track:
        reasons.append(
            f"{off_track} goal{'s are' if off_track > 1 else ' is'} below a "
            f"{OFF_TRACK_PROBABILITY:.0%} chance of success."
        )
    reasons += [n.reason for n in nudges]
    attention = drift > BAND or saving >= harvest_bar or off_track > 0 or bool(nudges)
    with transaction.atomic():
        review, _ = ClientReview.objects.update_or_create(
            client=client,
            as_of=state.as_of,
            defaults={
                "market_value": money(state.total),
                "drift": float(drift),
                "harvest_saving": saving,
                "goals_off_track": off_track,
                "coaching_flags": len(nudges),
                "attention": attention,
                "reasons": reasons,
            },
        )
        if audit:
            audit_record(
                action="wealth.review",
                obj=review,
                after={"attention": attention, "drift": float(drift), "harvest_saving": saving, "reasons": reasons},
            )
    return review


def _task() -> Any:
    from wealth.tasks import wealth_scan_task

    return wealth_scan_task


def wealth_scan_queue(*, actor: User | None) -> CalculationRun:
    """Queue a scan: every client for the system and superusers, an advisor's own clients otherwise."""
    advisor_id = None
    if actor is not None and not actor.is_superuser:
        if Role.WEALTH_ADVISOR not in user_roles(actor):
            raise PermissionDenied("Only wealth advisors can scan their clients.")
        advisor_id = actor.pk
    return calculation_run_create(
        kind=KIND, task=_task(), parameters={"advisor_id": advisor_id}, user=actor, queue=QUEUE
    )


def wealth_scan_run(run: CalculationRun, report: Progress) -> dict[str, Any]:
    """The scan's body (``run_execute``): review every client in the run's scope, refresh proposals
    for those needing attention, audit one ``wealth.scan`` event; returns the counts."""
    clients = Client.objects.order_by("pk")
    advisor_id = (run.parameters or {}).get("advisor_id")
    if advisor_id is not None:
        clients = clients.filter(advisor_id=advisor_id)
    ids = list(clients.values_list("pk", flat=True))
    actor = run.user
    counts = {"clients": len(ids), "attention": 0, "proposals": 0}
    errors: list[dict[str, Any]] = []
    report(0, f"Reviewing {len(ids)} clients")
    for k, pk in enumerate(ids, start=1):
        client = Client.objects.get(pk=pk)
        try:
            review = client_review(client=client, audit=False)
            if review.attention:
                counts["attention"] += 1
                made = [
                    rebalance_propose(actor=actor, client=client) if review.drift > BAND else None,
                    harvest_propose(actor=actor, client=client)
                    if review.harvest_saving >= harvest_attention_threshold(review.market_value)
                    else None,
                    coaching_propose(actor=actor, client=client) if review.coaching_flags else None,
                ]
                counts["proposals"] += sum(m is not None for m in made)
        except ApplicationError as exc:
            errors.append({"client": client.code, "error": exc.message})
        if k == len(ids) or k % 10 == 0:
            report(int(100 * k / max(len(ids), 1)) if k < len(ids) else 99, f"Reviewed {k} of {len(ids)} clients")
    result = {**counts, "errors": errors[:50], "failed": len(errors)}
    with transaction.atomic():
        audit_record(action="wealth.scan", actor=actor, obj=run, parameters=run.parameters, after=result)
    return result
