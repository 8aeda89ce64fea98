"""The web shell in a real browser: log in, home counts and navigation, the portfolio chart,
an end-of-day snapshot run to completion, log out; and a failed log-in.

Screenshots land in var/screenshots/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from core.roles import Role
from portfolios.models import Position
from tests.factories import (
    AccountFactory,
    InstrumentFactory,
    PortfolioFactory,
    PositionFactory,
    PriceBarFactory,
    TradeFactory,
)

# serialized_rollback: the live server needs committed data (a transactional test), and the
# flush after such a test would otherwise also delete the role groups created by migrations.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LAST_DAY = date(2022, 12, 30)


@pytest.fixture
def book(desk):
    """A portfolio on the desk: two opening positions, three fills on the last day, closes."""
    portfolio = PortfolioFactory(code="GLB-EQ", name="Global equity", desk=desk, nav=Decimal("25000000"))
    account = AccountFactory(code="GLB-EQ-A", desk=desk, portfolio=portfolio)
    aapl = InstrumentFactory(symbol="AAPL", name="Apple Inc.")
    msft = InstrumentFactory(symbol="MSFT", name="Microsoft Corp.")
    PositionFactory(portfolio=portfolio, instrument=aapl, as_of=date(2022, 12, 29), quantity=Decimal(1000))
    PositionFactory(portfolio=portfolio, instrument=msft, as_of=date(2022, 12, 29), quantity=Decimal(-400))
    for inst, close in ((aapl, "129.93"), (msft, "239.82")):
        PriceBarFactory(instrument=inst, date=LAST_DAY, close=Decimal(close), adj_close=Decimal(close))
    for minute in range(3):
        TradeFactory(account=account, instrument=aapl, ts=datetime(2022, 12, 30, 15, minute, tzinfo=UTC))
    return portfolio


def _tile(page, label: str):
    return page.locator(".tile", has=page.locator(".l", has_text=re.compile(f"^{label}$")))


def test_given_a_risk_officer_when_logging_in_then_home_nav_chart_and_log_out_work(
    page, live_server, log_in, screenshot, make_user, book
):
    make_user(Role.RISK_OFFICER, first_name="Rita")

    # When the risk officer logs in through the form, then the home page greets them.
    log_in("risk_officer")
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rita")

    # Then the counts are those of the desk ...
    expect(_tile(page, "portfolios").locator(".n")).to_have_text("1")
    expect(_tile(page, "executions").locator(".n")).to_have_text("3")
    # ... and stay live: a new execution shows up when the counts partial refreshes.
    TradeFactory(
        account=book.accounts.get(),
        instrument=InstrumentFactory(symbol="AAPL"),
        ts=datetime(2022, 12, 30, 16, tzinfo=UTC),
    )
    page.evaluate("htmx.ajax('GET', '/home/counts/', {target: '#counts', swap: 'innerHTML'})")
    expect(_tile(page, "executions").locator(".n")).to_have_text("4")
    expect(page.locator("#executions-per-day .js-plotly-plot")).to_be_visible()

    # Then the navigation offers the role's areas only.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(["Home", "Risk", "Best execution"])
    for hidden in ("Audit", "Wealth", "Surveillance"):
        expect(nav.get_by_role("link", name=hidden)).to_have_count(0)
    screenshot("home")

    # When they open the portfolio from the list, then the positions chart is drawn by plotly.
    _tile(page, "portfolios").click()
    page.get_by_role("link", name="GLB-EQ").click()
    expect(page).to_have_url(f"{live_server.url}/portfolios/GLB-EQ/")
    expect(page.locator("#positions-chart .js-plotly-plot")).to_be_visible()
    expect(page.locator("#positions-chart .bars path")).to_have_count(2)
    expect(page.locator("table.grid tbody tr")).to_have_count(2)
    screenshot("portfolio")

    # When they log out, then they are back on the login form and pages need a login again.
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_given_a_wrong_password_when_logging_in_then_the_form_shows_an_error(
    page, live_server, log_in, screenshot, make_user
):
    make_user(Role.RISK_OFFICER)

    log_in("risk_officer", "not-the-password")

    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page.get_by_label("Username")).to_have_value("risk_officer")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    screenshot("login-error")


def test_given_a_portfolio_when_a_snapshot_is_started_then_the_progress_bar_reaches_succeeded(
    page, live_server, log_in, screenshot, make_user, book
):
    make_user(Role.RISK_OFFICER)
    log_in("risk_officer")
    page.goto(f"{live_server.url}/portfolios/GLB-EQ/")
    date_input = page.get_by_label("As of (UTC date)")
    expect(date_input).to_have_value("2022-12-30")

    page.get_by_role("button", name="Snapshot now").click()

    # Tasks run eagerly in test settings; the partial polls the run until it has finished.
    run = page.locator("#snapshot-run .run")
    expect(run.locator(".status")).to_have_text("succeeded", timeout=15_000)
    expect(run.locator(".bar span")).to_have_attribute("style", "width: 100%")
    expect(run).to_contain_text("positions: 2")
    assert Position.objects.filter(portfolio=book, kind=Position.Kind.SNAPSHOT, as_of=LAST_DAY).count() == 2
    screenshot("snapshot")

    # A day in the future is refused in place, next to the field.
    date_input.fill("2999-01-01")
    page.get_by_role("button", name="Snapshot now").click()
    expect(page.locator("#snapshot .error")).to_have_text("Cannot snapshot a day in the future.")
