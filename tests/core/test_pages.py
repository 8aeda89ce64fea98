"""Pages of the web shell through Django's test client: who may open what, and the htmx partials.

The access table below is the specification (not derived from ``core.roles``), so a change to
the roles shows up here as a failing test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from core.models import CalculationRun
from core.roles import Role
from core.views import executions_per_day
from tests.factories import (
    AccountFactory,
    InstrumentFactory,
    PortfolioFactory,
    PositionFactory,
    PriceBarFactory,
    TradeFactory,
)

pytestmark = pytest.mark.django_db

STAFF = [Role.RISK_OFFICER, Role.COMPLIANCE_ANALYST, Role.COMPLIANCE_SUPERVISOR, Role.WEALTH_ADVISOR, Role.AUDITOR]
ALL_ROLES = [*STAFF, Role.OMS_CLIENT]

# page_name -> roles that may open it; everyone else gets 403.
ACCESS: dict[str, set[Role]] = {
    "home": set(STAFF),
    "portfolio_list": set(STAFF),
    "portfolio_detail": set(STAFF),
    "risk": {Role.RISK_OFFICER, Role.AUDITOR},
    "surveillance": {Role.COMPLIANCE_ANALYST, Role.COMPLIANCE_SUPERVISOR, Role.AUDITOR},
    "execution": {Role.RISK_OFFICER, Role.COMPLIANCE_ANALYST, Role.COMPLIANCE_SUPERVISOR, Role.AUDITOR},
    "wealth": {Role.WEALTH_ADVISOR, Role.AUDITOR},
}


@pytest.fixture
def portfolio(desk):
    return PortfolioFactory(code="GLB-EQ", name="Global equity", desk=desk)


def _url(page_name: str) -> str:
    return {
        "home": reverse("home"),
        "portfolio_list": reverse("portfolios:portfolio_list"),
        "portfolio_detail": reverse("portfolios:portfolio_detail", args=["GLB-EQ"]),
        "risk": reverse("riskapp:index"),
        "surveillance": reverse("surveillance:index"),
        "execution": reverse("execution_quality:index"),
        "wealth": reverse("wealth:index"),
    }[page_name]


@pytest.mark.parametrize("page_name", list(ACCESS))
@pytest.mark.parametrize("role", ALL_ROLES, ids=str)
def test_given_a_role_when_it_opens_a_page_then_allowed_roles_see_it_and_others_get_403(
    client, make_user, portfolio, page_name, role
):
    client.force_login(make_user(role))
    response = client.get(_url(page_name))
    if role in ACCESS[page_name]:
        assert response.status_code == 200
        assert b'class="topbar"' in response.content
    else:
        assert response.status_code == 403
        assert b"Not allowed" in response.content


@pytest.mark.parametrize("page_name", list(ACCESS))
def test_given_no_login_when_a_page_is_opened_then_it_redirects_to_login(client, portfolio, page_name):
    response = client.get(_url(page_name))
    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('login')}?next=")


def test_given_an_oms_client_when_it_opens_any_page_then_every_page_is_refused(client, oms_user, portfolio):
    """The API-only role has no browser area: not even home, and no navigation to follow."""
    client.force_login(oms_user)
    for page_name in ACCESS:
        assert client.get(_url(page_name)).status_code == 403, page_name
    assert client.get(reverse("home_counts")).status_code == 403


def test_given_a_risk_officer_when_home_renders_then_the_navigation_follows_the_role(client, make_user):
    client.force_login(make_user(Role.RISK_OFFICER))
    nav = client.get(reverse("home")).context["nav_items"]
    assert [item["label"] for item in nav] == ["Home", "Risk", "Best execution"]


def test_given_a_portfolio_on_another_desk_when_opened_then_404(client, make_user, other_desk):
    PortfolioFactory(code="HIDDEN", desk=other_desk)
    client.force_login(make_user(Role.RISK_OFFICER))
    assert client.get(reverse("portfolios:portfolio_detail", args=["HIDDEN"])).status_code == 404


def test_given_the_login_page_when_opened_anonymously_then_it_renders_the_form(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'<label for="id_username">' in response.content
    assert b'<label for="id_password">' in response.content


def test_given_a_wrong_password_when_posted_then_the_form_shows_an_error(client, make_user):
    make_user(Role.RISK_OFFICER)
    response = client.post(reverse("login"), {"username": "risk_officer", "password": "wrong-password-123"})
    assert response.status_code == 200
    assert b'role="alert"' in response.content


# --- htmx partials ------------------------------------------------------------------------


def test_given_a_user_when_the_counts_partial_is_polled_then_it_renders_without_the_layout(
    client, make_user, portfolio
):
    client.force_login(make_user(Role.RISK_OFFICER))
    response = client.get(reverse("home_counts"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b'class="tiles"' in response.content
    assert b"<html" not in response.content
    assert response.context["counts"]["portfolios"] == 1


def test_given_own_run_when_progress_is_polled_then_the_bar_shows_status_and_width(client, make_user):
    user = make_user(Role.RISK_OFFICER)
    run = CalculationRun.objects.create(kind="positions.snapshot", user=user, status="running", progress=40)
    client.force_login(user)
    response = client.get(reverse("run_progress", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'style="width: 40%"' in html
    assert 'class="status running"' in html
    assert "every 1s" in html  # still polling


def test_given_a_finished_run_when_progress_renders_then_polling_stops(client, make_user):
    user = make_user(Role.RISK_OFFICER)
    run = CalculationRun.objects.create(kind="positions.snapshot", user=user, status="succeeded", progress=100)
    client.force_login(user)
    html = client.get(reverse("run_progress", args=[run.pk])).content.decode()
    assert "succeeded" in html
    assert "hx-trigger" not in html


def test_given_someone_elses_run_when_progress_is_polled_then_404(client, make_user):
    owner = make_user(Role.RISK_OFFICER)
    run = CalculationRun.objects.create(kind="positions.snapshot", user=owner)
    client.force_login(make_user(Role.WEALTH_ADVISOR))
    assert client.get(reverse("run_progress", args=[run.pk])).status_code == 404


# --- charts -------------------------------------------------------------------------------


def _book(portfolio):
    """Two positions with closes: a long and a short."""
    aapl, msft = InstrumentFactory(symbol="AAPL"), InstrumentFactory(symbol="MSFT")
    day = date(2022, 12, 30)
    for inst, qty in ((aapl, Decimal(100)), (msft, Decimal(-50))):
        PositionFactory(portfolio=portfolio, instrument=inst, as_of=date(2022, 12, 29), quantity=qty)
        PriceBarFactory(instrument=inst, date=day, close=Decimal("10"), adj_close=Decimal("10"))


def test_given_a_book_with_prices_when_the_portfolio_page_renders_then_it_carries_the_chart(
    client, make_user, portfolio
):
    _book(portfolio)
    client.force_login(make_user(Role.RISK_OFFICER))
    html = client.get(reverse("portfolios:portfolio_detail", args=["GLB-EQ"])).content.decode()
    assert 'id="positions-chart"' in html
    assert "vendor/plotly/plotly.min.js" in html
    assert '"AAPL"' in html and '"MSFT"' in html


def test_given_an_empty_book_when_the_portfolio_page_renders_then_no_chart_and_no_plotly(client, make_user, portfolio):
    client.force_login(make_user(Role.RISK_OFFICER))
    html = client.get(reverse("portfolios:portfolio_detail", args=["GLB-EQ"])).content.decode()
    assert "The book is empty" in html
    assert "plotly.min.js" not in html


def test_given_executions_when_home_renders_then_it_shows_executions_per_day(client, make_user, desk, portfolio):
    account = AccountFactory(desk=desk, portfolio=portfolio)
    TradeFactory(account=account, ts=datetime(2022, 12, 28, 14, 0, tzinfo=UTC))
    client.force_login(make_user(Role.RISK_OFFICER))
    html = client.get(reverse("home")).content.decode()
    assert 'id="executions-per-day"' in html
    assert "plotly.min.js" in html


def test_given_no_executions_when_home_renders_then_plotly_is_not_loaded(client, make_user):
    client.force_login(make_user(Role.RISK_OFFICER))
    assert "plotly.min.js" not in client.get(reverse("home")).content.decode()


def test_given_trades_on_two_desks_when_counting_per_day_then_only_the_users_desk_counts_and_gaps_are_zero(
    make_user, desk, other_desk
):
    mine = AccountFactory(desk=desk)
    theirs = AccountFactory(desk=other_desk)
    TradeFactory(account=mine, ts=datetime(2022, 12, 28, 9, 0, tzinfo=UTC))
    TradeFactory(account=mine, ts=datetime(2022, 12, 28, 23, 59, 59, tzinfo=UTC))
    TradeFactory(account=mine, ts=datetime(2022, 12, 30, 10, 0, tzinfo=UTC))
    TradeFactory(account=theirs, ts=datetime(2022, 12, 30, 11, 0, tzinfo=UTC))
    TradeFactory(account=mine, ts=datetime(2022, 11, 1, 10, 0, tzinfo=UTC))  # before the window
    user = make_user(Role.RISK_OFFICER)

    per_day = executions_per_day(user=user, last_ts=datetime(2022, 12, 30, 10, 0, tzinfo=UTC), days=5)

    assert per_day == [
        (date(2022, 12, 26), 0),
        (date(2022, 12, 27), 0),
        (date(2022, 12, 28), 2),
        (date(2022, 12, 29), 0),
        (date(2022, 12, 30), 1),
    ]


def test_given_no_executions_when_counting_per_day_then_nothing(make_user):
    assert executions_per_day(user=make_user(Role.RISK_OFFICER), last_ts=None) == []


# --- snapshot form ------------------------------------------------------------------------


def test_given_an_invalid_date_when_htmx_posts_a_snapshot_then_the_form_comes_back_with_its_error(
    client, make_user, portfolio
):
    client.force_login(make_user(Role.RISK_OFFICER))
    response = client.post(
        reverse("portfolios:snapshot_start", args=["GLB-EQ"]), {"as_of": "2999-01-01"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#snapshot"
    assert b"Cannot snapshot a day in the future." in response.content


def test_given_the_portfolio_page_when_rendered_then_the_date_input_holds_an_iso_date(client, make_user, portfolio):
    """<input type="date"> ignores any value that is not YYYY-MM-DD (en-GB would print 30/12/2022)."""
    PriceBarFactory(date=date(2022, 12, 30))
    client.force_login(make_user(Role.RISK_OFFICER))
    html = client.get(reverse("portfolios:portfolio_detail", args=["GLB-EQ"])).content.decode()
    assert 'value="2022-12-30"' in html


def test_given_an_auditor_when_the_portfolio_page_renders_then_there_is_no_snapshot_form(client, make_user, portfolio):
    client.force_login(make_user(Role.AUDITOR))
    html = client.get(reverse("portfolios:portfolio_detail", args=["GLB-EQ"])).content.decode()
    assert "snapshot-form" not in html


def test_given_cached_volumes_when_a_trade_arrives_then_live_figures_move_and_volumes_wait(
    client, make_user, desk, other_desk, settings
):
    # Given volume caching on, two officers of the same desk and one of another desk
    from django.core.cache import cache

    settings.HOME_COUNTS_CACHE_SECONDS = 60
    cache.clear()
    first = make_user(Role.RISK_OFFICER, username="first")
    second = make_user(Role.RISK_OFFICER, username="second")
    other = make_user(Role.RISK_OFFICER, username="other", desks=[other_desk])
    portfolio = PortfolioFactory(code="CACHED", desk=desk)
    account = AccountFactory(code="CACHED-ACC", portfolio=portfolio, desk=desk)
    client.force_login(first)
    before = client.get(reverse("home_counts"), HTTP_HX_REQUEST="true").context["counts"]
    assert (before["trades"], before["trades_24h"]) == (0, 0)

    # When a trade of that desk arrives now
    TradeFactory(account=account, ts=datetime.now(UTC))

    # Then the same scope sees the cached volume but the live 24 h figure at once...
    client.force_login(second)
    after = client.get(reverse("home_counts"), HTTP_HX_REQUEST="true").context["counts"]
    assert (after["trades"], after["trades_24h"]) == (0, 1)
    # ... another desk's scope has its own entry (and never sees this desk's trade)
    client.force_login(other)
    assert client.get(reverse("home_counts"), HTTP_HX_REQUEST="true").context["counts"]["trades"] == 0
    # ... and once the entry expires the volume is exact again
    cache.clear()
    client.force_login(first)
    assert client.get(reverse("home_counts"), HTTP_HX_REQUEST="true").context["counts"]["trades"] == 1
    cache.clear()
