"""Alert review: the transitions an analyst or supervisor makes, with four-eyes closing.

States go new → in_review → escalated → closed (outcome no_action, informal_action or
stor_filed). Closing an alert scored at or above ``settings.SURVEILLANCE_FOUR_EYES_SCORE``, or
with the outcome "STOR filed", needs two people: one proposes, a compliance supervisor who is
not the proposer approves. Every change writes an ``AlertTransition`` row and an audit event in
the same transaction as the change, with the alert row locked (``SELECT ... FOR UPDATE``) so two
reviewers acting at once are serialised and the second sees the first one's result.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from audit.services import audit_record
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.roles import Area, Role, has_area, is_read_only, user_roles
from core.services import notify
from portfolios.selectors import scope_by_desk
from surveillance.models import Alert, AlertComment, AlertTransition

AnyUser = User | AnonymousUser

RATIONALE_MAX_CHARS = 10_000
BULK_ASSIGN_MAX = 500  # one request locks at most this many alert rows
OPEN_STATES = (Alert.State.NEW, Alert.State.IN_REVIEW, Alert.State.ESCALATED)
CLOSABLE_STATES = (Alert.State.IN_REVIEW, Alert.State.ESCALATED)
REVIEWER_ROLES = frozenset({Role.COMPLIANCE_ANALYST, Role.COMPLIANCE_SUPERVISOR})


class FourEyesRequired(Conflict):
    """The alert may only close through a proposal approved by a second person."""

    code = "four_eyes_required"


# ---------------------------------------------------------------------------- checks


def reviewer_check(user: AnyUser) -> None:
    """Raise ``PermissionDenied`` unless the user may change surveillance records (not auditors)."""
    if not has_area(user, Area.SURVEILLANCE) or is_read_only(user):
        raise PermissionDenied("Your role may not change surveillance alerts or cases.")


def is_supervisor(user: AnyUser) -> bool:
    """Compliance supervisors (and superusers) decide four-eyes proposals and file STORs."""
    if not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser) or Role.COMPLIANCE_SUPERVISOR in user_roles(user)


def supervisor_check(user: AnyUser, *, action: str) -> None:
    reviewer_check(user)
    if not is_supervisor(user):
        raise PermissionDenied(f"Only a compliance supervisor may {action}.")


def four_eyes_required(*, alert: Alert, outcome: str = "") -> bool:
    """True when closing needs a proposal and a supervisor's approval: a high score or a STOR."""
    return alert.score >= float(settings.SURVEILLANCE_FOUR_EYES_SCORE) or outcome == Alert.Outcome.STOR_FILED


def text_clean(value: Any, *, field: str, required: bool = True) -> str:
    """A free-text field (rationale, comment) stripped; blank (when required), NUL characters or
    more than ``RATIONALE_MAX_CHARS`` are refused naming the field."""
    text = "" if value is None else str(value).strip()
    problem = ""
    if required and not text:
        problem = "Required: say why."
    elif "\x00" in text:
        # PostgreSQL refuses NUL in text and JSON: a clear error rather than a failed transaction.
        problem = "May not contain NUL characters."
    elif len(text) > RATIONALE_MAX_CHARS:
        problem = f"At most {RATIONALE_MAX_CHARS:,} characters."
    if problem:
        raise ValidationFailed(f"{field.capitalize()}: {problem}", extra={"fields": {field: [problem]}})
    return text


def alert_ids_clean(alerts: Iterable[Alert | int | str]) -> list[int]:
    """Sorted distinct alert ids from alerts or ids; anything else is a field error on ``alert_ids``."""
    ids: set[int] = set()
    for a in alerts:
        try:
            ids.add(a.pk if isinstance(a, Alert) else int(a))
        except (TypeError, ValueError):
            raise ValidationFailed(
                "Alert ids are whole numbers.", extra={"fields": {"alert_ids": ["Give alert ids (whole numbers)."]}}
            ) from None
    if not ids:
        raise ValidationFailed("Choose at least one alert.", extra={"fields": {"alert_ids": ["Required."]}})
    return sorted(ids)


def _outcome_clean(outcome: Any) -> str:
    if outcome not in Alert.Outcome.values:
        choices = ", ".join(Alert.Outcome.values)
        raise ValidationFailed(
            f"Outcome: choose one of {choices}.", extra={"fields": {"outcome": [f"Choose one of {choices}."]}}
        )
    return str(outcome)


def _locked(*, alert: Alert | int, user: AnyUser) -> Alert:
    """The alert re-read under a row lock, if it is on one of the user's desks (else NotFound)."""
    pk = alert.pk if isinstance(alert, Alert) else alert
    qs = Alert.objects.select_for_update(of=("self",))
    found: Alert | None = scope_by_desk(user, qs, "desk").filter(pk=pk).first()
    if found is None:
        raise NotFound("Not found.")
    return found


