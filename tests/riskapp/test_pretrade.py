"""Pre-trade check through the API: allow, deny with reasons, scoping, bad input, audit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache

from audit.models import AuditEvent
from core.roles import Role
from riskapp.models import Limit, RestrictedInstrument
from riskapp.services.pretrade import restricted_invalidate

pytestmark = pytest.mark.django_db

URL = "/api/v1/pretrade/check"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _order(**kw):
    return {"portfolio": "RB-1", "instrument": "AAPL", "side": "buy", "quantity": "100", **kw}


def test_given_no_limits_then_an_order_is_allowed_and_audited(book, oms):
    response = oms.post(URL, _order(), format="json")
    assert response.status_code == 200, response.content
    assert response.json()["decision"] == "allow"
    assert AuditEvent.objects.filter(action="pretrade.allow", object_id=str(book["portfolio"].pk)).exists()


def test_given_a_2pct_position_limit_then_a_buy_that_breaks_it_is_denied_with_the_reason(book, oms):
    # AAPL is 1,000 × 100 = 100,000 = 10 % of NAV already; a 5 % limit is breached and buying more worsens it.
    Limit.objects.create(portfolio=book["portfolio"], kind="position_pct_nav", threshold=Decimal("0.05"))
    body = oms.post(URL, _order(quantity="10"), format="json").json()
    assert body["decision"] == "deny"
    (reason,) = body["reasons"]
    assert reason["code"] == "limit" and reason["kind"] == "position_pct_nav" and reason["subject"] == "AAPL"
    assert reason["measured"] == pytest.approx(0.101)


def test_given_a_breached_position_then_an_order_that_reduces_it_is_allowed_with_a_warning(book, oms):
    Limit.objects.create(portfolio=book["portfolio"], kind="position_pct_nav", threshold=Decimal("0.05"))
    body = oms.post(URL, _order(side="sell", quantity="100"), format="json").json()
    assert body["decision"] == "allow"
    assert body["warnings"] and body["warnings"][0]["kind"] == "position_pct_nav"


def test_sector_and_gross_limits_are_checked_after_the_order(book, oms):
    Limit.objects.create(
        portfolio=book["portfolio"], kind="sector_exposure", threshold=Decimal("0.05"), sector="Energy"
    )
    Limit.objects.create(portfolio=book["portfolio"], kind="gross_leverage", threshold=Decimal("0.2"))
    # XOM: 25,000 now (2.5 %); buying 1,000 at 50 adds 50,000 → 7.5 % of NAV; gross 125k → 175k = 17.5 %.
    body = oms.post(URL, _order(instrument="XOM", quantity="1000"), format="json").json()
    assert body["decision"] == "deny"
    assert [r["kind"] for r in body["reasons"]] == ["sector_exposure"]
    assert body["warnings"][0]["kind"] == "gross_leverage"  # 87.5 % of its limit: a warning


def test_restricted_instrument_and_halted_portfolio_are_both_reported(book, oms):
    RestrictedInstrument.objects.create(instrument=book["aapl"], reason="Inside information (deal team)")
    restricted_invalidate()
    book["portfolio"].halted = True
    book["portfolio"].save()
    body = oms.post(URL, _order(), format="json").json()
    assert body["decision"] == "deny"
    assert {r["code"] for r in body["reasons"]} == {"restricted_instrument", "portfolio_halted"}


def test_a_limit_price_overrides_the_last_close(book, oms):
    Limit.objects.create(portfolio=book["portfolio"], kind="position_pct_nav", threshold=Decimal("0.2"))
    # 1,000 more AAPL at the close (100) → 20 %: allowed at the edge; at 150 → 25 %: denied.
    assert oms.post(URL, _order(quantity="1000"), format="json").json()["decision"] == "allow"
    assert oms.post(URL, _order(quantity="1000", price="150"), format="json").json()["decision"] == "deny"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"instrument": "AAPL", "side": "buy", "quantity": "1"}, "portfolio"),
        (_order(side="hold"), "side"),
        (_order(quantity="0"), "quantity"),
        (_order(quantity="-5"), "quantity"),
        (_order(quantity="NaN"), "quantity"),
        (_order(price="-1"), "price"),
        (_order(portfolio="RB\x00"), "portfolio"),
    ],
)
def test_bad_requests_get_field_errors(book, oms, body, field):
    response = oms.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_unknown_or_foreign_portfolio_and_unknown_instrument_are_404(book, oms, other_desk):
    from tests.factories import PortfolioFactory

    PortfolioFactory(code="FOREIGN", desk=other_desk)
    assert oms.post(URL, _order(portfolio="FOREIGN"), format="json").status_code == 404
    assert oms.post(URL, _order(portfolio="NOPE"), format="json").status_code == 404
    assert oms.post(URL, _order(instrument="NOPE"), format="json").status_code == 404


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.COMPLIANCE_ANALYST, Role.WEALTH_ADVISOR])
def test_roles_without_trading_or_risk_rights_are_refused(book, make_user, api_client_for, role):
    client = api_client_for(make_user(role))
    assert client.post(URL, _order(), format="json").status_code == 403


def test_risk_officers_may_ask(book, make_user, api_client_for):
    client = api_client_for(make_user(Role.RISK_OFFICER))
    assert client.post(URL, _order(), format="json").status_code == 200


def test_anonymous_is_refused(book):
    from rest_framework.test import APIClient

    assert APIClient().post(URL, _order(), format="json").status_code in {401, 403}


def test_a_trade_batch_refreshes_the_cached_state(book, oms, django_capture_on_commit_callbacks):
    Limit.objects.create(portfolio=book["portfolio"], kind="position_pct_nav", threshold=Decimal("0.2"))
    assert oms.post(URL, _order(quantity="900"), format="json").json()["decision"] == "allow"  # 19 %
    trade = {
        "rows": [
            {
                "trade_id": "RB-T1",
                "account": "RB-ACC",
                "instrument": "AAPL",
                "side": "buy",
                "price": 100,
                "quantity": 500,
                "ts": "2022-12-28T15:00:00Z",
            }
        ]
    }
    with django_capture_on_commit_callbacks(execute=True):  # the follow-up runs after commit
        assert oms.post("/api/v1/trades", trade, format="json").status_code == 201
    # Now 1,500 AAPL = 15 %; 900 more → 24 %: denied, so the cache was refreshed by the batch.
    assert oms.post(URL, _order(quantity="900"), format="json").json()["decision"] == "deny"


def test_restricting_an_instrument_in_the_admin_is_audited_and_seen_by_the_next_check(
    book, oms, django_capture_on_commit_callbacks
):
    from django.test import Client

    from tests.factories import UserFactory

    admin = Client()
    admin.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    assert oms.post(URL, _order(), format="json").json()["decision"] == "allow"  # caches the list
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/admin/riskapp/restrictedinstrument/add/", {"instrument": book["aapl"].pk, "reason": "Deal team"}
        )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="admin.add", object_type="riskapp.restrictedinstrument").exists()
    assert oms.post(URL, _order(), format="json").json()["decision"] == "deny"
