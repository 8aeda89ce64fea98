"""The surveillance pages in a real browser.

An analyst opens the queue, opens a high-score spoofing alert, sees the market replay drawn,
starts the review, tries to close without a rationale (the form says why not), proposes the
closing with one; the proposer is offered no approval. A supervisor then approves and the alert
shows closed. A second test draws the case page and the dashboard with data, and runs a sweep
from the dashboard, watching its progress bar.

Screenshots land in var/screenshots/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.roles import Role
from surveillance.models import Alert
from tests.surveillance.scenes import busy_queue, open_case, spoofing_alert

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_given_high_score_alert_when_analyst_proposes_and_supervisor_approves_then_closed(
    page, live_server, log_in, screenshot, make_user, desk
):
    analyst = make_user(Role.COMPLIANCE_ANALYST, username="analyst")
    supervisor = make_user(Role.COMPLIANCE_SUPERVISOR, username="supervisor")
    alert = spoofing_alert(desk, score=86.0)
    busy_queue(desk, users=[analyst, supervisor])

    log_in("analyst")
    page.goto(f"{live_server.url}/surveillance/")
    queue = page.locator("#alert-queue")
    expect(queue).to_contain_text(f"#{alert.pk} Spoofing")
    expect(queue.locator(".pending")).to_have_count(1)  # the busy queue's pending four-eyes proposal
    screenshot("surveillance-queue")

    queue.get_by_role("link", name=f"#{alert.pk} Spoofing").click()
    expect(page.locator("#replay-chart .js-plotly-plot")).to_be_visible(timeout=15_000)
    assert page.locator("#replay-chart svg.main-svg").count() >= 1
    expect(page.locator("#evidence-table tbody tr")).to_have_count(26)  # 12 orders: 24 events, 2 trades
    expect(page.locator("#action-chart .js-plotly-plot")).to_be_visible()
    screenshot("surveillance-alert")

    page.get_by_role("button", name="Start review").click()
    close_card = page.locator("#close-card")
    expect(close_card.get_by_role("button", name="Close alert")).to_have_count(0)  # four eyes: propose only
    close_card.get_by_role("button", name="Propose closing").click()
    expect(page.locator("#close-card .error")).to_contain_text("Required")
    assert Alert.objects.get(pk=alert.pk).proposed_outcome == ""

    page.locator("#close-card").get_by_label("Rationale").fill("Market making on the offer; desk head confirmed.")
    page.locator("#close-card").get_by_role("button", name="Propose closing").click()
    expect(page.locator(".messages")).to_contain_text("Closing proposed")
    expect(page.locator("#proposal")).to_contain_text("You proposed it")
    expect(page.get_by_role("button", name="Approve closing")).to_have_count(0)

    page.get_by_role("button", name="Log out").click()
    log_in("supervisor")
    page.goto(f"{live_server.url}/surveillance/alerts/{alert.pk}/")
    page.get_by_role("button", name="Approve closing").click()
    expect(page.locator(".messages")).to_contain_text("Proposal approved")
    expect(page.locator(".page-head .state")).to_have_text("Closed")
    closed = Alert.objects.get(pk=alert.pk)
    assert (closed.state, closed.outcome, closed.closed_by) == ("closed", "no_action", supervisor)


def test_given_a_case_and_a_busy_desk_then_case_page_and_dashboard_draw(
    page, live_server, log_in, screenshot, make_user, desk
):
    analyst = make_user(Role.COMPLIANCE_ANALYST, username="analyst")
    supervisor = make_user(Role.COMPLIANCE_SUPERVISOR, username="supervisor")
    alert = spoofing_alert(desk)
    busy_queue(desk, users=[analyst, supervisor])
    case = open_case(desk, [alert], user=analyst)

    log_in("analyst")
    page.goto(f"{live_server.url}/surveillance/cases/{case.pk}/")
    expect(page.locator("#case-alerts")).to_contain_text(f"#{alert.pk} Spoofing")
    expect(page.locator("#id_stor-person_name")).to_have_value("Jordan Pike")
    screenshot("surveillance-case")

    page.goto(f"{live_server.url}/surveillance/dashboard/")
    for chart in ("volume", "state", "ageing", "close"):
        expect(page.locator(f"#{chart}-chart .js-plotly-plot")).to_be_visible(timeout=15_000)

    # Tasks run eagerly in test settings: the partial shows the finished sweep, then the page reloads.
    page.get_by_role("button", name="Run sweep now").click()
    expect(page.locator("#sweep-slot .run .status")).to_have_text("succeeded", timeout=60_000)
    expect(page.locator("#runs-table tbody tr").first.locator("td").nth(1)).to_have_text("sweep", timeout=15_000)
    expect(page.locator("#volume-chart .js-plotly-plot")).to_be_visible(timeout=15_000)
    screenshot("surveillance-dashboard")
