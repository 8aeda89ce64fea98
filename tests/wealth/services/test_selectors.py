"""Scoping: an advisor sees only their own clients; another advisor none of them; an auditor the
clients of advisors who share one of the auditor's desks; other roles nothing; out of scope is
"not found"."""

from __future__ import annotations

import pytest

from core.errors import NotFound
from core.roles import Role
from tests.factories import ClientFactory, DeskFactory, GoalFactory, RecommendationFactory
from wealth.selectors import client_get, client_scope, goal_scope, recommendation_scope


@pytest.fixture
def book(make_user):
    desk_a, desk_b = DeskFactory(code="WA"), DeskFactory(code="WB")
    a = make_user(Role.WEALTH_ADVISOR, username="adv_a", desks=[desk_a])
    b = make_user(Role.WEALTH_ADVISOR, username="adv_b", desks=[desk_b])
    auditor = make_user(Role.AUDITOR, username="aud", desks=[desk_a])
    risk = make_user(Role.RISK_OFFICER, username="risk", desks=[desk_a, desk_b])
    ca, cb = ClientFactory(advisor=a), ClientFactory(advisor=b)
    GoalFactory(client=ca), GoalFactory(client=cb)
    RecommendationFactory(client=ca), RecommendationFactory(client=cb)
    return {"a": a, "b": b, "auditor": auditor, "risk": risk, "ca": ca, "cb": cb}


@pytest.mark.django_db
def test_each_advisor_sees_only_their_own_clients(book):
    assert list(client_scope(book["a"])) == [book["ca"]]
    assert list(client_scope(book["b"])) == [book["cb"]]
    assert [g.client for g in goal_scope(book["a"])] == [book["ca"]]
    assert [r.client for r in recommendation_scope(book["b"])] == [book["cb"]]


@pytest.mark.django_db
def test_other_advisors_client_is_not_found(book):
    with pytest.raises(NotFound):
        client_get(user=book["a"], pk=book["cb"].pk)
    with pytest.raises(NotFound):
        client_get(user=book["a"], pk="not-a-number")


@pytest.mark.django_db
def test_auditor_sees_clients_of_advisors_on_a_shared_desk(book):
    assert list(client_scope(book["auditor"])) == [book["ca"]]
    with pytest.raises(NotFound):
        client_get(user=book["auditor"], pk=book["cb"].pk)


@pytest.mark.django_db
def test_other_roles_see_no_client(book):
    assert list(client_scope(book["risk"])) == []


@pytest.mark.django_db
def test_attention_list_puts_more_reasons_then_more_money_at_stake_first(book):
    from datetime import date
    from decimal import Decimal

    from wealth.models import ClientReview
    from wealth.selectors import attention_list

    def review(name, *, attention, reasons, drift, value, saving=0):
        client = ClientFactory(advisor=book["a"], name=name)
        return ClientReview.objects.create(client=client, as_of=date(2022, 12, 28), attention=attention,
                                           reasons=["r"] * reasons, drift=drift, market_value=Decimal(value),
                                           harvest_saving=Decimal(saving))  # fmt: skip

    # Money at stake = drift × market value + harvestable saving:
    review("One reason, $50k", attention=True, reasons=1, drift=0.10, value=500_000)  # 50,000
    review("Two reasons, $3k", attention=True, reasons=2, drift=0.01, value=100_000, saving=2_000)  # 3,000
    review("One reason, $6k", attention=True, reasons=1, drift=0.06, value=100_000)  # 6,000
    review("Quiet, $1m", attention=False, reasons=0, drift=0.04, value=25_000_000)  # 1,000,000
    rows = [r for r in attention_list(user=book["a"]) if r.client.name != book["ca"].name]
    assert [r.client.name for r in rows] == ["Two reasons, $3k", "One reason, $50k", "One reason, $6k", "Quiet, $1m"]
    assert [r.priority for r in rows] == [1, 2, 3, 4]
    assert rows[0].money_at_stake == pytest.approx(3_000)
