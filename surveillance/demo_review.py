"""A plausible review history for the surveillance demo, made through the workflow services.

After the demo's sweep, each alert on the demo desk is given a fate, drawn with a seeded
generator from whether it matches one of the generator's labelled abuse episodes
(``surveillance.engine.evaluation`` matching rule). About 60 % of the alerts get a decision —
at least the 30 the action-likelihood model needs, when that leaves 15 alerts open:

- alerts on real abuse: a third of those closed "STOR filed", the others "informal action"
  (with four eyes where the workflow requires it: the analyst proposes, the supervisor
  approves); of the open ones, one closing proposal awaits the supervisor, one was rejected,
  the rest are escalated, under review or new; the strongest episode's alerts are escalated
  into a case with a STOR draft;
- the other alerts (false positives): closed "no action" with a rationale in proportion, the
  open ones assigned to the analyst (two), under review or new.

Everything goes through ``surveillance.services`` (transitions, audit events, four-eyes rules),
never raw updates, so the history reads exactly as if people had made it. Closed decisions are
what the action-likelihood model (``services.alerts_rank``) learns from.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.contrib.auth.models import User

from portfolios.engine.synthetic import stream_rng
from surveillance import services
from surveillance.demo_rows import PREFIX
from surveillance.engine.action_model import MIN_DECISIONS, MIN_PER_CLASS
from surveillance.engine.evaluation import detections_score
from surveillance.engine.scenarios import SCENARIOS, GeneratedMarket
from surveillance.engine.types import Detection
from surveillance.models import Alert, Scenario

Log = Callable[[str], None]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CASE_ALERTS_MAX = 3
CLOSED_SHARE = 0.6  # of the alerts get a decision; the rest is the open queue
OPEN_KEEP = 15  # alerts left open at least (every open state shown), half of a smaller queue
# Open fates of true alerts and of false ones, given in turn; after the first pass the cycle
# repeats from its third entry (one pending proposal and one rejected proposal are enough).
HIT_OPEN = ("pending", "rejected", "escalated", "in_review", "new")
MISS_OPEN = ("assigned", "assigned", "in_review", "new")

NO_ACTION: dict[str, tuple[str, ...]] = {
    "spoofing": (
        "The large order was cancelled after the quote moved away from it; no execution on the other side "
        "by the account or its group followed.",
        "Order size is in line with the account's usual liquidity provision; the cancellation followed a "
        "change of the touch, not an execution elsewhere.",
    ),
    "layering": (
        "The orders at several levels are the account's normal ladder of resting liquidity; the opposite-side "
        "fill was a client facilitation booked before the orders went in.",
        "Cancellations came with the end of the trader's session, not after an opposite-side execution.",
    ),
    "wash_trades": (
        "Buyer and seller are linked accounts with independent mandates; the trades crossed at the prevailing "
        "quote with no effect on price or volume statistics.",
        "The offsetting trades are a rebalancing between two books at the market price, approved beforehand.",
    ),
    "marking_close": (
        "The closing volume is the client's benchmark-tracking order; the close moved within its normal range.",
        "The account trades the close every day at a similar share of volume; nothing unusual on this session.",
    ),
    "insider_dealing": (
        "The position follows the client's standing investment plan set up months before; the account holder "
        "is on no insider list for the issuer.",
        "Trading started after the information was public (announcement time checked against the order times).",
    ),
    "pump_dump": (
        "Accumulation and sale follow the client's documented momentum strategy; no promotion or rumours found.",
        "The surge was market-wide after sector news; the account sold a small part of its holding into it.",
    ),
    "front_running": (
        "The proprietary trade was hedging an existing position and was booked before the client order arrived "
        "on the desk (order-receipt times checked).",
        "The employee's trade was pre-cleared and small; no access to the client order flow.",
    ),
    "anomaly": (
        "The unusual activity is a new strategy approved by the desk head last week.",
        "The behaviour is explained by a corporate event in the instrument; nothing further to review.",
    ),
}
INFORMAL = (
    "Conduct falls short of policy but not clearly of the market-abuse threshold: trader reminded of the order "
    "entry and cancellation policy, desk head informed, account on enhanced monitoring for 30 days."
)
STOR = (
    "The orders and trades match the indicators of manipulative behaviour in Annex I of MAR (Regulation (EU) "
    "596/2014); a suspicious transaction and order report goes to the competent authority."
)
ESCALATE = "The pattern repeats and the account is linked to others in the alert: a supervisor should decide."
REJECT = "The evidence shows an opposite-side execution during the order's life: look again before closing."
COMMENTS = (
    (
        "analyst",
        "Reviewed the order book around the episode: the cancelled orders sat at the touch for under a second.",
    ),
    ("supervisor", "Agreed. Check the account's other instruments for the same pattern before deciding."),
)


@dataclass(frozen=True)
class Reviewers:
    """The demo's compliance analyst (proposes) and supervisor (approves, four eyes)."""

    analyst: User
    supervisor: User


