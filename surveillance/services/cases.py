"""Cases: alerts investigated together, and the STOR they may lead to.

A case belongs to one desk (the desk of its alerts) and carries a reference ``CASE-00001``.
Its STOR draft (``surveillance.stor``) is edited while in draft, proposed by a reviewer and
filed by a compliance supervisor who did not propose it (four eyes). Filing closes every open
alert of the case with the outcome "STOR filed" and closes the case. Every change is audited in
the same transaction, with the case row locked.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.roles import Role
from core.services import notify
from portfolios.selectors import scope_by_desk
from surveillance.models import Alert, Case
from surveillance.services.workflow import (
    alert_ids_clean,
    alert_snapshot,
    reviewer_check,
    supervisor_check,
    text_clean,
    transition_record,
)
from surveillance.stor import FILED_KEY, STOR_FIELD_KEYS, stor_draft

CASE_ALERTS_MAX = 500  # alerts added in one request (each row is locked)
TITLE_MAX_CHARS = 200


def _case_snapshot(case: Case) -> dict[str, Any]:
    return {
        "reference": case.reference,
        "title": case.title,
        "state": case.state,
        "stor_status": case.stor_status,
        "stor_proposed_by": case.stor_proposed_by_id,
        "stor_filed_by": case.stor_filed_by_id,
        "alerts": sorted(case.alerts.values_list("id", flat=True)) if case.pk else [],
    }


def _case_locked(*, case: Case | int, user: User) -> Case:
    pk = case.pk if isinstance(case, Case) else case
    found: Case | None = scope_by_desk(user, Case.objects.select_for_update(of=("self",)), "desk").filter(pk=pk).first()
    if found is None:
        raise NotFound("Not found.")
    return found


def _require_open(case: Case, *, action: str) -> None:
    if case.state != Case.State.OPEN:
        raise Conflict(f"Cannot {action}: case {case.reference} is closed.")


def _alerts_locked(*, alerts: Iterable[Alert | int | str], user: User) -> list[Alert]:
    """The alerts, locked in id order, all in the user's scope (else NotFound naming the ids)."""
    ids = alert_ids_clean(alerts)
    if len(ids) > CASE_ALERTS_MAX:
        problem = f"At most {CASE_ALERTS_MAX} alerts at once."
        raise ValidationFailed(problem, extra={"fields": {"alert_ids": [problem]}})
    qs = scope_by_desk(user, Alert.objects.select_for_update(of=("self",)), "desk")
    locked = list(qs.filter(pk__in=ids).order_by("pk"))
    missing = sorted(set(ids) - {a.pk for a in locked})
    if missing:
        raise NotFound("Not found.", extra={"alert_ids": missing})
    return locked


def _attach(*, case: Case, alerts: list[Alert], user: User) -> None:
    """Put the alerts in the case: one desk only, and an alert is in at most one case."""
    desks = {a.desk_id for a in alerts} | {case.desk_id}
    if len(desks) > 1:
        problem = "A case holds the alerts of one desk only."
        raise ValidationFailed(problem, extra={"fields": {"alert_ids": [problem]}})
    elsewhere = [a.pk for a in alerts if a.case_id is not None and a.case_id != case.pk]
    if elsewhere:
        raise Conflict("These alerts are already in another case.", extra={"alert_ids": elsewhere})
    for alert in alerts:
        if alert.case_id == case.pk:
            continue
        before = alert_snapshot(alert)
        alert.case = case
        alert.save(update_fields=["case", "updated_at"])
        transition_record(
            alert=alert,
            user=user,
            action="case_add",
            from_state=alert.state,
            before=before,
            details={"case": case.reference},
        )


def case_create(*, user: User, title: str, description: str = "", alerts: Iterable[Alert | int | str]) -> Case:
    """Open a case on the alerts (one desk, all in the user's scope, none in another case)."""
    reviewer_check(user)
    title = text_clean(title, field="title")
    if len(title) > TITLE_MAX_CHARS:
        problem = f"At most {TITLE_MAX_CHARS} characters."
        raise ValidationFailed(f"Title: {problem}", extra={"fields": {"title": [problem]}})
    description = text_clean(description, field="description", required=False)
    with transaction.atomic():
        locked = _alerts_locked(alerts=alerts, user=user)
        desks = {a.desk_id for a in locked}
        if len(desks) > 1:
            problem = "A case holds the alerts of one desk only."
            raise ValidationFailed(problem, extra={"fields": {"alert_ids": [problem]}})
        # The reference comes from the primary key, so two cases opened at once never collide.
        case = Case.objects.create(
            reference=f"TMP-{uuid.uuid4().hex[:24]}",
            title=title,
            description=description,
            desk_id=desks.pop(),
            created_by=user,
        )
        case.reference = f"CASE-{case.pk:05d}"
        case.save(update_fields=["reference"])
        _attach(case=case, alerts=locked, user=user)
        audit_record(action="surveillance.case.create", actor=user, obj=case, after=_case_snapshot(case))
    return case


