"""The best-execution pages in a real browser.

A seeded synthetic book (four instruments over three days, 120 parent orders) is analysed, a cost
model is trained on it and the book analysed again, so every page has its figures. An analyst
opens the TCA dashboard and sees its charts drawn, opens an order and sees its fills over the
quote, looks at the league tables, asks for a pre-trade estimate and sees the schedule, then
reads the model card (without a retrain button: that is for supervisors).

Screenshots land in var/screenshots/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.roles import Role
from execution_quality.models import TcaOrderResult
from execution_quality.services import cost_model_train, tca_run_create
from tests.execution_quality.synthetic_book import synthetic_book_build

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DASHBOARD_CHARTS = ("histogram", "size", "venue", "broker", "hour")


def _analysed_book(desk, user) -> None:
    synthetic_book_build(desk)
    # No surrounding transaction here: each run is dispatched on commit and runs eagerly.
    tca_run_create(user=user)
    cost_model_train(user=user)
    tca_run_create(user=user, order_ids=list(TcaOrderResult.objects.values_list("order_id", flat=True)))


def test_given_an_analysed_book_then_dashboard_order_reports_and_pretrade_draw_their_charts(
    page, live_server, log_in, screenshot, make_user, desk, settings
):
    # A tighter margin than the default 25 bps: a model trained on this small book fits it closely,
    # and the page should still have poor executions to list.
    settings.TCA_POOR_MARGIN_BPS = 5.0
    analyst = make_user(Role.COMPLIANCE_ANALYST, username="analyst")
    _analysed_book(desk, analyst)
    assert TcaOrderResult.objects.exclude(model_version="").count() > 100

    log_in("analyst")
    page.goto(f"{live_server.url}/execution/")
    for chart in DASHBOARD_CHARTS:
        expect(page.locator(f"#{chart}-chart .js-plotly-plot")).to_be_visible(timeout=15_000)
    assert page.locator("#histogram-chart svg.main-svg").count() >= 1
    expect(page.locator("#tca-tiles")).to_contain_text("parent orders")
    screenshot("tca-dashboard")

    page.locator("#orders-table tbody tr").first.get_by_role("link").click()
    expect(page.locator("#fills-chart .js-plotly-plot")).to_be_visible(timeout=15_000)
    assert page.locator("#fills-chart svg.main-svg").count() >= 1
    expect(page.locator("#shap-chart .js-plotly-plot")).to_be_visible()
    expect(page.locator("#benchmarks-table")).to_contain_text("Interval VWAP")
    screenshot("tca-order")

    page.get_by_role("link", name="‹ TCA dashboard").click()
    page.get_by_role("link", name="Venue & broker reports").click()
    expect(page.locator("#venue-league-chart .js-plotly-plot")).to_be_visible(timeout=15_000)
    expect(page.locator("#venue-table tbody tr")).to_have_count(6)
    screenshot("tca-reports")

    page.get_by_role("link", name="Pre-trade estimate").click()
    page.get_by_label("Instrument").fill("SYN1")
    page.get_by_label("Quantity").fill("20000")
    page.get_by_role("button", name="Estimate").click()
    expect(page.locator("#schedule-chart .js-plotly-plot")).to_be_visible(timeout=15_000)
    expect(page.locator("#estimate-tiles")).to_contain_text("Square-root law")
    screenshot("tca-pretrade")

    page.get_by_role("link", name="Cost models").click()
    expect(page.locator(".model-card.active")).to_contain_text("MAE (bps)")
    expect(page.get_by_role("button", name="Retrain now")).to_have_count(0)  # analysts do not retrain
    screenshot("tca-models")