def _us(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(microseconds=1)


def alerts_matched(alerts: Sequence[Alert], gen: GeneratedMarket, *, shift_days: int) -> set[int]:
    """Ids of the alerts that match a labelled episode of ``gen`` (loaded ``shift_days`` later).

    Uses the evaluation's matching rule (same scenario and instrument, account in the episode's
    group, windows overlapping within the tolerance). An anomaly alert names no abuse, so it
    matches an episode of any scenario.
    """
    instrument_of = {PREFIX + s: i for i, s in gen.instrument_symbols.items()}
    account_of = {PREFIX + c: a for a, c in gen.account_codes.items()}
    shift_us = shift_days * 86_400_000_000
    detections: list[Detection] = []
    owners: list[int] = []
    for a in alerts:
        inst = instrument_of.get(a.instrument.symbol) if a.instrument else None
        acc = account_of.get(a.account.code)
        if inst is None or acc is None or a.scenario not in (*SCENARIOS, Scenario.ANOMALY):
            continue  # only the seven abuses (and anomalies) have labelled episodes
        for scenario in SCENARIOS if a.scenario == Scenario.ANOMALY else (a.scenario,):
            detections.append(
                Detection(
                    scenario=scenario,
                    account=acc,
                    instrument=inst,
                    start_us=_us(a.window_start) - shift_us,
                    end_us=_us(a.window_end) - shift_us,
                    score=a.score,
                    summary=a.summary,
                )
            )
            owners.append(a.pk)
    report = detections_score(
        detections,
        gen.episodes,
        orders_count=gen.orders_count,
        accounts=gen.data.accounts,
        scenarios=SCENARIOS,
    )
    unmatched = {id(d) for d in report.false_positives}
    return {pk for d, pk in zip(detections, owners, strict=True) if id(d) not in unmatched}


def review_plan(alerts: Sequence[Alert], matched: set[int], *, seed: int) -> dict[int, str]:
    """The fate of each alert (see the module docstring), drawn with a seeded generator.

    Fates: ``case``, ``stor``, ``informal``, ``no_action``, ``pending``, ``rejected``,
    ``escalated``, ``in_review``, ``assigned``, ``new``.
    """
    rng = stream_rng(seed, "surveillance-demo-review")
    ordered = sorted(alerts, key=lambda a: (a.scenario, a.account.code, a.window_start, a.pk))
    hits = [a for a in ordered if a.pk in matched]
    misses = [a for a in ordered if a.pk not in matched]
    fate: dict[int, str] = {}
    if hits:
        # The case: the strongest true alert of a rule scenario (a named abuse reads better in a
        # STOR than an anomaly) and the other true alerts on the same instrument within its day
        # for the same scenario or account (typically the linked accounts of one episode).
        lead = max(hits, key=lambda a: (a.scenario != Scenario.ANOMALY, a.score, -a.pk))
        same = [
            a
            for a in hits
            if a.instrument_id == lead.instrument_id
            and (a.scenario == lead.scenario or a.account_id == lead.account_id)
            and abs(a.window_start - lead.window_start) < timedelta(hours=8)
        ]
        for a in sorted(same, key=lambda a: a.pk != lead.pk)[:CASE_ALERTS_MAX]:
            fate[a.pk] = "case"
    rest = [hits[k] for k in rng.permutation(len(hits)).tolist() if hits[k].pk not in fate]
    others = [misses[k] for k in rng.permutation(len(misses)).tolist()]
    close_hit, close_miss = _closings(len(alerts), len(rest), len(others))
    stor = max(1, close_hit // 3) if close_hit else 0
    _assign(rest, [("stor", stor), ("informal", close_hit - stor)], HIT_OPEN, fate)
    _assign(others, [("no_action", close_miss)], MISS_OPEN, fate)
    return fate


def _closings(total: int, hits: int, misses: int) -> tuple[int, int]:
    """How many true and false alerts to close: ``CLOSED_SHARE`` of all, and at least the
    ``MIN_DECISIONS`` the action model needs when that still leaves ``OPEN_KEEP`` open (half
    of a small queue); false alerts in proportion, at least ``MIN_PER_CLASS`` of them."""
    open_keep = min(OPEN_KEEP, total // 2)
    target = max(0, min(max(MIN_DECISIONS + 2, round(CLOSED_SHARE * total)), total - open_keep))
    close_miss = min(max(round(target * misses / max(total, 1)), MIN_PER_CLASS + 1), misses - misses // 4, target)
    close_hit = max(0, min(target - close_miss, hits - min(6, hits // 3)))
    return close_hit, close_miss


def _assign(
    alerts: list[Alert], closing: list[tuple[str, int]], open_cycle: tuple[str, ...], fate: dict[int, str]
) -> None:
    """The first alerts get the closing fates, the others the open fates in turn (the first
    pass through ``open_cycle`` gives each open state at least one alert)."""
    k = 0
    for name, count in closing:
        for a in alerts[k : k + count]:
            fate[a.pk] = name
        k += count
    for j, a in enumerate(alerts[k:]):
        fate[a.pk] = open_cycle[j if j < len(open_cycle) else 2 + (j - len(open_cycle)) % (len(open_cycle) - 2)]


def _close(alert: Alert, outcome: str, rationale: str, who: Reviewers) -> None:
    """Close as the workflow requires: directly below the four-eyes score (and not a STOR),
    else the analyst proposes and the supervisor approves."""
    if services.four_eyes_required(alert=alert, outcome=outcome):
        services.alert_close_propose(alert=alert, user=who.analyst, outcome=outcome, rationale=rationale)
        services.alert_close_approve(alert=alert, user=who.supervisor)
    else:
        services.alert_close(alert=alert, user=who.analyst, outcome=outcome, rationale=rationale)


def _apply(alert: Alert, fate: str, who: Reviewers, rng: np.random.Generator) -> None:
    if fate == "new":
        return
    if fate == "assigned":
        services.alert_assign(alert=alert, assignee=who.analyst, user=who.supervisor)
        return
    services.alert_review_start(alert=alert, user=who.analyst)
    if fate == "no_action":
        texts = NO_ACTION.get(alert.scenario, NO_ACTION["anomaly"])
        _close(alert, Alert.Outcome.NO_ACTION, texts[int(rng.integers(len(texts)))], who)
    elif fate == "informal":
        _close(alert, Alert.Outcome.INFORMAL_ACTION, INFORMAL, who)
    elif fate == "stor":
        _close(alert, Alert.Outcome.STOR_FILED, STOR, who)
    elif fate == "pending":
        services.alert_close_propose(
            alert=alert, user=who.analyst, outcome=Alert.Outcome.INFORMAL_ACTION, rationale=INFORMAL
        )
    elif fate == "rejected":
        texts = NO_ACTION.get(alert.scenario, NO_ACTION["anomaly"])
        services.alert_close_propose(alert=alert, user=who.analyst, outcome=Alert.Outcome.NO_ACTION, rationale=texts[0])
        services.alert_close_reject(alert=alert, user=who.supervisor, rationale=REJECT)
    elif fate in ("escalated", "case"):
        services.alert_escalate(alert=alert, user=who.analyst, rationale=ESCALATE)


def _case_open(alerts: list[Alert], who: Reviewers) -> None:
    """Open a case on the escalated alerts of the strongest episode, with a STOR draft."""
    lead = alerts[0]
    label = Scenario(lead.scenario).label
    symbol = lead.instrument.symbol if lead.instrument else "several instruments"
    case = services.case_create(
        user=who.analyst,
        title=f"{label}: {lead.account.code} in {symbol}",
        description=lead.summary,
        alerts=alerts,
    )
    services.case_stor_update(
        case=case,
        user=who.analyst,
        fields={
            "submitter_position": "Compliance analyst",
            "entity_name": "Vigil demo firm (simulated)",
            "capacity": "Dealing on own account and executing orders on behalf of clients",
            "nature_of_suspicion": f"{lead.summary} The pattern matches the indicators of Annex I of MAR.",
            "additional_information": "Draft prepared from the case's alerts; evidence attached to each alert.",
        },
    )


def review_history_simulate(
    *, alerts: Sequence[Alert], matched: set[int], who: Reviewers, seed: int, log: Log
) -> Counter[str]:
    """Give every alert its fate (``review_plan``) through the workflow services, add two comments
    and one case with a STOR draft. Returns the number of alerts per fate."""
    fate = review_plan(alerts, matched, seed=seed)
    rng = stream_rng(seed, "surveillance-demo-rationales")
    by_pk = {a.pk: a for a in alerts}
    for pk in sorted(fate):
        _apply(by_pk[pk], fate[pk], who, rng)
    case_alerts = [by_pk[pk] for pk in sorted(fate) if fate[pk] == "case"]
    case_alerts.sort(key=lambda a: (a.scenario != Scenario.ANOMALY, a.score), reverse=True)
    if case_alerts:
        _case_open(case_alerts, who)
    # Notes on the first escalated alerts (or any reviewed one): the exchange between reviewers.
    noted = [pk for pk in sorted(fate) if fate[pk] in ("escalated", "case")] or [
        pk for pk in sorted(fate) if fate[pk] == "in_review"
    ]
    for pk in noted[:1]:
        for author, body in COMMENTS:
            services.alert_comment_add(alert=by_pk[pk], user=getattr(who, author), body=body)
    counts = Counter(fate.values())
    log("  review history: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return counts