def case_alerts_add(*, case: Case, alerts: Iterable[Alert | int | str], user: User) -> Case:
    """Add alerts of the case's desk to an open case whose STOR is still a draft.

    Once the STOR is proposed, the set of alerts is what the second supervisor decides on:
    adding one then would let it be closed by filing without anyone having proposed it.
    """
    reviewer_check(user)
    with transaction.atomic():
        case = _case_locked(case=case, user=user)
        _require_open(case, action="add alerts")
        if case.stor_status != Case.StorStatus.NONE:
            raise Conflict(
                f"The STOR of {case.reference} is {case.stor_status}: alerts can no longer be added. "
                "Reject the proposal first, or open a new case."
            )
        before = _case_snapshot(case)
        _attach(case=case, alerts=_alerts_locked(alerts=alerts, user=user), user=user)
        case.save(update_fields=["updated_at"])
        audit_record(
            action="surveillance.case.alerts_add", actor=user, obj=case, before=before, after=_case_snapshot(case)
        )
    return case


def case_stor_update(*, case: Case, user: User, fields: Mapping[str, Any]) -> Case:
    """Change fields of the STOR draft (keys of ``surveillance.stor.STOR_FIELDS``; text).

    Only a draft may change: once proposed, the supervisor must decide on what was proposed.
    A blank value restores the value filled from the case's data.
    """
    reviewer_check(user)
    unknown = sorted(str(k) for k in fields if k not in STOR_FIELD_KEYS)
    errors: dict[str, list[str]] = {k: ["Unknown STOR field."] for k in unknown}
    cleaned: dict[str, str] = {}
    for key, value in fields.items():
        if key in unknown:
            continue
        if value is not None and not isinstance(value, str | int | float):
            errors[key] = ["Must be text."]
            continue
        try:
            cleaned[key] = text_clean(value, field=key, required=False)
        except ValidationFailed as exc:
            errors |= exc.extra["fields"]
    if errors:
        raise ValidationFailed("The STOR fields are invalid.", extra={"fields": errors})
    with transaction.atomic():
        case = _case_locked(case=case, user=user)
        _require_open(case, action="edit the STOR")
        if case.stor_status != Case.StorStatus.NONE:
            raise Conflict(f"The STOR of {case.reference} is {case.stor_status}; only a draft can be edited.")
        before = dict(case.stor)
        stor = dict(case.stor)
        for key, value in cleaned.items():
            if value:
                stor[key] = value
            else:
                stor.pop(key, None)
        case.stor = stor
        case.save(update_fields=["stor", "updated_at"])
        audit_record(action="surveillance.case.stor_update", actor=user, obj=case, before=before, after=stor)
    return case


def case_stor_propose(*, case: Case, user: User, rationale: str) -> Case:
    """Propose filing the STOR as drafted; a compliance supervisor other than the proposer files it."""
    reviewer_check(user)
    rationale = text_clean(rationale, field="rationale")
    with transaction.atomic():
        case = _case_locked(case=case, user=user)
        _require_open(case, action="propose the STOR")
        if case.stor_status != Case.StorStatus.NONE:
            raise Conflict(f"The STOR of {case.reference} is already {case.stor_status}.")
        if not case.alerts.exists():
            raise Conflict(f"Case {case.reference} has no alerts to report.")
        before = _case_snapshot(case)
        case.stor_status = Case.StorStatus.PROPOSED
        case.stor_proposed_by = user
        case.save(update_fields=["stor_status", "stor_proposed_by", "updated_at"])
        audit_record(
            action="surveillance.case.stor_propose",
            actor=user,
            obj=case,
            before=before,
            after=_case_snapshot(case),
            parameters={"rationale": rationale},
        )
        supervisors = [
            u
            for u in case.desk.members.filter(is_active=True, groups__name=Role.COMPLIANCE_SUPERVISOR.value)
            if u.pk != user.pk
        ]
    notify(
        users=supervisors,
        title=f"{case.reference}: STOR proposed for filing",
        body=rationale[:500],
        url=f"/surveillance/cases/{case.pk}/",
    )
    return case


