"""Cases and STOR: creation rules, four-eyes filing that closes the alerts, and the three renderings."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from audit.models import AuditEvent
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.roles import Role
from portfolios.models import OrderEvent
from surveillance import services, stor
from surveillance.models import Alert, AlertTransition, Case
from tests.factories import AccountFactory, AlertFactory, OrderFactory, OwnerFactory, TradeFactory

pytestmark = pytest.mark.django_db

TS = datetime(2022, 12, 28, 14, 30, tzinfo=UTC)


@pytest.fixture
def account(desk):
    return AccountFactory(code="ACC-7", desk=desk, owner=OwnerFactory(name="Jane Trader", is_employee=True))


@pytest.fixture
def alerts(account):
    order = OrderFactory(account=account, instrument__symbol="ACME", client_order_id="C-1", arrival_ts=TS)
    OrderEvent.objects.create(order=order, sequence=0, event_type="new", ts=TS)
    OrderEvent.objects.create(order=order, sequence=1, event_type="cancel", ts=TS)
    trade = TradeFactory(account=account, instrument=order.instrument, trade_id="T-1", ts=TS)
    return [
        AlertFactory(
            account=account, instrument=order.instrument, score=80, order_ids=[order.pk], trade_ids=[trade.pk]
        ),
        AlertFactory(account=account, instrument=order.instrument, score=40, scenario="layering"),
    ]


@pytest.fixture
def case(alerts, analyst):
    return services.case_create(user=analyst, title="Spoofing in ACME", description="Two days of it.", alerts=alerts)


def _proposed(case: Case, user) -> Case:
    return services.case_stor_propose(case=case, user=user, rationale="Meets the reporting threshold.")


# ---------------------------------------------------------------------------- creation


def test_given_alerts_of_one_desk_when_case_created_then_reference_desk_and_links(case, alerts, desk):
    assert re.fullmatch(r"CASE-\d{5}", case.reference) and case.reference == f"CASE-{case.pk:05d}"
    assert case.desk == desk and case.state == "open" and case.stor_status == "none"
    assert set(case.alerts.values_list("pk", flat=True)) == {a.pk for a in alerts}
    assert AlertTransition.objects.filter(action="case_add", details__case=case.reference).count() == 2
    event = AuditEvent.objects.get(action="surveillance.case.create")
    assert event.after["reference"] == case.reference and sorted(event.after["alerts"]) == sorted(a.pk for a in alerts)


def test_given_alerts_of_two_desks_when_case_created_then_refused(desk, other_desk, make_user):
    lead = make_user(Role.COMPLIANCE_SUPERVISOR, username="lead", desks=[desk, other_desk])
    mixed = [AlertFactory(account=AccountFactory(desk=d)) for d in (desk, other_desk)]

    with pytest.raises(ValidationFailed) as err:
        services.case_create(user=lead, title="Mixed", alerts=mixed)

    assert list(err.value.extra["fields"]) == ["alert_ids"]
    assert not Case.objects.exists()


def test_given_alert_out_of_scope_when_case_created_then_not_found(alerts, other_desk, analyst):
    foreign = AlertFactory(account=AccountFactory(desk=other_desk))

    with pytest.raises(NotFound):
        services.case_create(user=analyst, title="Peek", alerts=[alerts[0], foreign])
    assert not Case.objects.exists()


def test_given_alert_in_a_case_when_another_case_takes_it_then_conflict(case, alerts, analyst):
    with pytest.raises(Conflict):
        services.case_create(user=analyst, title="Again", alerts=[alerts[0]])


@pytest.mark.parametrize("title", ["", "  ", "x" * 201, "a\x00b"])
def test_given_bad_title_then_field_error(alerts, analyst, title):
    with pytest.raises(ValidationFailed) as err:
        services.case_create(user=analyst, title=title, alerts=alerts)

    assert list(err.value.extra["fields"]) == ["title"]


def test_given_no_alerts_then_field_error(analyst):
    with pytest.raises(ValidationFailed) as err:
        services.case_create(user=analyst, title="Empty", alerts=[])

    assert list(err.value.extra["fields"]) == ["alert_ids"]


def test_given_open_case_when_alerts_added_then_linked_and_audited(case, account, analyst):
    extra = AlertFactory(account=account)

    services.case_alerts_add(case=case, alerts=[extra.pk], user=analyst)

    assert Alert.objects.get(pk=extra.pk).case_id == case.pk
    event = AuditEvent.objects.get(action="surveillance.case.alerts_add")
    assert extra.pk in event.after["alerts"] and extra.pk not in event.before["alerts"]


def test_given_auditor_then_cases_cannot_be_changed(case, alerts, auditor):
    with pytest.raises(PermissionDenied):
        services.case_create(user=auditor, title="No", alerts=alerts)
    with pytest.raises(PermissionDenied):
        services.case_stor_update(case=case, user=auditor, fields={"entity_name": "x"})
    with pytest.raises(PermissionDenied):
        services.case_close(case=case, user=auditor, rationale="x")


# ---------------------------------------------------------------------------- STOR draft and four eyes


def test_given_draft_edits_then_they_override_the_filled_values_and_blank_restores(case, analyst):
    services.case_stor_update(case=case, user=analyst, fields={"entity_name": "Vigil Securities", "person_name": "J."})

    draft = stor.stor_draft(Case.objects.get(pk=case.pk))
    assert draft["section_1_submitter"]["entity_name"] == "Vigil Securities"
    assert draft["section_4_person"]["person_name"] == "J."

    services.case_stor_update(case=case, user=analyst, fields={"person_name": ""})
    draft = stor.stor_draft(Case.objects.get(pk=case.pk))
    assert draft["section_4_person"]["person_name"] == "Jane Trader"
    event = AuditEvent.objects.filter(action="surveillance.case.stor_update").order_by("-id").first()
    assert event.before["person_name"] == "J." and "person_name" not in event.after


def test_given_unknown_or_bad_stor_fields_then_field_errors(case, analyst):
    with pytest.raises(ValidationFailed) as err:
        services.case_stor_update(
            case=case, user=analyst, fields={"nope": "x", "contact": "a\x00", "documentation": []}
        )

    assert set(err.value.extra["fields"]) == {"nope", "contact", "documentation"}


def test_given_analyst_proposal_then_only_another_supervisor_files_and_alerts_close(
    case, alerts, analyst, analyst2, supervisor
):
    closed_before = AlertFactory(
        account=alerts[0].account, state="closed", outcome="no_action", closing_rationale="earlier", case=case
    )
    _proposed(case, analyst)

    with pytest.raises(PermissionDenied):
        services.case_stor_file(case=case, user=analyst2)
    with pytest.raises(Conflict):
        services.case_stor_update(case=case, user=analyst, fields={"entity_name": "late edit"})

    services.case_stor_file(case=case, user=supervisor)

    case.refresh_from_db()
    assert (case.state, case.stor_status, case.stor_filed_by) == ("closed", "filed", supervisor)
    for alert in alerts:
        alert.refresh_from_db()
        assert (alert.state, alert.outcome, alert.closed_by) == ("closed", "stor_filed", supervisor)
        assert case.reference in alert.closing_rationale
    closed_before.refresh_from_db()
    assert closed_before.outcome == "no_action"  # already closed: left as it was
    assert AlertTransition.objects.filter(action="stor_filed").count() == 2
    filed = AuditEvent.objects.get(action="surveillance.case.stor_file")
    assert filed.after["stor_status"] == "filed" and filed.parameters["stor"]["reference"] == case.reference


def test_given_supervisor_proposal_then_the_same_supervisor_cannot_file(case, supervisor, supervisor2):
    _proposed(case, supervisor)

    with pytest.raises(PermissionDenied, match="another supervisor"):
        services.case_stor_file(case=case, user=supervisor)

    services.case_stor_file(case=case, user=supervisor2)
    assert Case.objects.get(pk=case.pk).stor_status == "filed"


def test_given_unproposed_stor_when_filing_then_conflict(case, supervisor):
    with pytest.raises(Conflict):
        services.case_stor_file(case=case, user=supervisor)


def test_given_proposal_then_rejection_returns_it_to_draft(case, analyst, supervisor):
    _proposed(case, analyst)
    with pytest.raises(Conflict):
        services.case_close(case=case, user=analyst, rationale="Closing anyway.")

    services.case_stor_reject(case=case, user=supervisor, rationale="Add the linked accounts.")

    case.refresh_from_db()
    assert case.stor_status == "none" and case.stor_proposed_by is None
    services.case_stor_update(case=case, user=analyst, fields={"additional_information": "Linked: ACC-8"})


def test_given_case_closed_without_filing_then_alerts_untouched_and_no_more_changes(case, alerts, analyst):
    with pytest.raises(ValidationFailed):
        services.case_close(case=case, user=analyst, rationale="")

    services.case_close(case=case, user=analyst, rationale="Nothing to report.")

    assert Case.objects.get(pk=case.pk).state == "closed"
    assert all(a.state == "new" for a in Alert.objects.filter(case=case))
    assert AuditEvent.objects.get(action="surveillance.case.close").parameters["rationale"] == "Nothing to report."
    with pytest.raises(Conflict):
        services.case_alerts_add(case=case, alerts=[alerts[0]], user=analyst)


def test_given_filed_stor_then_the_draft_is_frozen_as_filed(case, analyst, supervisor):
    _proposed(case, analyst)
    services.case_stor_file(case=case, user=supervisor)
    case.refresh_from_db()
    filed = stor.stor_draft(case)

    Alert.objects.filter(case=case).update(summary="changed later")

    assert stor.stor_draft(Case.objects.get(pk=case.pk)) == filed
    assert filed["status"] == "filed" and filed["filed_by"] == "supervisor"


# ---------------------------------------------------------------------------- renderings


def test_given_case_then_stor_json_has_every_template_section_filled_from_the_evidence(case):
    draft = json.loads(stor.stor_json(case))

    assert draft["reference"] == case.reference
    assert "2016/957" in draft["template"]
    assert set(stor.SECTIONS) <= set(draft)
    for field in stor.STOR_FIELDS:
        assert field.key in draft[field.section], field.key
    section2 = draft["section_2_transactions"]
    assert [o["client_order_id"] for o in section2["orders"]] == ["C-1"]
    assert section2["orders"][0]["last_event"] == "cancel"
    assert [t["trade_id"] for t in section2["trades"]] == ["T-1"]
    assert [i["symbol"] for i in section2["instruments"]] == ["ACME"]
    assert [a["scenario"] for a in draft["section_3_suspicion"]["alerts"]] == ["spoofing", "layering"]
    assert "Spoofing (score 80" in draft["section_3_suspicion"]["nature_of_suspicion"]
    person = draft["section_4_person"]
    assert person["person_name"] == "Jane Trader" and person["person_accounts"] == "ACC-7"
    assert person["person_employment"].startswith("Employee")
    assert person["accounts"][0]["is_employee"] is True
    assert draft["section_5_additional"]["additional_information"] == "Two days of it."


def test_given_markup_characters_in_title_and_fields_then_xml_is_well_formed_and_escaped(alerts, analyst):
    title = 'Ticker <ACME>\x01 & "friends"'
    case = services.case_create(user=analyst, title=title, alerts=alerts)
    services.case_stor_update(case=case, user=analyst, fields={"additional_information": "</stor><evil/>"})

    document = stor.stor_xml(Case.objects.get(pk=case.pk))

    root = ET.fromstring(document)  # noqa: S314  (our own document, parsed to prove it well-formed)
    assert document.startswith(b"<?xml")
    assert root.tag == "stor" and root.get("reference") == case.reference
    assert root.findtext("title") == 'Ticker <ACME> & "friends"'  # control character dropped, rest intact
    assert root.findtext("section_5_additional/additional_information") == "</stor><evil/>"
    assert [o.findtext("client_order_id") for o in root.iterfind("section_2_transactions/orders/order")] == ["C-1"]
    assert b"&lt;ACME&gt; &amp;" in document


def test_given_case_then_pdf_is_a_pdf(alerts, analyst):
    case = services.case_create(user=analyst, title="Ticker <ACME> & co", alerts=alerts)

    pdf = stor.stor_pdf(case)

    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    assert len(pdf) > 2_000


def test_given_a_proposed_stor_when_an_alert_is_added_then_refused_so_filing_cannot_close_it_alone(
    case, account, analyst, supervisor
):
    # given a case whose STOR the analyst proposed
    services.case_stor_propose(case=case, user=analyst, rationale="Layered offers around the buy.")
    unrelated = AlertFactory(account=account, score=97)
    # when a supervisor tries to add a high-score alert before filing
    with pytest.raises(Conflict, match="can no longer be added"):
        services.case_alerts_add(case=case, alerts=[unrelated.pk], user=supervisor)
    # then the alert stays open and outside the case: filing could not close it without a proposal
    unrelated.refresh_from_db()
    assert unrelated.case_id is None and unrelated.is_open


def test_given_an_alert_with_its_own_proposal_when_the_case_stor_is_filed_then_the_proposal_is_cleared(
    case, analyst, supervisor
):
    alert = case.alerts.order_by("-score").first()
    services.alert_review_start(alert=alert, user=analyst)
    services.alert_close_propose(alert=alert, user=analyst, outcome="informal_action", rationale="Warned.")
    services.case_stor_propose(case=case, user=analyst, rationale="Spoofing pattern.")
    services.case_stor_file(case=case, user=supervisor)
    alert.refresh_from_db()
    assert alert.outcome == Alert.Outcome.STOR_FILED
    assert (alert.proposed_outcome, alert.proposed_by_id, alert.proposed_at) == ("", None, None)
