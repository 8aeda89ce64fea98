"""The risk pages in a real browser: a risk officer opens a portfolio with no risk figures,
presses Run now, watches the progress bar reach succeeded, and the page comes back with its
charts drawn; the desk overview then shows the portfolio's VaR.

Screenshots land in var/screenshots/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.roles import Role
from riskapp.models import RiskRun
from tests.riskapp.books import priced_book

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# No liquidity chart: the test book has no volumes or tape to measure ADV from.
CHARTS = ("backtest", "methods", "components", "stress", "factors", "sector", "regime")


def test_given_a_book_without_figures_when_run_now_then_progress_succeeds_and_charts_render(
    page, live_server, log_in, screenshot, make_user, desk
):
    priced_book(desk)
    make_user(Role.RISK_OFFICER)
    log_in("risk_officer")
    page.goto(f"{live_server.url}/risk/portfolios/RISK-BOOK/")
    expect(page.get_by_role("heading", name="No risk figures yet")).to_be_visible()

    page.get_by_role("button", name="Run now").click()

    # Tasks run eagerly in test settings; the partial shows the finished run, then the page reloads.
    run = page.locator("#run-slot .run")
    expect(run.locator(".status")).to_have_text("succeeded", timeout=30_000)
    expect(run.locator(".bar span")).to_have_attribute("style", "width: 100%")
    expect(page.locator("#backtest-chart .js-plotly-plot")).to_be_visible(timeout=15_000)
    for chart in CHARTS:
        expect(page.locator(f"#{chart}-chart .js-plotly-plot")).to_be_visible()
    expect(page.locator("#method-table tbody tr")).to_have_count(9)
    expect(page.locator("#stress-table")).to_contain_text("2022 rate shock")
    run_row = RiskRun.objects.get()
    assert run_row.calculation.status == "succeeded"
    expect(page.locator(".run-meta")).to_contain_text(run_row.inputs_hash[:12])
    screenshot("risk-portfolio")

    # The export menu opens without a script and offers the report.
    page.get_by_text("Export", exact=True).click()
    expect(page.get_by_role("link", name="Daily risk report (PDF)")).to_be_visible()

    # Then the desk overview lists the book with its VaR and the comparison chart.
    page.get_by_role("link", name="‹ All portfolios").click()
    expect(page.locator("table.risk-overview")).to_contain_text("RISK-BOOK")
    expect(page.locator("#overview-chart .js-plotly-plot")).to_be_visible()
    screenshot("risk-overview")


def test_given_an_auditor_then_the_portfolio_page_has_no_run_button(page, live_server, log_in, make_user, desk):
    priced_book(desk)
    make_user(Role.AUDITOR)
    log_in("auditor")
    page.goto(f"{live_server.url}/risk/portfolios/RISK-BOOK/")
    expect(page.get_by_role("heading", name="No risk figures yet")).to_be_visible()
    expect(page.get_by_role("button", name="Run now")).to_have_count(0)
