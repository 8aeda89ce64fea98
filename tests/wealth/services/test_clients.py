"""Clients and goals: created and changed through the services, audited, and bad input rejected
with field errors and nothing written."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from core.errors import ValidationFailed
from tests.factories import ClientFactory, GoalFactory
from tests.wealth.services.helpers import counts
from wealth.models import Client, Goal, Household
from wealth.services import client_create, client_update, goal_create, goal_delete, goal_update


@pytest.mark.django_db
def test_client_create_is_audited_and_joins_a_household(advisor):
    client = client_create(
        actor=advisor,
        data={"code": "C-1", "name": "Ada Park", "birth_date": "1980-02-29", "household": "Park family",
              "tax_rate_short": "0.35", "esg_excluded_sectors": ["Energy", "Energy"]},
    )  # fmt: skip
    assert client.advisor == advisor and client.household.name == "Park family"
    assert client.esg_excluded_sectors == ["Energy"]
    event = AuditEvent.objects.get(action="wealth.client.create")
    assert event.object_id == str(client.pk) and event.after["code"] == "C-1"


@pytest.mark.django_db
def test_client_create_reports_every_bad_field_and_writes_nothing(advisor):
    ClientFactory(code="TAKEN", advisor=advisor)
    before = counts(Client, Household, AuditEvent)
    with pytest.raises(ValidationFailed) as err:
        client_create(
            actor=advisor,
            data={"code": "TAKEN", "name": "", "birth_date": "31/12/1980", "tax_rate_long": "1.5",
                  "esg_min_score": "11", "annual_income": "-1", "household": "New household"},
        )  # fmt: skip
    fields = err.value.extra["fields"]
    assert set(fields) == {"code", "name", "birth_date", "tax_rate_long", "esg_min_score", "annual_income"}
    assert counts(Client, Household, AuditEvent) == before


@pytest.mark.django_db
def test_client_update_changes_only_given_fields(advisor):
    client = ClientFactory(advisor=advisor, name="Old")
    client_update(actor=advisor, client=client, data={"name": "New", "esg_min_score": "6.5"})
    client.refresh_from_db()
    assert client.name == "New" and str(client.esg_min_score) == "6.50" and client.code.startswith("CL")
    event = AuditEvent.objects.get(action="wealth.client.update")
    assert event.before["name"] == "Old" and event.after["name"] == "New"


@pytest.mark.django_db
def test_goal_lifecycle_is_audited(advisor):
    client = ClientFactory(advisor=advisor)
    goal = goal_create(
        actor=advisor, client=client,
        data={"kind": "home", "name": "Flat", "target_amount": "150000", "horizon_years": 5,
              "monthly_contribution": 800},
    )  # fmt: skip
    goal_update(actor=advisor, goal=goal, data={"target_amount": 175000, "glide_path": "false"})
    goal.refresh_from_db()
    assert goal.target_amount == 175000 and goal.glide_path is False
    goal_delete(actor=advisor, goal=goal)
    assert not Goal.objects.exists()
    actions = list(AuditEvent.objects.filter(action__startswith="wealth.goal").values_list("action", flat=True))
    assert sorted(actions) == ["wealth.goal.create", "wealth.goal.delete", "wealth.goal.update"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"target_amount": 0}, "target_amount"),
        ({"horizon_years": 0}, "horizon_years"),
        ({"initial_amount": "-5"}, "initial_amount"),
        ({"monthly_contribution": "abc"}, "monthly_contribution"),
        ({"annual_fee": 1}, "annual_fee"),
        ({"kind": "yacht"}, "kind"),
    ],
)
def test_goal_bad_input_names_the_field_and_changes_nothing(advisor, data, field):
    goal = GoalFactory(client=ClientFactory(advisor=advisor))
    before = counts(Goal, AuditEvent)
    with pytest.raises(ValidationFailed) as err:
        goal_update(actor=advisor, goal=goal, data=data)
    assert field in err.value.extra["fields"]
    with pytest.raises(ValidationFailed):
        goal_create(actor=advisor, client=goal.client, data={"kind": "home", "name": "x", "target_amount": 1,
                                                             "horizon_years": 3, **data})  # fmt: skip
    assert counts(Goal, AuditEvent) == before
    goal.refresh_from_db()
    assert goal.target_amount == 1_000_000


def _taken_after_the_check(code: str, advisor):
    """A stand-in for the pre-check that loses a race: another request inserts ``code`` right
    after the check found it free."""

    def check(*_args, **_kwargs) -> bool:
        ClientFactory(code=code, advisor=advisor)
        return False

    return check


@pytest.mark.django_db
def test_client_create_racing_a_duplicate_code_is_a_field_error_not_a_database_error(advisor, monkeypatch):
    monkeypatch.setattr("wealth.services.clients._code_taken", _taken_after_the_check("RACE", advisor))
    before = counts(Household, AuditEvent)

    with pytest.raises(ValidationFailed) as err:
        client_create(actor=advisor, data={"code": "RACE", "name": "B", "birth_date": "1980-01-01", "household": "H"})

    assert err.value.extra["fields"] == {"code": ["A client with this code exists."]}
    assert Client.objects.filter(code="RACE").count() == 1  # only the other request's
    assert counts(Household, AuditEvent) == before  # the household made on the way is rolled back


@pytest.mark.django_db
def test_client_update_racing_a_duplicate_code_is_a_field_error_not_a_database_error(advisor, monkeypatch):
    client = ClientFactory(code="MINE", advisor=advisor, name="Kept")
    monkeypatch.setattr("wealth.services.clients._code_taken", _taken_after_the_check("RACE", advisor))

    with pytest.raises(ValidationFailed) as err:
        client_update(actor=advisor, client=client, data={"code": "RACE", "name": "Changed"})

    assert err.value.extra["fields"] == {"code": ["A client with this code exists."]}
    client = Client.objects.get(pk=client.pk)
    assert (client.code, client.name) == ("MINE", "Kept")
    assert not AuditEvent.objects.filter(action="wealth.client.update").exists()
