"""Alert review services: every transition, four eyes, rationale rules, roles, scoping, audit."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from audit.models import AuditEvent
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.roles import Role
from surveillance import services
from surveillance.models import Alert, AlertComment, AlertTransition
from surveillance.services.workflow import FourEyesRequired
from tests.factories import AccountFactory, AlertFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(desk):
    return AccountFactory(desk=desk)


@pytest.fixture
def low(account):
    """Scored 50: below the default four-eyes threshold of 70."""
    return AlertFactory(account=account, score=50)


@pytest.fixture
def high(account):
    return AlertFactory(account=account, score=85)


def _reviewing(alert: Alert, user) -> Alert:
    return services.alert_review_start(alert=alert, user=user)


def _actions(alert: Alert) -> list[tuple[str, str, str]]:
    return list(AlertTransition.objects.filter(alert=alert).values_list("action", "from_state", "to_state"))


# ---------------------------------------------------------------------------- transitions


def test_given_new_alert_when_review_starts_then_in_review_assigned_and_recorded(low, analyst):
    alert = services.alert_review_start(alert=low, user=analyst)

    alert.refresh_from_db()
    assert alert.state == "in_review" and alert.assignee == analyst
    step = AlertTransition.objects.get(alert=alert)
    assert (step.action, step.from_state, step.to_state, step.actor, step.actor_name) == (
        "start_review",
        "new",
        "in_review",
        analyst,
        "analyst",
    )
    event = AuditEvent.objects.get(action="surveillance.alert.start_review")
    assert event.object_id == str(alert.pk) and event.actor_id == analyst.pk
    assert event.before["state"] == "new" and event.after["state"] == "in_review"
    assert event.after["assignee"] == analyst.pk


def test_given_assigned_alert_when_another_starts_review_then_assignee_kept(low, analyst, analyst2):
    services.alert_assign(alert=low, assignee=analyst2, user=analyst)

    alert = services.alert_review_start(alert=low, user=analyst)

    assert alert.assignee == analyst2


def test_given_alert_in_review_when_review_starts_again_then_conflict(low, analyst):
    _reviewing(low, analyst)

    with pytest.raises(Conflict, match="in review, not new"):
        services.alert_review_start(alert=low, user=analyst)


def test_given_in_review_when_escalated_then_escalated_with_rationale(low, analyst):
    _reviewing(low, analyst)

    services.alert_escalate(alert=low, user=analyst, rationale="  Pattern repeats across days.  ")

    low.refresh_from_db()
    assert low.state == "escalated"
    step = AlertTransition.objects.get(alert=low, action="escalate")
    assert step.rationale == "Pattern repeats across days."  # stripped
    assert AuditEvent.objects.get(action="surveillance.alert.escalate").parameters["rationale"] == step.rationale


def test_given_new_alert_when_escalated_then_conflict(low, analyst):
    with pytest.raises(Conflict):
        services.alert_escalate(alert=low, user=analyst, rationale="why")


@pytest.mark.parametrize("start", ["in_review", "escalated"])
def test_given_low_score_when_closed_directly_then_closed_with_outcome(low, analyst, start):
    _reviewing(low, analyst)
    if start == "escalated":
        services.alert_escalate(alert=low, user=analyst, rationale="look closer")

    services.alert_close(alert=low, user=analyst, outcome="no_action", rationale="Market maker hedging.")

    low.refresh_from_db()
    assert (low.state, low.outcome, low.closing_rationale, low.closed_by) == (
        "closed",
        "no_action",
        "Market maker hedging.",
        analyst,
    )
    assert low.closed_at is not None
    assert _actions(low)[-1] == ("close", start, "closed")
    assert AuditEvent.objects.get(action="surveillance.alert.close").after["outcome"] == "no_action"


def test_given_closed_alert_when_any_transition_then_conflict(low, analyst, supervisor):
    _reviewing(low, analyst)
    services.alert_close(alert=low, user=analyst, outcome="no_action", rationale="ok")

    with pytest.raises(Conflict):
        services.alert_escalate(alert=low, user=analyst, rationale="x")
    with pytest.raises(Conflict):
        services.alert_close(alert=low, user=analyst, outcome="no_action", rationale="x")
    with pytest.raises(Conflict):
        services.alert_assign(alert=low, assignee=analyst, user=analyst)
    with pytest.raises(Conflict):
        services.alert_close_propose(alert=low, user=analyst, outcome="no_action", rationale="x")
    with pytest.raises(Conflict):
        services.alert_close_approve(alert=low, user=supervisor)


def test_given_new_alert_when_closed_then_conflict_review_first(low, analyst):
    with pytest.raises(Conflict):
        services.alert_close(alert=low, user=analyst, outcome="no_action", rationale="ok")


# ---------------------------------------------------------------------------- rationale and outcome


@pytest.mark.parametrize("rationale", ["", "   \n ", None, "bad\x00text", "x" * 10_001])
def test_given_bad_rationale_when_escalating_or_closing_then_field_error_and_nothing_written(low, analyst, rationale):
    _reviewing(low, analyst)
    before = AlertTransition.objects.count()

    for call in (
        lambda: services.alert_escalate(alert=low, user=analyst, rationale=rationale),
        lambda: services.alert_close(alert=low, user=analyst, outcome="no_action", rationale=rationale),
        lambda: services.alert_close_propose(alert=low, user=analyst, outcome="no_action", rationale=rationale),
    ):
        with pytest.raises(ValidationFailed) as err:
            call()
        assert list(err.value.extra["fields"]) == ["rationale"]

    low.refresh_from_db()
    assert low.state == "in_review"
    assert AlertTransition.objects.count() == before


def test_given_rationale_of_exactly_the_limit_then_accepted(low, analyst):
    _reviewing(low, analyst)

    services.alert_escalate(alert=low, user=analyst, rationale="x" * 10_000)

    assert Alert.objects.get(pk=low.pk).state == "escalated"


def test_given_unknown_outcome_when_closing_then_field_error(low, analyst):
    _reviewing(low, analyst)

    with pytest.raises(ValidationFailed) as err:
        services.alert_close(alert=low, user=analyst, outcome="forgotten", rationale="ok")

    assert list(err.value.extra["fields"]) == ["outcome"]


# ---------------------------------------------------------------------------- four eyes


def test_given_high_score_when_closed_directly_then_refused_to_propose_instead(high, analyst, supervisor):
    _reviewing(high, analyst)

    for user in (analyst, supervisor):
        with pytest.raises(FourEyesRequired, match="propose") as err:
            services.alert_close(alert=high, user=user, outcome="no_action", rationale="fine")
        assert err.value.status == 409

    assert Alert.objects.get(pk=high.pk).state == "in_review"


def test_given_low_score_when_closing_as_stor_filed_then_four_eyes_apply(low, analyst):
    _reviewing(low, analyst)

    with pytest.raises(FourEyesRequired):
        services.alert_close(alert=low, user=analyst, outcome="stor_filed", rationale="reported")


def test_given_threshold_setting_lowered_then_a_score_50_alert_needs_four_eyes(low, analyst, settings):
    settings.SURVEILLANCE_FOUR_EYES_SCORE = 50
    _reviewing(low, analyst)

    with pytest.raises(FourEyesRequired):
        services.alert_close(alert=low, user=analyst, outcome="no_action", rationale="ok")


def test_given_analyst_proposal_then_analysts_cannot_approve_and_a_supervisor_closes(
    high, analyst, analyst2, supervisor
):
    _reviewing(high, analyst)
    services.alert_close_propose(alert=high, user=analyst, outcome="informal_action", rationale="Warned the trader.")
    high.refresh_from_db()
    assert high.proposal_pending and high.state == "in_review" and high.proposed_by == analyst

    with pytest.raises(PermissionDenied):
        services.alert_close_approve(alert=high, user=analyst)
    with pytest.raises(PermissionDenied):
        services.alert_close_approve(alert=high, user=analyst2)
    assert Alert.objects.get(pk=high.pk).state == "in_review"

    services.alert_close_approve(alert=high, user=supervisor, rationale="Agreed.")

    high.refresh_from_db()
    assert (high.state, high.outcome, high.closing_rationale, high.closed_by) == (
        "closed",
        "informal_action",
        "Warned the trader.",
        supervisor,
    )
    assert _actions(high) == [
        ("start_review", "new", "in_review"),
        ("propose_close", "in_review", "in_review"),
        ("approve", "in_review", "closed"),
    ]
    approve = AuditEvent.objects.get(action="surveillance.alert.approve")
    assert approve.actor_id == supervisor.pk and approve.after["state"] == "closed"
    assert approve.parameters["proposed_by_id"] == analyst.pk


def test_given_supervisor_proposal_then_same_supervisor_cannot_approve_another_can(high, supervisor, supervisor2):
    _reviewing(high, supervisor)
    services.alert_close_propose(alert=high, user=supervisor, outcome="no_action", rationale="Benign.")

    with pytest.raises(PermissionDenied, match="another supervisor"):
        services.alert_close_approve(alert=high, user=supervisor)
    with pytest.raises(PermissionDenied):
        services.alert_close_reject(alert=high, user=supervisor, rationale="changed my mind")

    services.alert_close_approve(alert=high, user=supervisor2)
    assert Alert.objects.get(pk=high.pk).state == "closed"


def test_given_proposal_when_rejected_then_cleared_and_a_new_one_may_follow(high, analyst, supervisor):
    _reviewing(high, analyst)
    services.alert_close_propose(alert=high, user=analyst, outcome="no_action", rationale="Benign.")

    with pytest.raises(ValidationFailed):
        services.alert_close_reject(alert=high, user=supervisor, rationale=" ")
    services.alert_close_reject(alert=high, user=supervisor, rationale="Look at the linked account first.")

    high.refresh_from_db()
    assert not high.proposal_pending and high.proposed_by is None and high.state == "in_review"
    reject = AuditEvent.objects.get(action="surveillance.alert.reject")
    assert reject.before["proposed_outcome"] == "no_action" and reject.after["proposed_outcome"] == ""
    services.alert_close_propose(alert=high, user=analyst, outcome="stor_filed", rationale="Report it.")
    assert Alert.objects.get(pk=high.pk).proposed_outcome == "stor_filed"


def test_given_pending_proposal_then_second_proposal_and_direct_close_conflict(low, analyst, analyst2):
    _reviewing(low, analyst)
    services.alert_close_propose(alert=low, user=analyst, outcome="no_action", rationale="Benign.")

    with pytest.raises(Conflict):
        services.alert_close_propose(alert=low, user=analyst2, outcome="no_action", rationale="Me too.")
    with pytest.raises(Conflict):
        services.alert_close(alert=low, user=analyst2, outcome="no_action", rationale="Just close it.")


def test_given_no_proposal_when_approving_or_rejecting_then_conflict(high, analyst, supervisor):
    _reviewing(high, analyst)

    with pytest.raises(Conflict, match="no closing proposal"):
        services.alert_close_approve(alert=high, user=supervisor)
    with pytest.raises(Conflict):
        services.alert_close_reject(alert=high, user=supervisor, rationale="nothing to reject")


# ---------------------------------------------------------------------------- roles and scope


def test_given_auditor_when_changing_anything_then_permission_denied_and_nothing_written(low, auditor, analyst):
    calls = [
        lambda: services.alert_review_start(alert=low, user=auditor),
        lambda: services.alert_assign(alert=low, assignee=analyst, user=auditor),
        lambda: services.alerts_assign(alerts=[low], assignee=analyst, user=auditor),
        lambda: services.alert_comment_add(alert=low, user=auditor, body="note"),
        lambda: services.alert_escalate(alert=low, user=auditor, rationale="x"),
        lambda: services.alert_close(alert=low, user=auditor, outcome="no_action", rationale="x"),
        lambda: services.alert_close_propose(alert=low, user=auditor, outcome="no_action", rationale="x"),
        lambda: services.alert_close_approve(alert=low, user=auditor),
        lambda: services.alert_close_reject(alert=low, user=auditor, rationale="x"),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()

    assert not AlertTransition.objects.exists() and not AlertComment.objects.exists()
    assert Alert.objects.get(pk=low.pk).state == "new"


def test_given_user_without_surveillance_area_then_permission_denied(low, make_user):
    officer = make_user(Role.RISK_OFFICER, username="officer")

    with pytest.raises(PermissionDenied):
        services.alert_review_start(alert=low, user=officer)


def test_given_alert_of_another_desk_then_not_found(other_desk, analyst, supervisor):
    foreign = AlertFactory(account=AccountFactory(desk=other_desk), score=90)

    with pytest.raises(NotFound):
        services.alert_review_start(alert=foreign, user=analyst)
    with pytest.raises(NotFound):
        services.alert_comment_add(alert=foreign, user=analyst, body="peek")
    with pytest.raises(NotFound):
        services.alert_close_approve(alert=foreign, user=supervisor)


def test_given_superuser_then_any_desk_alert_may_be_reviewed(other_desk, make_user):
    root = make_user(None, username="root", desks=[], is_superuser=True)
    foreign = AlertFactory(account=AccountFactory(desk=other_desk))

    services.alert_review_start(alert=foreign, user=root)

    assert Alert.objects.get(pk=foreign.pk).state == "in_review"


# ---------------------------------------------------------------------------- assignment and comments


def test_given_assignee_without_the_role_or_desk_then_field_error(low, analyst, make_user, other_desk):
    officer = make_user(Role.RISK_OFFICER, username="officer")
    elsewhere = make_user(Role.COMPLIANCE_ANALYST, username="elsewhere", desks=[other_desk])
    gone = make_user(Role.COMPLIANCE_ANALYST, username="gone", is_active=False)

    for assignee in (officer, elsewhere, gone, None):
        with pytest.raises(ValidationFailed) as err:
            services.alert_assign(alert=low, assignee=assignee, user=analyst)
        assert list(err.value.extra["fields"]) == ["assignee"]


def test_given_assignment_then_transition_audit_and_notification(low, analyst, analyst2):
    services.alert_assign(alert=low, assignee=analyst2, user=analyst)

    low.refresh_from_db()
    assert low.assignee == analyst2 and low.state == "new"
    step = AlertTransition.objects.get(alert=low)
    assert step.action == "assign" and step.details["assignee"] == "analyst2"
    assert AuditEvent.objects.get(action="surveillance.alert.assign").after["assignee"] == analyst2.pk
    assert analyst2.notifications.filter(title__contains=f"Alert {low.pk}").exists()


def test_given_bulk_assignment_then_every_alert_assigned(account, analyst, analyst2):
    alerts = [AlertFactory(account=account) for _ in range(3)]

    done = services.alerts_assign(alerts=[a.pk for a in alerts], assignee=analyst2, user=analyst)

    assert len(done) == 3
    assert set(Alert.objects.filter(assignee=analyst2).values_list("pk", flat=True)) == {a.pk for a in alerts}
    assert AlertTransition.objects.filter(action="assign").count() == 3


def test_given_bulk_assignment_with_one_closed_alert_then_none_assigned(account, analyst, analyst2):
    alerts = [AlertFactory(account=account) for _ in range(2)]
    closed = AlertFactory(account=account, state="closed", outcome="no_action", closing_rationale="done")

    with pytest.raises(Conflict) as err:
        services.alerts_assign(alerts=[*alerts, closed], assignee=analyst2, user=analyst)

    assert err.value.extra["alert_ids"] == [closed.pk]
    assert not Alert.objects.filter(assignee=analyst2).exists()
    assert not AlertTransition.objects.exists()


def test_given_bulk_assignment_with_one_foreign_alert_then_not_found_and_none_assigned(
    account, other_desk, analyst, analyst2
):
    mine = AlertFactory(account=account)
    foreign = AlertFactory(account=AccountFactory(desk=other_desk))

    with pytest.raises(NotFound):
        services.alerts_assign(alerts=[mine, foreign], assignee=analyst2, user=analyst)

    assert Alert.objects.get(pk=mine.pk).assignee is None


def test_given_bulk_assignment_across_desks_then_assignee_must_see_them_all(desk, other_desk, make_user):
    lead = make_user(Role.COMPLIANCE_SUPERVISOR, username="lead", desks=[desk, other_desk])
    local = make_user(Role.COMPLIANCE_ANALYST, username="local", desks=[desk])
    alerts = [AlertFactory(account=AccountFactory(desk=d)) for d in (desk, other_desk)]

    with pytest.raises(ValidationFailed) as err:
        services.alerts_assign(alerts=alerts, assignee=local, user=lead)

    assert list(err.value.extra["fields"]) == ["assignee"]
    assert not Alert.objects.filter(assignee=local).exists()


def test_given_empty_bulk_assignment_then_field_error(analyst, analyst2):
    with pytest.raises(ValidationFailed) as err:
        services.alerts_assign(alerts=[], assignee=analyst2, user=analyst)

    assert list(err.value.extra["fields"]) == ["alert_ids"]


def test_given_comment_then_stored_with_author_and_audited(low, analyst):
    comment = services.alert_comment_add(alert=low, user=analyst, body=" Called the desk head. ")

    assert (comment.body, comment.author, comment.author_name) == ("Called the desk head.", analyst, "analyst")
    assert AuditEvent.objects.get(action="surveillance.alert.comment").after["body"] == "Called the desk head."
    with pytest.raises(ValidationFailed) as err:
        services.alert_comment_add(alert=low, user=analyst, body="")
    assert list(err.value.extra["fields"]) == ["body"]


# ---------------------------------------------------------------------------- one entry point


def test_given_transition_entry_point_then_each_action_dispatches(high, analyst, supervisor):
    services.alert_transition(alert=high, user=analyst, action="start_review")
    services.alert_transition(alert=high, user=analyst, action="escalate", rationale="Needs a second look.")
    services.alert_transition(
        alert=high, user=analyst, action="propose_close", outcome="no_action", rationale="Benign on review."
    )
    services.alert_transition(alert=high, user=supervisor, action="approve")

    assert [a for a, _, _ in _actions(high)] == ["start_review", "escalate", "propose_close", "approve"]
    with pytest.raises(ValidationFailed) as err:
        services.alert_transition(alert=high, user=analyst, action="delete")
    assert list(err.value.extra["fields"]) == ["action"]


# ---------------------------------------------------------------------------- concurrency


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_given_two_reviewers_at_once_then_the_second_waits_and_sees_the_first_ones_change(desk, make_user):
    """The row lock serialises reviewers: without it both would read "new" and both would start."""
    first_user = make_user(Role.COMPLIANCE_ANALYST, username="first")
    second_user = make_user(Role.COMPLIANCE_ANALYST, username="second")
    alert = AlertFactory(account=AccountFactory(desk=desk))
    holding, outcome = threading.Event(), {}

    def first() -> None:
        try:
            with transaction.atomic():
                services.alert_review_start(alert=alert, user=first_user)
                holding.set()
                time.sleep(0.5)  # still inside the transaction: the row stays locked
        finally:
            connection.close()

    def second() -> None:
        try:
            holding.wait(5)
            services.alert_review_start(alert=alert, user=second_user)
            outcome["second"] = "started"
        except Conflict:
            outcome["second"] = "conflict"
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    assert outcome == {"second": "conflict"}
    assert Alert.objects.get(pk=alert.pk).assignee == first_user
    assert AlertTransition.objects.filter(alert_id=alert.pk).count() == 1