def _require_state(alert: Alert, allowed: Iterable[str], *, action: str) -> None:
    allowed = tuple(allowed)
    if alert.state not in allowed:
        names = " or ".join(Alert.State(s).label.lower() for s in allowed)
        raise Conflict(
            f"Cannot {action} alert {alert.pk}: it is {alert.get_state_display().lower()}, not {names}.",
            extra={"state": alert.state},
        )


def alert_snapshot(alert: Alert) -> dict[str, Any]:
    return {
        "state": alert.state,
        "outcome": alert.outcome,
        "assignee": alert.assignee_id,
        "proposed_outcome": alert.proposed_outcome,
        "proposed_by": alert.proposed_by_id,
        "case": alert.case_id,
    }


def _alert_url(alert: Alert) -> str:
    try:
        return reverse("surveillance:alert_detail", args=[alert.pk])
    except NoReverseMatch:
        return f"/surveillance/alerts/{alert.pk}/"


def transition_record(
    *,
    alert: Alert,
    user: AnyUser | None,
    action: str,
    from_state: str,
    before: dict[str, Any],
    rationale: str = "",
    details: dict[str, Any] | None = None,
) -> AlertTransition:
    """Write the transition row and the audit event of a change already applied to ``alert``.

    Callers hold the transaction and the row lock; the audit event carries the state before and
    after so the chained trail tells the same story as the ``AlertTransition`` rows.
    """
    actor = user if user is not None and user.is_authenticated else None
    step = AlertTransition.objects.create(
        alert=alert,
        action=action,
        from_state=from_state,
        to_state=alert.state,
        actor=actor,
        actor_name=actor.get_username() if actor else "system",
        rationale=rationale,
        details=details or {},
    )
    audit_record(
        action=f"surveillance.alert.{action}",
        actor=actor,
        obj=alert,
        before=before,
        after=alert_snapshot(alert),
        parameters={"rationale": rationale, **(details or {})} if rationale or details else None,
    )
    return step


# ---------------------------------------------------------------------------- transitions


def alert_review_start(*, alert: Alert, user: User) -> Alert:
    """new → in_review; the alert is assigned to the user unless someone already holds it."""
    reviewer_check(user)
    with transaction.atomic():
        alert = _locked(alert=alert, user=user)
        _require_state(alert, [Alert.State.NEW], action="start reviewing")
        before, from_state = alert_snapshot(alert), alert.state
        alert.state = Alert.State.IN_REVIEW
        if alert.assignee_id is None:
            alert.assignee = user
        alert.save(update_fields=["state", "assignee", "updated_at"])
        transition_record(alert=alert, user=user, action="start_review", from_state=from_state, before=before)
    return alert


def _assignee_check(*, assignee: User | None, desk_ids: set[int]) -> User:
    """An active compliance analyst or supervisor (or superuser) who sees every one of the desks."""
    problem = ""
    if assignee is None or not assignee.is_active:
        problem = "Choose an active user."
    elif not assignee.is_superuser:
        if not (user_roles(assignee) & REVIEWER_ROLES):
            problem = "Alerts go to compliance analysts or supervisors."
        elif desk_ids - set(assignee.desks.values_list("id", flat=True)):
            problem = "This user does not work on the alert's desk."
    if problem:
        raise ValidationFailed(f"Assignee: {problem}", extra={"fields": {"assignee": [problem]}})
    assert assignee is not None
    return assignee


def _assign_locked(*, alert: Alert, assignee: User, user: User) -> Alert:
    before = alert_snapshot(alert)
    previous = alert.assignee_id
    alert.assignee = assignee
    alert.save(update_fields=["assignee", "updated_at"])
    transition_record(
        alert=alert,
        user=user,
        action="assign",
        from_state=alert.state,
        before=before,
        details={"assignee": assignee.get_username(), "previous_assignee_id": previous},
    )
    return alert


def alert_assign(*, alert: Alert, assignee: User | None, user: User) -> Alert:
    """Give an open alert to a reviewer who can see its desk (the state does not change)."""
    reviewer_check(user)
    with transaction.atomic():
        alert = _locked(alert=alert, user=user)
        assignee = _assignee_check(assignee=assignee, desk_ids={alert.desk_id})
        _require_state(alert, OPEN_STATES, action="assign")
        alert = _assign_locked(alert=alert, assignee=assignee, user=user)
    if assignee != user:
        notify(users=[assignee], title=f"Alert {alert.pk} assigned to you", body=alert.summary, url=_alert_url(alert))
    return alert


