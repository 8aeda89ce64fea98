"""The audit viewer: auditors (and superusers) only, filters, pages, detail, CSV, chain check."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.exports import CSV_COLUMNS
from audit.models import AuditEvent
from audit.services import audit_record
from audit.views import PAGE_SIZE
from core.roles import Role
from tests.audit.conftest import tamper

pytestmark = pytest.mark.django_db

LIST = reverse("audit:event_list")
EXPORT = reverse("audit:event_export")
VERIFY = reverse("audit:chain_verify")


@pytest.fixture
def events(make_user):
    """Three events by two actors on two objects, in separate requests."""
    rita = make_user(Role.RISK_OFFICER, username="rita")
    return {
        "alpha": audit_record(action="test.alpha", actor=rita, object_type="portfolios.portfolio", object_id=7),
        "beta": audit_record(action="test.beta", object_type="portfolios.trade", object_id=42),
        "gamma": audit_record(action="other.gamma", actor=rita, object_type="portfolios.trade", object_id=42),
    }


def _actions(response) -> set[str]:
    html = response.content.decode()
    return {a for a in ("test.alpha", "test.beta", "other.gamma") if f">{a}<" in html}


def _csv(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


# --- access ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [LIST, EXPORT, reverse("audit:event_detail", args=[1])])
def test_given_an_anonymous_visitor_then_the_viewer_redirects_to_login(url):
    response = Client().get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "role",
    [Role.RISK_OFFICER, Role.COMPLIANCE_ANALYST, Role.COMPLIANCE_SUPERVISOR, Role.WEALTH_ADVISOR, Role.OMS_CLIENT],
)
def test_given_a_role_other_than_auditor_then_the_viewer_is_forbidden_and_the_attempt_recorded(make_user, role):
    client = Client()
    client.force_login(make_user(role))

    assert client.get(LIST).status_code == 403
    assert client.get(EXPORT).status_code == 403
    assert client.post(VERIFY).status_code == 403
    assert AuditEvent.objects.filter(action="access.denied", actor_name=role.value).count() == 3


def test_given_a_superuser_then_the_viewer_opens(make_user):
    client = Client()
    client.force_login(make_user(None, username="root", is_superuser=True))

    assert client.get(LIST).status_code == 200


# --- list and filters --------------------------------------------------------------------


def test_given_an_auditor_then_the_list_shows_events_newest_first(auditor_client, events):
    response = auditor_client.get(LIST)

    assert response.status_code == 200
    assert _actions(response) == {"test.alpha", "test.beta", "other.gamma"}
    ids = [e.pk for e in response.context["page"].events]
    assert ids == sorted(ids, reverse=True)
    assert '<label for="id_actor">Actor</label>' in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"actor": "RITA"}, {"test.alpha", "other.gamma"}),
        ({"actor": "system"}, {"test.beta"}),
        ({"action": "test.alpha"}, {"test.alpha"}),
        ({"action": "test.*"}, {"test.alpha", "test.beta"}),
        ({"object_type": "portfolios.trade"}, {"test.beta", "other.gamma"}),
        ({"object_type": "portfolios.trade", "object_id": "42", "actor": "rita"}, {"other.gamma"}),
        ({"object_id": "7"}, {"test.alpha"}),
    ],
)
def test_given_filters_then_only_matching_events_are_listed(auditor_client, events, query, expected):
    assert _actions(auditor_client.get(LIST, query)) == expected


def test_given_a_time_range_then_only_events_inside_it_are_listed(auditor_client, events):
    beta = events["beta"].occurred_at
    as_text = {"occurred_after": beta.isoformat(), "occurred_before": (beta + timedelta(microseconds=1)).isoformat()}

    assert _actions(auditor_client.get(LIST, as_text)) == {"test.beta"}
    # What the datetime-local picker sends: no offset, read as UTC, to the second.
    naive_from = (events["alpha"].occurred_at - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    assert _actions(auditor_client.get(LIST, {"occurred_after": naive_from})) == {
        "test.alpha",
        "test.beta",
        "other.gamma",
    }
    later = (timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert _actions(auditor_client.get(LIST, {"occurred_after": later})) == set()


def test_given_a_request_id_then_only_that_requests_events_are_listed(auditor_client, auditor):
    from core import context

    token = context.set_current(context.RequestContext(request_id="req-xyz", client_ip="10.1.1.1"))
    try:
        audit_record(action="test.alpha", actor=auditor)
    finally:
        context.reset(token)
    audit_record(action="test.beta")

    assert _actions(auditor_client.get(LIST, {"request_id": "req-xyz"})) == {"test.alpha"}


def test_given_an_invalid_time_then_the_error_is_shown_and_no_rows(auditor_client, events):
    response = auditor_client.get(LIST, {"occurred_after": "yesterday-ish"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "Fix the filters above" in html
    assert _actions(response) == set()


@pytest.mark.parametrize("cursor", ["\u00b2", "-1", "abc", "9" * 30])
def test_given_a_malformed_page_cursor_then_it_is_ignored_not_a_server_error(auditor_client, events, cursor):
    # "²" passes str.isdigit() but not int(): it was a 500.
    for name in ("before", "after"):
        assert auditor_client.get(LIST, {name: cursor}).status_code == 200


def test_given_no_match_then_a_clear_empty_state_offers_to_clear_filters(auditor_client, events):
    html = auditor_client.get(LIST, {"action": "nothing.like.this"}).content.decode()

    assert "No audit events match these filters." in html
    assert "Clear filters" in html


def test_given_more_events_than_a_page_then_older_and_newer_links_walk_the_trail(auditor_client):
    created = [audit_record(action="test.page", parameters={"n": n}).pk for n in range(PAGE_SIZE + 5)]

    first = auditor_client.get(LIST, {"action": "test.page"})
    first_ids = [e.pk for e in first.context["page"].events]
    assert first_ids == created[::-1][:PAGE_SIZE]
    assert first.context["newer_query"] == ""
    older_query = first.context["older_query"]
    assert "action=test.page" in older_query

    second = auditor_client.get(f"{LIST}?{older_query}")
    assert [e.pk for e in second.context["page"].events] == created[::-1][PAGE_SIZE:]
    assert second.context["older_query"] == ""

    back = auditor_client.get(f"{LIST}?{second.context['newer_query']}")
    assert [e.pk for e in back.context["page"].events] == first_ids


# --- detail ------------------------------------------------------------------------------


def test_given_an_event_then_its_detail_shows_payloads_and_chain_fields(auditor_client):
    event = audit_record(
        action="test.detail",
        before={"limit": Decimal("1000000.50")},
        after={"limit": Decimal("2000000.00")},
        parameters={"confidence": 0.99},
        explanation={"top_feature": "order_to_trade_ratio"},
        inputs_hash="ab" * 32,
        code_version="1.2.3+abc",
    )

    response = auditor_client.get(reverse("audit:event_detail", args=[event.pk]))

    html = unescape(response.content.decode())
    assert response.status_code == 200
    for text in ('"1000000.50"', '"2000000.00"', '"confidence": 0.99', "order_to_trade_ratio", "ab" * 32, "1.2.3+abc"):
        assert text in html
    assert event.hash in html and event.prev_hash in html
    assert "verifies" in html


@pytest.mark.audit_tamper
def test_given_an_altered_event_then_its_detail_says_it_does_not_verify(auditor_client):
    event = audit_record(action="test.detail")
    tamper("UPDATE audit_auditevent SET actor_name = 'someone' WHERE id = %s", [event.pk])

    html = auditor_client.get(reverse("audit:event_detail", args=[event.pk])).content.decode()

    assert "does not verify" in html


def test_given_a_missing_event_then_detail_is_404(auditor_client):
    assert auditor_client.get(reverse("audit:event_detail", args=[999999])).status_code == 404


# --- CSV export --------------------------------------------------------------------------


def test_given_filters_then_the_csv_holds_exactly_the_filtered_events_oldest_first(auditor_client, events):
    response = auditor_client.get(EXPORT, {"object_type": "portfolios.trade"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-events-')
    rows = _csv(response)
    assert [r["action"] for r in rows] == ["test.beta", "other.gamma"]
    gamma = rows[1]
    assert list(gamma) == list(CSV_COLUMNS)
    assert gamma["id"] == str(events["gamma"].pk)
    assert gamma["actor_name"] == "rita"
    assert gamma["object_id"] == "42"
    assert gamma["hash"] == events["gamma"].hash
    assert gamma["prev_hash"] == events["beta"].hash
    assert gamma["occurred_at"] == events["gamma"].occurred_at.isoformat(timespec="microseconds")


def test_the_csv_writes_json_compactly_and_defuses_formulas(auditor_client):
    audit_record(action="test.csv", object_repr='=HYPERLINK("http://evil")', parameters={"b": Decimal("1.50"), "a": 1})

    [row] = _csv(auditor_client.get(EXPORT, {"action": "test.csv"}))

    assert row["parameters"] == '{"a":1,"b":"1.50"}'
    assert row["object_repr"] == '\'=HYPERLINK("http://evil")'
    assert row["before"] == ""


def test_the_export_is_itself_audited_and_excluded_from_its_own_file(auditor_client, auditor, events):
    rows = _csv(auditor_client.get(EXPORT, {"actor": "rita"}))

    assert len(rows) == 2
    export = AuditEvent.objects.get(action="audit.export")
    assert export.actor_id == auditor.pk
    assert export.parameters == {"actor": "rita"}
    second = {r["id"] for r in _csv(auditor_client.get(EXPORT))}
    assert str(export.pk) in second  # the first export, recorded before the second started
    assert str(AuditEvent.objects.filter(action="audit.export").latest("id").pk) not in second


def test_given_an_invalid_filter_then_the_export_answers_400(auditor_client):
    response = auditor_client.get(EXPORT, {"occurred_before": "not a time"})

    assert response.status_code == 400
    assert "occurred_before" in response.content.decode()


# --- chain verification ------------------------------------------------------------------


def test_given_an_intact_chain_then_the_verify_button_reports_it(auditor_client, events):
    response = auditor_client.post(VERIFY, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Chain intact" in html
    assert "<html" not in html  # the htmx fragment only


@pytest.mark.audit_tamper
def test_given_a_broken_chain_then_the_verify_page_names_the_row(auditor_client, events):
    tamper("UPDATE audit_auditevent SET object_id = '43' WHERE id = %s", [events["beta"].pk])

    response = auditor_client.post(VERIFY)  # without htmx: the full page

    html = response.content.decode()
    assert "Chain broken" in html
    assert f"#{events['beta'].pk}" in html
    assert "<html" in html


def test_the_verify_button_is_on_the_list_page_and_needs_post(auditor_client):
    html = auditor_client.get(LIST).content.decode()

    assert f'hx-post="{VERIFY}"' in html
    assert auditor_client.get(VERIFY).status_code == 405
