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