def alerts_assign(*, alerts: Iterable[Alert | int | str], assignee: User | None, user: User) -> list[Alert]:
    """Give several open alerts to one reviewer: all of them or none.

    Any alert out of the user's scope (404), closed (409) or outside the assignee's desks (400)
    refuses the whole batch and nothing is written. Rows are locked in id order so two bulk
    assignments over overlapping alerts cannot deadlock.
    """
    reviewer_check(user)
    ids = alert_ids_clean(alerts)
    if len(ids) > BULK_ASSIGN_MAX:
        problem = f"At most {BULK_ASSIGN_MAX} alerts at once."
        raise ValidationFailed(problem, extra={"fields": {"alert_ids": [problem]}})
    with transaction.atomic():
        qs = scope_by_desk(user, Alert.objects.select_for_update(of=("self",)), "desk")
        locked = list(qs.filter(pk__in=ids).order_by("pk"))
        missing = sorted(set(ids) - {a.pk for a in locked})
        if missing:
            raise NotFound("Not found.", extra={"alert_ids": missing})
        assignee = _assignee_check(assignee=assignee, desk_ids={a.desk_id for a in locked})
        closed = [a.pk for a in locked if a.state == Alert.State.CLOSED]
        if closed:
            raise Conflict("Closed alerts cannot be assigned.", extra={"alert_ids": closed})
        done = [_assign_locked(alert=a, assignee=assignee, user=user) for a in locked]
    if assignee != user:
        notify(
            users=[assignee],
            title=f"{len(done)} alerts assigned to you",
            body=", ".join(f"#{a.pk}" for a in done[:50]),
            url="/surveillance/?assignee=me",
        )
    return done


def alert_comment_add(*, alert: Alert, user: User, body: str) -> AlertComment:
    """Add a note to an alert (open or closed); notes are never edited, only added."""
    reviewer_check(user)
    text = text_clean(body, field="body")
    with transaction.atomic():
        alert = _locked(alert=alert, user=user)
        comment = AlertComment.objects.create(alert=alert, author=user, author_name=user.get_username(), body=text)
        audit_record(
            action="surveillance.alert.comment",
            actor=user,
            obj=alert,
            after={"comment": comment.pk, "body": text},
        )
    return comment


def alert_escalate(*, alert: Alert, user: User, rationale: str) -> Alert:
    """in_review → escalated, with the reason."""
    reviewer_check(user)
    rationale = text_clean(rationale, field="rationale")
    with transaction.atomic():
        alert = _locked(alert=alert, user=user)
        _require_state(alert, [Alert.State.IN_REVIEW], action="escalate")
        before, from_state = alert_snapshot(alert), alert.state
        alert.state = Alert.State.ESCALATED
        alert.save(update_fields=["state", "updated_at"])
        transition_record(
            alert=alert, user=user, action="escalate", from_state=from_state, before=before, rationale=rationale
        )
    return alert


def _close_locked(*, alert: Alert, closer: User, outcome: str, rationale: str) -> None:
    alert.state = Alert.State.CLOSED
    alert.outcome = outcome
    alert.closing_rationale = rationale
    alert.closed_by = closer
    alert.closed_at = timezone.now()
    alert.save(update_fields=["state", "outcome", "closing_rationale", "closed_by", "closed_at", "updated_at"])


def alert_close(*, alert: Alert, user: User, outcome: str, rationale: str) -> Alert:
    """Close an alert under review in one step, when four eyes do not apply (score below the
    threshold and an outcome other than "STOR filed"); otherwise ``FourEyesRequired``."""
    reviewer_check(user)
    outcome = _outcome_clean(outcome)
    rationale = text_clean(rationale, field="rationale")
    with transaction.atomic():
        alert = _locked(alert=alert, user=user)
        _require_state(alert, CLOSABLE_STATES, action="close")
        if alert.proposal_pending:
            raise Conflict(f"Alert {alert.pk} has a closing proposal pending: a supervisor approves or rejects it.")
        if four_eyes_required(alert=alert, outcome=outcome):
            raise FourEyesRequired(
                f"Alert {alert.pk} needs four eyes (score {alert.score:.0f} ≥ "
                f"{float(settings.SURVEILLANCE_FOUR_EYES_SCORE):g} or outcome STOR filed): propose the closure "
                "and a compliance supervisor other than you approves it.",
            )
        before, from_state = alert_snapshot(alert), alert.state
        _close_locked(alert=alert, closer=user, outcome=outcome, rationale=rationale)
        transition_record(
            alert=alert,
            user=user,
            action="close",
            from_state=from_state,
            before=before,
            rationale=rationale,
            details={"outcome": outcome},
        )
    return alert


