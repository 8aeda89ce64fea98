"""Surveillance pages through the Django test client: the queue (filters, sorting, paging, bulk
assign, CSV), the alert page (evidence, replay and explanation charts, review actions with four
eyes), cases with their STOR downloads, the dashboard and sweep, detector parameters; auditors
read without forms and other desks' records are 404."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from surveillance.models import Alert, Case, DetectorConfig
from tests.factories import AccountFactory, AlertFactory
from tests.surveillance.scenes import anomaly_alert, open_case, spoofing_alert

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _ids(response) -> list[int]:
    """Alert ids of the queue rows, in page order."""
    return [int(i) for i in re.findall(r'href="/surveillance/alerts/(\d+)/"><strong>', response.content.decode())]


def _chart(html: str, chart_id: str) -> dict:
    match = re.search(rf'<figure class="chart" id="{chart_id}">.*?<script[^>]*>(.*?)</script>', html, re.S)
    assert match, chart_id
    return json.loads(match.group(1))


def _form_post(client, alert, action, **fields):
    prefix = {"propose_close": "close"}.get(action, action)
    data = {"action": action, **{f"{prefix}-{k}": v for k, v in fields.items()}}
    return client.post(f"/surveillance/alerts/{alert.pk}/act/", data)


@pytest.fixture
def account(desk):
    return AccountFactory(code="ACC-A", desk=desk)


# ---------------------------------------------------------------------------- queue


def test_given_alerts_when_filtering_scenario_and_score_then_only_matching_rows(desk, account, analyst):
    keep = AlertFactory(account=account, scenario="spoofing", score=85)
    AlertFactory(account=account, scenario="spoofing", score=40)
    AlertFactory(account=account, scenario="layering", score=90)

    response = _client(analyst).get("/surveillance/?scenario=spoofing&min_score=80&state=open")

    assert response.status_code == 200
    assert _ids(response) == [keep.pk]


def test_given_assignees_when_filtering_me_and_unassigned_then_each_listed(desk, account, analyst, supervisor):
    mine = AlertFactory(account=account, assignee=analyst)
    AlertFactory(account=account, assignee=supervisor)
    free = AlertFactory(account=account)
    client = _client(analyst)

    assert _ids(client.get("/surveillance/?assignee=me")) == [mine.pk]
    assert _ids(client.get("/surveillance/?assignee=none")) == [free.pk]


def test_given_first_visit_then_open_alerts_only_and_state_blank_shows_closed_too(desk, account, analyst):
    live = AlertFactory(account=account)
    done = AlertFactory(account=account, state="closed", outcome="no_action", closing_rationale="ok")
    client = _client(analyst)

    assert _ids(client.get("/surveillance/")) == [live.pk]
    assert set(_ids(client.get("/surveillance/?state="))) == {live.pk, done.pk}


def test_given_invalid_filters_then_errors_shown_and_other_filters_still_apply(desk, account, analyst):
    AlertFactory(account=account, scenario="layering")
    spoof = AlertFactory(account=account, scenario="spoofing")

    response = _client(analyst).get("/surveillance/?assignee=bob&min_score=abc&scenario=spoofing")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Give a user id, &#x27;me&#x27; or &#x27;none&#x27;." in html and "Enter a number." in html
    assert _ids(response) == [spoof.pk]


def test_given_sort_keys_then_likelihood_puts_unranked_last_and_age_oldest_first(desk, account, analyst):
    low = AlertFactory(account=account, score=90, action_probability=0.2)
    high = AlertFactory(account=account, score=30, action_probability=0.8)
    unranked = AlertFactory(account=account, score=60, action_probability=None)
    Alert.objects.filter(pk=unranked.pk).update(created_at=timezone.now() - timedelta(days=9))
    client = _client(analyst)

    assert _ids(client.get("/surveillance/?sort=likelihood")) == [high.pk, low.pk, unranked.pk]
    assert _ids(client.get("/surveillance/?sort=score")) == [low.pk, unranked.pk, high.pk]
    assert _ids(client.get("/surveillance/?sort=age"))[0] == unranked.pk
    assert _ids(client.get("/surveillance/?sort=nonsense")) == [low.pk, unranked.pk, high.pk]


def test_given_51_alerts_then_50_a_page_and_filters_kept_in_page_links(desk, account, analyst):
    AlertFactory.create_batch(51, account=account)
    client = _client(analyst)

    first = client.get("/surveillance/?state=open&sort=age")
    second = client.get("/surveillance/?state=open&sort=age&page=2")

    assert len(_ids(first)) == 50 and len(_ids(second)) == 1
    assert "?state=open&amp;sort=age&amp;page=2" in first.content.decode()


def test_given_no_alerts_then_empty_state_says_so(analyst):
    html = _client(analyst).get("/surveillance/").content.decode()
    assert "No open alerts on your desks." in html


def test_given_filters_when_exporting_csv_then_same_rows_and_formula_text_neutralised(desk, analyst):
    risky = AccountFactory(code="=HYPERLINK(1)", desk=desk)
    keep = AlertFactory(account=risky, scenario="spoofing", score=75, summary="+cmd")
    AlertFactory(account=risky, scenario="layering")

    response = _client(analyst).get("/surveillance/alerts.csv?scenario=spoofing")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["id"]) for r in rows] == [keep.pk]
    assert rows[0]["account"] == "'=HYPERLINK(1)" and rows[0]["summary"] == "'+cmd"
    assert rows[0]["score"] == "75.00" and rows[0]["action_probability"] == ""


# ---------------------------------------------------------------------------- bulk assign


def test_given_ticked_alerts_when_bulk_assigning_then_all_assigned(desk, account, analyst, supervisor):
    a, b = AlertFactory(account=account), AlertFactory(account=account)

    response = _client(analyst).post(
        "/surveillance/alerts/assign/", {"alerts": [a.pk, b.pk], "assignee": supervisor.pk, "q": "state=open"}
    )

    assert response.status_code == 302 and response["Location"] == "/surveillance/?state=open"
    assert set(Alert.objects.values_list("assignee", flat=True)) == {supervisor.pk}


def test_given_a_closed_alert_among_ticked_when_bulk_assigning_then_none_assigned_and_error(
    desk, account, analyst, supervisor
):
    live = AlertFactory(account=account)
    done = AlertFactory(account=account, state="closed", outcome="no_action", closing_rationale="ok")

    response = _client(analyst).post(
        "/surveillance/alerts/assign/", {"alerts": [live.pk, done.pk], "assignee": supervisor.pk}
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "Nothing assigned. Closed alerts cannot be assigned." in html and f"#{done.pk}" in html
    assert f'value="{live.pk}" aria-label="Select alert {live.pk}" checked' in html  # the ticks are kept
    assert not Alert.objects.filter(assignee__isnull=False).exists()


def test_given_another_desks_alert_in_bulk_then_refused_as_not_in_queue(desk, other_desk, account, analyst):
    foreign = AlertFactory(account=AccountFactory(code="ACC-X", desk=other_desk))
    mine = AlertFactory(account=account)

    response = _client(analyst).post(
        "/surveillance/alerts/assign/", {"alerts": [mine.pk, foreign.pk], "assignee": analyst.pk}
    )

    assert response.status_code == 400
    assert f"Alert {foreign.pk} is not in your queue." in response.content.decode()
    assert not Alert.objects.filter(assignee__isnull=False).exists()


# ---------------------------------------------------------------------------- alert page


def test_given_spoofing_alert_when_opened_then_evidence_in_ms_and_replay_figure(desk, analyst):
    alert = spoofing_alert(desk)

    html = _client(analyst).get(f"/surveillance/alerts/{alert.pk}/").content.decode()

    assert "2024-03-14 14:30:05.120" in html and "T-SPOOF-1" in html  # order events to the ms, fills
    assert html.count('<span class="ev cancel">') == 10 and "Jordan Pike" in html
    figure = _chart(html, "replay-chart")
    traces = {t["name"]: t for t in figure["data"]}
    assert set(traces) == {"Best bid", "Best ask", "Tape", "Buy order", "Sell order", "New", "Cancel", "Fill"}
    assert traces["Best bid"]["line"]["shape"] == "hv" and traces["Best ask"]["line"]["shape"] == "hv"
    assert len(set(traces["Tape"]["marker"]["size"])) > 1  # sized by quantity
    assert traces["Cancel"]["marker"]["symbol"] == "x" and traces["Fill"]["marker"]["symbol"] == "star"
    assert len(traces["Cancel"]["x"]) == 10 and len(traces["Fill"]["x"]) == 2
    assert traces["Buy order"]["line"]["color"] != traces["Sell order"]["line"]["color"]
    # Ten sell orders rest from new to cancel: ten segments (two points and a gap each).
    assert len(traces["Sell order"]["x"]) == 30
    assert figure["layout"]["xaxis"]["range"] == ["2024-03-14T14:29:30.000", "2024-03-14T14:32:00.000"]
    action = _chart(html, "action-chart")["data"][0]
    assert action["y"][0] == "score" and "Base value -0.31 (log-odds" in html


def test_given_anomaly_alert_then_shap_bars_sorted_by_magnitude_with_base_value(desk, analyst):
    alert = anomaly_alert(desk)

    html = _client(analyst).get(f"/surveillance/alerts/{alert.pk}/").content.decode()

    bars = _chart(html, "shap-chart")["data"][0]
    assert bars["y"] == ["order_to_trade_ratio", "after_hours_share", "distinct_instruments", "cancel_ratio",
                         "avg_order_size_z"]  # fmt: skip
    assert bars["x"][2] == -0.12 and "Base value 0.42 (anomaly score)" in html
    assert 'id="replay-chart"' not in html and 'id="action-chart"' not in html


def test_given_new_alert_when_start_review_then_in_review_and_assigned_to_reviewer(desk, account, analyst):
    alert = AlertFactory(account=account)
    client = _client(analyst)

    response = client.post(f"/surveillance/alerts/{alert.pk}/act/", {"action": "start_review"})

    alert.refresh_from_db()
    assert response.status_code == 302 and (alert.state, alert.assignee) == ("in_review", analyst)
    again = client.post(f"/surveillance/alerts/{alert.pk}/act/", {"action": "start_review"}, follow=True)
    assert "Cannot start reviewing alert" in again.content.decode()


def test_given_high_score_when_closing_then_rationale_and_four_eyes_are_form_errors(desk, account, analyst):
    alert = AlertFactory(account=account, score=88, state="in_review", assignee=analyst)
    client = _client(analyst)

    blank = _form_post(client, alert, "propose_close", outcome="no_action", rationale="  ")
    direct = _form_post(client, alert, "close", outcome="no_action", rationale="Looked fine.")

    assert blank.status_code == 400 and "Required: say why." in blank.content.decode()
    assert direct.status_code == 400 and "needs four eyes" in direct.content.decode()
    alert.refresh_from_db()
    assert (alert.state, alert.proposed_outcome) == ("in_review", "")


def test_given_proposal_when_proposer_approves_then_refused_and_another_supervisor_closes(
    desk, account, supervisor, supervisor2
):
    alert = AlertFactory(account=account, score=88, state="in_review")
    proposer = _client(supervisor)
    assert (
        _form_post(proposer, alert, "propose_close", outcome="informal_action", rationale="Warned.").status_code == 302
    )

    page = proposer.get(f"/surveillance/alerts/{alert.pk}/").content.decode()
    own = _form_post(proposer, alert, "approve", rationale="")
    assert "Approve closing" not in page and "You proposed it" in page
    assert own.status_code == 400 and "You proposed this closure: another supervisor must approve it." in (
        own.content.decode()
    )

    other = _form_post(_client(supervisor2), alert, "approve", rationale="Agreed.")

    alert.refresh_from_db()
    assert other.status_code == 302
    assert (alert.state, alert.outcome, alert.closed_by) == ("closed", "informal_action", supervisor2)


def test_given_low_score_when_closed_directly_then_closed_with_history(desk, account, analyst):
    alert = AlertFactory(account=account, score=30, state="in_review")
    client = _client(analyst)

    response = _form_post(client, alert, "close", outcome="no_action", rationale="Hedge of a client order.")

    alert.refresh_from_db()
    assert response.status_code == 302 and alert.state == "closed"
    html = client.get(f"/surveillance/alerts/{alert.pk}/").content.decode()
    assert "Hedge of a client order." in html and 'name="action" value="close"' not in html


def test_given_wrong_state_action_then_conflict_is_a_form_error_not_a_server_error(desk, account, analyst):
    alert = AlertFactory(account=account)  # new: cannot be escalated yet

    response = _form_post(_client(analyst), alert, "escalate", rationale="Looks bad.")

    assert response.status_code == 400 and "Cannot escalate alert" in response.content.decode()


def test_given_alert_when_commenting_and_opening_a_case_then_recorded_and_case_page_shown(desk, account, analyst):
    alert = AlertFactory(account=account)
    client = _client(analyst)

    assert _form_post(client, alert, "comment", body="Called the desk.").status_code == 302
    response = _form_post(client, alert, "case_new", title="Desk review", description="")

    alert.refresh_from_db()
    assert alert.comments.get().body == "Called the desk."
    assert response.status_code == 302 and response["Location"] == f"/surveillance/cases/{alert.case_id}/"


def test_given_auditor_then_pages_have_no_forms_and_posts_are_403(desk, auditor, analyst):
    alert = spoofing_alert(desk)
    case = open_case(desk, [alert], user=analyst)
    client = _client(auditor)

    queue = client.get("/surveillance/").content.decode()
    page = client.get(f"/surveillance/alerts/{alert.pk}/").content.decode()
    case_page = client.get(f"/surveillance/cases/{case.pk}/").content.decode()

    assert f"#{alert.pk} Spoofing" in queue and "bulk-form" not in queue
    assert 'id="replay-chart"' in page and "Read-only" in page and 'name="action"' not in page
    assert "Read-only" in case_page and "stor-form" not in case_page
    assert client.post(f"/surveillance/alerts/{alert.pk}/act/", {"action": "start_review"}).status_code == 403
    assert client.post(f"/surveillance/cases/{case.pk}/act/", {"action": "file"}).status_code == 403


def test_given_other_desks_alert_and_case_then_404(other_desk, analyst):
    foreign = AlertFactory(account=AccountFactory(code="ACC-X", desk=other_desk))
    case = Case.objects.create(reference="CASE-X", title="x", desk=other_desk)
    client = _client(analyst)

    assert client.get(f"/surveillance/alerts/{foreign.pk}/").status_code == 404
    assert client.post(f"/surveillance/alerts/{foreign.pk}/act/", {"action": "start_review"}).status_code == 404
    for suffix in ("", "stor.pdf", "stor.json", "stor.xml"):
        assert client.get(f"/surveillance/cases/{case.pk}/{suffix}").status_code == 404, suffix
    assert client.post(f"/surveillance/cases/{case.pk}/act/", {"action": "file"}).status_code == 404


# ---------------------------------------------------------------------------- cases


def test_given_case_when_analyst_edits_stor_then_saved_and_downloads_carry_it(desk, analyst):
    alert = spoofing_alert(desk)
    case = open_case(desk, [alert], user=analyst)
    client = _client(analyst)

    response = client.post(f"/surveillance/cases/{case.pk}/stor/", {"stor-entity_name": "Vigil Securities <Ltd>"})

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.stor["entity_name"] == "Vigil Securities <Ltd>"
    pdf = client.get(f"/surveillance/cases/{case.pk}/stor.pdf")
    js = client.get(f"/surveillance/cases/{case.pk}/stor.json")
    xml = client.get(f"/surveillance/cases/{case.pk}/stor.xml")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert js["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(js.content)["section_1_submitter"]["entity_name"] == "Vigil Securities <Ltd>"
    assert xml["Content-Type"] == "application/xml; charset=utf-8" and "attachment" in xml["Content-Disposition"]
    root = ET.fromstring(xml.content)  # noqa: S314 - the document is our own output
    assert root.find("section_1_submitter/entity_name").text == "Vigil Securities <Ltd>"


def test_given_proposed_stor_when_proposer_files_then_refused_and_other_supervisor_files(
    desk, analyst, supervisor, supervisor2
):
    alert = spoofing_alert(desk)
    case = open_case(desk, [alert], user=analyst)
    blank = _client(supervisor).post(
        f"/surveillance/cases/{case.pk}/act/", {"action": "propose", "propose-rationale": ""}
    )
    assert blank.status_code == 400 and "Required: say why." in blank.content.decode()
    _client(supervisor).post(
        f"/surveillance/cases/{case.pk}/act/", {"action": "propose", "propose-rationale": "Clear."}
    )

    own = _client(supervisor).post(f"/surveillance/cases/{case.pk}/act/", {"action": "file"}, follow=True)
    assert "Not filed: You proposed this STOR" in own.content.decode()
    _client(supervisor2).post(f"/surveillance/cases/{case.pk}/act/", {"action": "file"})

    case.refresh_from_db()
    alert.refresh_from_db()
    assert (case.stor_status, case.state) == ("filed", "closed")
    assert (alert.state, alert.outcome) == ("closed", "stor_filed")


# ---------------------------------------------------------------------------- dashboard, detectors


def test_given_alerts_then_dashboard_draws_and_sweep_answers_the_progress_partial(desk, account, analyst):
    AlertFactory(account=account, scenario="spoofing")
    closed = AlertFactory(account=account, state="closed", outcome="no_action", closing_rationale="ok")
    Alert.objects.filter(pk=closed.pk).update(closed_at=timezone.now())
    client = _client(analyst)

    html = client.get("/surveillance/dashboard/?days=7").content.decode()
    partial = client.post("/surveillance/sweep/", HTTP_HX_REQUEST="true")

    for chart in ("volume", "state", "ageing", "close"):
        assert f'id="{chart}-chart"' in html, chart
    assert partial.status_code == 200 and 'class="run ' in partial.content.decode()
    assert "surveillance.sweep" in partial.content.decode()


def test_given_supervisor_when_parameter_out_of_bounds_then_field_error_and_nothing_saved(supervisor):
    response = _client(supervisor).post(
        "/surveillance/detectors/spoofing/", {"enabled": "on", "min_size_ratio": "0.5", "max_life_s": "abc"}
    )

    html = response.content.decode()
    assert response.status_code == 400 and "Enter a number." in html
    assert not DetectorConfig.objects.exists()
    response = _client(supervisor).post("/surveillance/detectors/spoofing/", {"enabled": "on", "min_size_ratio": "0.5"})
    assert response.status_code == 400 and "Must be between 1 and 1000 ×." in response.content.decode()


def test_given_supervisor_when_saving_then_only_typed_values_stored_and_restore_clears(supervisor):
    client = _client(supervisor)

    saved = client.post("/surveillance/detectors/spoofing/", {"enabled": "on", "max_life_s": "12"})
    listing = client.get("/surveillance/detectors/").content.decode()
    config = DetectorConfig.objects.get(scenario="spoofing")
    restored = client.post("/surveillance/detectors/spoofing/", {"restore": "1"})

    assert saved.status_code == 302 and config.parameters == {"max_life_s": 12.0}
    assert "max_life_s = 12" in listing and 'class="chip mono changed"' in listing
    config.refresh_from_db()
    assert restored.status_code == 302 and (config.parameters, config.version) == ({}, 2)


def test_given_analyst_then_detector_page_read_only_and_post_403(analyst):
    client = _client(analyst)

    html = client.get("/surveillance/detectors/spoofing/").content.decode()

    assert "Save parameters" not in html and "disabled" in html and "Read-only" in html
    assert client.post("/surveillance/detectors/spoofing/", {"max_life_s": "12"}).status_code == 403
    assert client.get("/surveillance/detectors/no_such/").status_code == 404
