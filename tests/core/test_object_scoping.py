"""Object scoping across the products, in one place: a user reads only their desk's objects
(an advisor only their own clients), by id, in the pages and in the API alike.

Each product's own tests go deeper (lists, bulk requests, writes); this file is the one table
a reviewer reads to see that no product forgot the rule. Another desk's object answers 404,
exactly like a missing one (docs/security.md, "Scoping"); the same URLs answer 200 for the
owner's own object and for a superuser, so a 404 here is the scope and not a broken URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core.roles import Role
from riskapp.services.runs import risk_run_create
from tests.factories import (
    AccountFactory,
    AlertFactory,
    ClientFactory,
    OrderFactory,
    OwnerFactory,
    PortfolioFactory,
    TcaOrderResultFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Urls:
    page: str
    api: str


def _desk_objects(desk, code: str) -> dict[str, Urls]:
    portfolio = PortfolioFactory(code=code, desk=desk)
    account = AccountFactory(code=f"{code}-A", desk=desk, portfolio=portfolio, owner=OwnerFactory())
    run = risk_run_create(portfolio=portfolio, user=None, as_of=date(2022, 12, 30))  # queued, never executed
    alert = AlertFactory(account=account)
    order = TcaOrderResultFactory(order=OrderFactory(account=account)).order
    return {
        "portfolio": Urls(f"/portfolios/{code}/", f"/api/v1/portfolios/{portfolio.pk}"),
        "risk run": Urls(f"/risk/portfolios/{code}/", f"/api/v1/risk/runs/{run.pk}"),
        "surveillance alert": Urls(f"/surveillance/alerts/{alert.pk}/", f"/api/v1/surveillance/alerts/{alert.pk}"),
        "TCA order": Urls(f"/execution/orders/{order.pk}/", f"/api/v1/tca/orders/{order.pk}"),
    }


def _client_objects(advisor) -> dict[str, Urls]:
    client = ClientFactory(advisor=advisor)
    return {"wealth client": Urls(f"/wealth/clients/{client.pk}/", f"/api/v1/wealth/clients/{client.pk}")}


# Who reads which kind of object (the role that has the area).
READER = {
    "portfolio": Role.RISK_OFFICER,
    "risk run": Role.RISK_OFFICER,
    "surveillance alert": Role.COMPLIANCE_ANALYST,
    "TCA order": Role.COMPLIANCE_ANALYST,
    "wealth client": Role.WEALTH_ADVISOR,
}


@pytest.fixture
def world(desk, other_desk, make_user):
    """Objects of every kind on the user's desk ("own") and on another desk ("foreign");
    wealth clients of the advisor ("own") and of another advisor on the same desk ("foreign")."""
    advisor = make_user(Role.WEALTH_ADVISOR)
    other_advisor = make_user(Role.WEALTH_ADVISOR, username="other_advisor")
    return {
        "own": {**_desk_objects(desk, "MINE"), **_client_objects(advisor)},
        "foreign": {**_desk_objects(other_desk, "THEIRS"), **_client_objects(other_advisor)},
        "users": {
            Role.RISK_OFFICER: make_user(Role.RISK_OFFICER),
            Role.COMPLIANCE_ANALYST: make_user(Role.COMPLIANCE_ANALYST),
            Role.WEALTH_ADVISOR: advisor,
        },
    }


def _clients(user) -> tuple[Client, APIClient]:
    browser, api = Client(), APIClient()
    browser.force_login(user)
    api.force_authenticate(user)
    return browser, api


@pytest.mark.parametrize("kind", list(READER))
def test_given_a_user_when_reading_another_desks_or_advisors_object_by_id_then_404_in_page_and_api(world, kind):
    # Given a user whose role reads this kind of object
    browser, api = _clients(world["users"][READER[kind]])
    own, foreign = world["own"][kind], world["foreign"][kind]

    # When they open their own object, then they see it (the URLs are right)
    assert browser.get(own.page).status_code == 200, own.page
    assert api.get(own.api).status_code == 200, own.api

    # When they open the other desk's (or advisor's) object by id, then it does not exist for them
    assert browser.get(foreign.page).status_code == 404, foreign.page
    response = api.get(foreign.api)
    assert response.status_code == 404, foreign.api
    missing = api.get(foreign.api.rsplit("/", 1)[0] + "/999999999")
    assert response.json() == missing.json() and response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("kind", list(READER))
def test_given_a_superuser_then_the_same_foreign_objects_are_readable(world, kind):
    # Given a superuser on no desk, then the objects refused above exist and are served
    browser, api = _clients(UserFactory(username="root", is_superuser=True, is_staff=True))
    foreign = world["foreign"][kind]
    assert browser.get(foreign.page).status_code == 200, foreign.page
    assert api.get(foreign.api).status_code == 200, foreign.api
