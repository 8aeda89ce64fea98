"""The wealth pages in a real browser, on the small wealth demo (``load_demo --small`` then
``wealth_demo_setup --small``: six generated clients with lots, goals, plans and a first scan).

An advisor logs in, sees the clients needing attention, opens one, answers the risk
questionnaire (the first question with the keyboard, the rest with clicks), sees the new
profile, proposes an allocation and sees it on the efficient frontier, then accepts it with a
note. Screenshots land in var/screenshots/wealth-*.png (git-ignored) for a human to look at.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from core.roles import Role
from tests.e2e.conftest import PASSWORD
from wealth.engine.profiling import DEFAULT_QUESTIONNAIRE
from wealth.models import Recommendation, RiskProfile

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def demo(make_user):
    advisor = make_user(Role.WEALTH_ADVISOR)  # the demo's advisor ("wealth_advisor")
    call_command("load_demo", "--small", "--password", PASSWORD, stdout=io.StringIO())
    call_command("wealth_demo_setup", "--small", stdout=io.StringIO())
    return advisor


def test_given_the_demo_when_advisor_profiles_a_client_and_accepts_an_allocation_then_pages_follow(
    page, live_server, log_in, screenshot, demo
):
    log_in("wealth_advisor")
    page.goto(f"{live_server.url}/wealth/")
    expect(page.get_by_role("heading", name="Your clients")).to_be_visible()
    expect(page.locator("#wealth-kpis")).to_contain_text("Needing attention")
    rows = page.locator("#attention-table tbody tr")
    expect(rows.first.locator("a")).to_be_visible()
    screenshot("wealth-dashboard")

    rows.first.locator("a").click()
    expect(page.locator("#profile")).to_be_visible()
    expect(page.locator("figure.fan .js-plotly-plot").first).to_be_visible(timeout=15_000)
    screenshot("wealth-client")

    # The questionnaire: question 1 by keyboard (Tab into the group, arrows choose), the rest by clicks.
    page.locator("#profile a[href$='/questionnaire/']").click()
    expect(page.get_by_role("heading", name="Risk questionnaire")).to_be_visible()
    first = DEFAULT_QUESTIONNAIRE[0]
    page.locator(f"#q-{first['code']} input[type=radio]").first.focus()
    page.keyboard.press("ArrowDown")  # moves to and selects the second choice
    expect(page.locator(f"#id_{first['code']}_1")).to_be_checked()
    for q in DEFAULT_QUESTIONNAIRE[1:]:
        top = max(q["choices"], key=lambda c: c["points"])
        page.locator(f"#q-{q['code']}").get_by_text(top["label"], exact=True).click()
    screenshot("wealth-questionnaire")
    page.get_by_role("button", name="Save answers and score the profile").click()

    expect(page.locator(".messages")).to_contain_text("Risk profile saved")
    profile = RiskProfile.objects.order_by("-id").first()
    expect(page.locator("#profile-name")).to_be_visible()
    expect(page.locator("#profile")).to_contain_text(f"score {profile.score:.0f} of 100")
    screenshot("wealth-profile")

    # Propose an allocation and see it on the frontier.
    form = page.locator("#allocation-form")
    form.get_by_label("Objective").select_option("max_sharpe")
    form.get_by_label("Expected returns").select_option("historical")
    form.get_by_role("button", name="Propose").click()
    expect(page.locator(".messages")).to_contain_text("Allocation proposed")
    expect(page.locator("#frontier-chart .js-plotly-plot")).to_be_visible(timeout=15_000)
    assert page.locator("#frontier-chart svg.main-svg").count() >= 1
    expect(page.locator("#weights-table tbody tr").first).to_be_visible()
    screenshot("wealth-frontier")

    # Accept it with a note: the decision shows who and when.
    rec = Recommendation.objects.filter(kind="allocation", status="proposed").order_by("-id").first()
    decision = page.locator(f"#rec-{rec.pk}")
    decision.get_by_label("Accept · Note (optional)").fill("Discussed with the client on the phone.")
    decision.get_by_role("button", name="Accept").click()
    expect(page.locator(".messages")).to_contain_text("accepted")
    expect(page.locator(f"#rec-{rec.pk}")).to_contain_text("by wealth_advisor")
    expect(page.locator(f"#rec-{rec.pk}")).to_contain_text("Discussed with the client on the phone.")
    rec.refresh_from_db()
    assert rec.status == "accepted" and rec.decided_by.username == "wealth_advisor"
    screenshot("wealth-accepted")
