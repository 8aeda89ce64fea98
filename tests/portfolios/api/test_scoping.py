"""Desk scoping of references that could otherwise reveal another desk's data."""

from __future__ import annotations

import pytest

from core.models import CalculationRun
from core.roles import Role
from core.selectors import run_list
from tests.factories import AccountFactory, OwnerFactory, PortfolioFactory

pytestmark = pytest.mark.django_db


def _account(code: str, **kw):
    return {"code": code, "kind": "client", "desk": "EQ", **kw}


def test_given_another_desks_owner_then_naming_it_is_refused_like_an_unknown_owner(oms, other_desk):
    secret = OwnerFactory(code="BO-SECRET", name="Secret Holder")
    AccountFactory(code="OTHER-ACC", owner=secret, desk=other_desk)
    response = oms.post("/api/v1/accounts", {"rows": [_account("MINE", owner="BO-SECRET")]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["rows"][0]["errors"]["owner"] == ["Unknown beneficial owner 'BO-SECRET'."]
    assert "BO-SECRET" not in {o["code"] for o in oms.get("/api/v1/beneficial-owners").json()["results"]}


def test_a_new_owner_or_one_of_the_clients_desks_may_be_named(oms, desk):
    OwnerFactory(code="BO-NEW")
    shared = OwnerFactory(code="BO-MINE")
    AccountFactory(code="EXISTING", owner=shared, desk=desk)
    rows = [_account("A1", owner="BO-NEW"), _account("A2", owner="BO-MINE")]
    assert oms.post("/api/v1/accounts", {"rows": rows}, format="json").status_code == 201


def test_an_account_cannot_join_a_portfolio_of_another_desk(oms, desk, oms_user, other_desk):
    other_desk.members.add(oms_user)
    PortfolioFactory(code="PF-OTHER", desk=other_desk)
    OwnerFactory(code="BO-1")
    response = oms.post(
        "/api/v1/accounts", {"rows": [_account("A1", owner="BO-1", portfolio="PF-OTHER")]}, format="json"
    )
    assert response.status_code == 400
    assert "another desk" in response.json()["error"]["rows"][0]["errors"]["portfolio"][0]


def test_scheduled_runs_are_visible_only_for_portfolios_on_the_users_desks(make_user, desk, other_desk):
    mine = PortfolioFactory(code="PF-MINE", desk=desk)
    theirs = PortfolioFactory(code="PF-THEIRS", desk=other_desk)
    run_mine = CalculationRun.objects.create(kind="positions.snapshot", parameters={"portfolio_id": mine.pk})
    run_theirs = CalculationRun.objects.create(kind="positions.snapshot", parameters={"portfolio_id": theirs.pk})
    officer = make_user(Role.RISK_OFFICER)
    assert set(run_list(user=officer)) == {run_mine}
    auditor = make_user(Role.AUDITOR, username="aud")
    assert {run_mine, run_theirs} <= set(run_list(user=auditor))


def test_a_trade_id_used_on_another_desk_is_refused_not_silently_dropped(oms, desk, other_desk):
    from datetime import UTC, datetime

    from tests.factories import InstrumentFactory, TradeFactory

    aapl = InstrumentFactory(symbol="AAPL")
    AccountFactory(code="MINE", desk=desk)
    TradeFactory(
        trade_id="T-DUP",
        account=AccountFactory(code="THEIRS", desk=other_desk),
        instrument=aapl,
        ts=datetime(2022, 12, 28, tzinfo=UTC),
    )
    row = {
        "trade_id": "T-DUP",
        "account": "MINE",
        "instrument": "AAPL",
        "side": "buy",
        "price": 1,
        "quantity": 1,
        "ts": "2022-12-28T15:00:00Z",
    }
    response = oms.post("/api/v1/trades", {"rows": [row]}, format="json")
    assert response.status_code == 400
    assert "another id" in response.json()["error"]["rows"][0]["errors"]["trade_id"][0]
