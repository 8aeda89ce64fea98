"""Limit checks record breaches with severity and a recommended action, notify, and halt on daily loss."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from core.models import Notification
from core.roles import Role
from riskapp.engine import limits as engine
from riskapp.models import Limit, LimitBreach
from riskapp.services.limits import limits_check, portfolio_resume

pytestmark = pytest.mark.django_db
AS_OF = date(2022, 12, 28)


def test_engine_exposures_and_checks_from_first_principles():
    exp = engine.exposures({"A": 60.0, "B": -30.0, "C": 10.0}, {"A": "Tech", "B": "Tech", "C": "Energy"}, nav=100.0)
    assert exp.gross == pytest.approx(1.0) and exp.net == pytest.approx(0.4)
    assert exp.by_sector == {"Tech": pytest.approx(0.3), "Energy": pytest.approx(0.1)}
    check = engine.check_exposure_limit(engine.LimitSpec(1, "position_pct_nav", 0.5), exp)
    assert (check.subject, check.severity, check.utilisation) == ("A", "breach", pytest.approx(1.2))
    assert "Reduce A by about 10" in check.recommended_action
    warn = engine.check_exposure_limit(engine.LimitSpec(2, "gross_leverage", 1.2, warning_ratio=0.8), exp)
    assert warn.severity == "warning"
    ok = engine.check_amount_limit(engine.LimitSpec(3, "var", 100.0), 10.0)
    assert ok.severity == "ok" and ok.recommended_action == ""


def test_given_a_position_limit_breach_then_a_breach_row_audit_and_notification(book, make_user):
    officer = make_user(Role.RISK_OFFICER, email="ro@example.com")
    Limit.objects.create(portfolio=book["portfolio"], kind="position_pct_nav", threshold=Decimal("0.05"))
    (breach,) = limits_check(portfolio=book["portfolio"], as_of=AS_OF)
    assert breach.severity == "breach" and breach.subject == "AAPL"
    assert breach.measured == Decimal("0.1") and breach.utilisation == pytest.approx(2.0)
    assert AuditEvent.objects.filter(action="limit.breach").exists()
    assert Notification.objects.filter(user=officer, level="warning").exists()


def test_given_a_day_loss_over_the_kill_switch_then_the_portfolio_halts_until_resumed(book, make_user):
    # AAPL rose 98 → 100 (+2,000); make it a loss: the book is short instead.
    from portfolios.models import Position

    Position.objects.filter(portfolio=book["portfolio"], instrument=book["aapl"]).update(quantity=Decimal("-1000"))
    Limit.objects.create(portfolio=book["portfolio"], kind="daily_loss", threshold=Decimal("1000"))
    (breach,) = limits_check(portfolio=book["portfolio"], as_of=AS_OF)
    assert breach.severity == LimitBreach.Severity.CRITICAL and breach.measured == Decimal("2000")
    book["portfolio"].refresh_from_db()
    assert book["portfolio"].halted is True
    assert AuditEvent.objects.filter(action="portfolio.halt").exists()
    user = make_user(Role.RISK_OFFICER)
    with pytest.raises(Exception, match="Say why"):
        portfolio_resume(user=user, portfolio=book["portfolio"], rationale=" ")
    portfolio_resume(user=user, portfolio=book["portfolio"], rationale="Positions hedged; desk head agreed.")
    book["portfolio"].refresh_from_db()
    assert book["portfolio"].halted is False


def test_limits_below_warning_record_nothing(book):
    Limit.objects.create(portfolio=book["portfolio"], kind="position_pct_nav", threshold=Decimal("0.5"))
    assert limits_check(portfolio=book["portfolio"], as_of=AS_OF) == []


def test_limits_api_validates_and_audits(book, make_user, api_client_for):
    client = api_client_for(make_user(Role.RISK_OFFICER))
    bad = client.post("/api/v1/risk/limits", {"portfolio": "RB-1", "kind": "var", "threshold": "100000"}, format="json")
    assert bad.status_code == 400 and "confidence" in bad.json()["error"]["fields"]
    good = client.post(
        "/api/v1/risk/limits",
        {"portfolio": "RB-1", "kind": "var", "threshold": "100000", "confidence": "0.99", "horizon_days": 1},
        format="json",
    )
    assert good.status_code == 201, good.content
    assert AuditEvent.objects.filter(action="limit.create").exists()
    assert (
        client.post(
            "/api/v1/risk/limits", {"portfolio": "RB-1", "kind": "position_pct_nav", "threshold": "-1"}, format="json"
        ).status_code
        == 400
    )


def test_auditors_read_limits_but_cannot_change_them(book, make_user, api_client_for):
    Limit.objects.create(portfolio=book["portfolio"], kind="gross_leverage", threshold=Decimal("2"))
    client = api_client_for(make_user(Role.AUDITOR))
    assert client.get("/api/v1/risk/limits").status_code == 200
    assert (
        client.post(
            "/api/v1/risk/limits", {"portfolio": "RB-1", "kind": "gross_leverage", "threshold": "3"}, format="json"
        ).status_code
        == 403
    )


def test_scenarios_api_rejects_bad_shocks(make_user, api_client_for):
    client = api_client_for(make_user(Role.RISK_OFFICER))
    bad = client.post("/api/v1/risk/scenarios", {"name": "x", "shocks": {"planet:Mars": -10}}, format="json")
    assert bad.status_code == 400
    assert (
        client.post("/api/v1/risk/scenarios", {"name": "x", "shocks": {"all": -500}}, format="json").status_code == 400
    )
    ok = client.post(
        "/api/v1/risk/scenarios", {"name": "Energy crash", "shocks": {"sector:Energy": -40}}, format="json"
    )
    assert ok.status_code == 201, ok.content


def test_an_ongoing_breach_seen_again_is_one_row_and_one_notification(book, make_user):
    officer = make_user(Role.RISK_OFFICER, email="ro@example.com")
    Limit.objects.create(portfolio=book["portfolio"], kind="position_pct_nav", threshold=Decimal("0.05"))
    (first,) = limits_check(portfolio=book["portfolio"], as_of=AS_OF)
    (again,) = limits_check(portfolio=book["portfolio"], as_of=AS_OF)
    assert again.pk == first.pk
    assert LimitBreach.objects.count() == 1
    assert Notification.objects.filter(user=officer).count() == 1
    assert AuditEvent.objects.filter(action="limit.breach.seen_again").count() == 1