def alert_close_propose(*, alert: Alert, user: User, outcome: str, rationale: str) -> Alert:
    """Propose how to close an alert under review; it stays open until a supervisor decides."""
    reviewer_check(user)
    outcome = _outcome_clean(outcome)
    rationale = text_clean(rationale, field="rationale")
    with transaction.atomic():
        alert = _locked(alert=alert, user=user)
        _require_state(alert, CLOSABLE_STATES, action="propose closing")
        if alert.proposal_pending:
            raise Conflict(f"Alert {alert.pk} already has a closing proposal pending.")
        before = alert_snapshot(alert)
        alert.proposed_outcome = outcome
        alert.proposed_rationale = rationale
        alert.proposed_by = user
        alert.proposed_at = timezone.now()
        alert.save(update_fields=["proposed_outcome", "proposed_rationale", "proposed_by", "proposed_at", "updated_at"])
        transition_record(
            alert=alert,
            user=user,
            action="propose_close",
            from_state=alert.state,
            before=before,
            rationale=rationale,
            details={"outcome": outcome},
        )
        supervisors = [
            u
            for u in alert.desk.members.filter(is_active=True, groups__name=Role.COMPLIANCE_SUPERVISOR.value)
            if u.pk != user.pk
        ]
    notify(
        users=supervisors,
        title=f"Alert {alert.pk}: closing proposed ({alert.get_proposed_outcome_display()})",
        body=rationale[:500],
        url=_alert_url(alert),
    )
    return alert


def _decision_check(*, alert: Alert, user: User, verb: str) -> None:
    if not alert.proposal_pending:
        raise Conflict(f"Alert {alert.pk} has no closing proposal to {verb}.")
    if alert.proposed_by_id == user.pk:
        # Four eyes: the second pair must belong to someone else, whatever their role.
        raise PermissionDenied(f"You proposed this closure: another supervisor must {verb} it.")


def alert_close_approve(*, alert: Alert, user: User, rationale: str = "") -> Alert:
    """A compliance supervisor other than the proposer closes the alert as proposed."""
    supervisor_check(user, action="approve a closing proposal")
    rationale = text_clean(rationale, field="rationale", required=False)
    with transaction.atomic():
        alert = _locked(alert=alert, user=user)
        _require_state(alert, CLOSABLE_STATES, action="approve closing")
        _decision_check(alert=alert, user=user, verb="approve")
        before, from_state = alert_snapshot(alert), alert.state
        _close_locked(alert=alert, closer=user, outcome=alert.proposed_outcome, rationale=alert.proposed_rationale)
        transition_record(
            alert=alert,
            user=user,
            action="approve",
            from_state=from_state,
            before=before,
            rationale=rationale,
            details={"outcome": alert.outcome, "proposed_by_id": alert.proposed_by_id},
        )
    return alert


def alert_close_reject(*, alert: Alert, user: User, rationale: str) -> Alert:
    """A compliance supervisor other than the proposer refuses the proposal; the alert stays open."""
    supervisor_check(user, action="reject a closing proposal")
    rationale = text_clean(rationale, field="rationale")
    with transaction.atomic():
        alert = _locked(alert=alert, user=user)
        _require_state(alert, CLOSABLE_STATES, action="reject closing")
        _decision_check(alert=alert, user=user, verb="reject")
        before = alert_snapshot(alert)
        details = {"outcome": alert.proposed_outcome, "proposed_by_id": alert.proposed_by_id}
        alert.proposed_outcome = ""
        alert.proposed_rationale = ""
        alert.proposed_by = None
        alert.proposed_at = None
        alert.save(update_fields=["proposed_outcome", "proposed_rationale", "proposed_by", "proposed_at", "updated_at"])
        transition_record(
            alert=alert,
            user=user,
            action="reject",
            from_state=alert.state,
            before=before,
            rationale=rationale,
            details=details,
        )
    return alert


def alert_transition(
    *,
    alert: Alert,
    user: User,
    action: str,
    rationale: str = "",
    outcome: str = "",
    assignee: User | None = None,
) -> Alert:
    """One entry point for the API and the pages: run the named transition.

    ``action`` is one of ``TRANSITIONS``; the others arguments are used as each action needs.
    """
    if action == "start_review":
        return alert_review_start(alert=alert, user=user)
    if action == "assign":
        return alert_assign(alert=alert, assignee=assignee, user=user)
    if action == "escalate":
        return alert_escalate(alert=alert, user=user, rationale=rationale)
    if action == "close":
        return alert_close(alert=alert, user=user, outcome=outcome, rationale=rationale)
    if action == "propose_close":
        return alert_close_propose(alert=alert, user=user, outcome=outcome, rationale=rationale)
    if action == "approve":
        return alert_close_approve(alert=alert, user=user, rationale=rationale)
    if action == "reject":
        return alert_close_reject(alert=alert, user=user, rationale=rationale)
    choices = ", ".join(TRANSITIONS)
    problem = f"Choose one of {choices}."
    raise ValidationFailed(f"Action: {problem}", extra={"fields": {"action": [problem]}})


TRANSITIONS = ("start_review", "assign", "escalate", "close", "propose_close", "approve", "reject")