def _decision_check(*, case: Case, user: User, verb: str) -> None:
    if case.stor_status != Case.StorStatus.PROPOSED:
        raise Conflict(f"The STOR of {case.reference} is not proposed; nothing to {verb}.")
    if case.stor_proposed_by_id == user.pk:
        raise PermissionDenied(f"You proposed this STOR: another supervisor must {verb} it.")


def case_stor_file(*, case: Case, user: User) -> Case:
    """File the proposed STOR (a compliance supervisor other than the proposer).

    The draft is frozen into the case as filed; every open alert of the case closes with the
    outcome "STOR filed" and a rationale naming the case; the case closes.
    """
    supervisor_check(user, action="file a STOR")
    with transaction.atomic():
        case = _case_locked(case=case, user=user)
        _require_open(case, action="file the STOR")
        _decision_check(case=case, user=user, verb="file")
        before = _case_snapshot(case)
        now = timezone.now()
        rationale = f"STOR filed in case {case.reference}."
        alerts = list(case.alerts.select_for_update(of=("self",)).order_by("pk"))
        for alert in alerts:
            if not alert.is_open:
                continue
            alert_before, from_state = alert_snapshot(alert), alert.state
            alert.state = Alert.State.CLOSED
            alert.outcome = Alert.Outcome.STOR_FILED
            alert.closing_rationale = rationale
            alert.closed_by = user
            alert.closed_at = now
            # A closing proposal of the alert's own is superseded by the filed STOR.
            alert.proposed_outcome, alert.proposed_rationale, alert.proposed_by, alert.proposed_at = "", "", None, None
            alert.save(
                update_fields=[
                    "state", "outcome", "closing_rationale", "closed_by", "closed_at", "updated_at",
                    "proposed_outcome", "proposed_rationale", "proposed_by", "proposed_at",
                ]
            )  # fmt: skip
            transition_record(
                alert=alert,
                user=user,
                action="stor_filed",
                from_state=from_state,
                before=alert_before,
                rationale=rationale,
                details={"case": case.reference, "outcome": Alert.Outcome.STOR_FILED},
            )
        case.stor_status = Case.StorStatus.FILED
        case.stor_filed_by = user
        case.stor_filed_at = now
        case.state = Case.State.CLOSED
        draft = stor_draft(case)
        draft["status"] = Case.StorStatus.FILED
        case.stor = {**case.stor, FILED_KEY: draft}
        case.save(update_fields=["stor", "stor_status", "stor_filed_by", "stor_filed_at", "state", "updated_at"])
        audit_record(
            action="surveillance.case.stor_file",
            actor=user,
            obj=case,
            before=before,
            after=_case_snapshot(case),
            parameters={"stor": draft},
        )
    return case


def case_stor_reject(*, case: Case, user: User, rationale: str) -> Case:
    """A compliance supervisor other than the proposer sends the STOR back to draft."""
    supervisor_check(user, action="reject a STOR proposal")
    rationale = text_clean(rationale, field="rationale")
    with transaction.atomic():
        case = _case_locked(case=case, user=user)
        _require_open(case, action="reject the STOR")
        _decision_check(case=case, user=user, verb="reject")
        before = _case_snapshot(case)
        case.stor_status = Case.StorStatus.NONE
        case.stor_proposed_by = None
        case.save(update_fields=["stor_status", "stor_proposed_by", "updated_at"])
        audit_record(
            action="surveillance.case.stor_reject",
            actor=user,
            obj=case,
            before=before,
            after=_case_snapshot(case),
            parameters={"rationale": rationale},
        )
    return case


def case_close(*, case: Case, user: User, rationale: str) -> Case:
    """Close a case without filing (its alerts keep their own state); refused while a STOR is proposed."""
    reviewer_check(user)
    rationale = text_clean(rationale, field="rationale")
    with transaction.atomic():
        case = _case_locked(case=case, user=user)
        _require_open(case, action="close the case")
        if case.stor_status == Case.StorStatus.PROPOSED:
            raise Conflict(f"The STOR of {case.reference} is proposed: a supervisor files or rejects it first.")
        before = _case_snapshot(case)
        case.state = Case.State.CLOSED
        case.save(update_fields=["state", "updated_at"])
        audit_record(
            action="surveillance.case.close",
            actor=user,
            obj=case,
            before=before,
            after=_case_snapshot(case),
            parameters={"rationale": rationale},
        )
    return case


__all__ = [
    "case_alerts_add",
    "case_close",
    "case_create",
    "case_stor_file",
    "case_stor_propose",
    "case_stor_reject",
    "case_stor_update",
]
