"""Clients and their goals: create, update, delete, each in one transaction with an audit event.

``data`` dicts carry model field names; only the fields given are changed on update. Every error
names its field (``ValidationFailed(extra={"fields": {...}})``) and nothing is written then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict

from audit.services import audit_record
from wealth.models import Client, Goal, Household
from wealth.services._common import Validator, fail, json_safe

_ZERO, _ONE, _TEN = Decimal(0), Decimal(1), Decimal(10)

# Accepted yearly rates of a goal (fractions, bounds included). Wider ones are not planning
# assumptions but typing slips, and over an 80-year horizon they overflow the projection:
# inflation of −50 % a year multiplies today's money by 2^80. The API and the form use the same.
GOAL_RATE_BOUNDS: dict[str, tuple[Decimal, Decimal]] = {
    "contribution_growth": (Decimal("-0.20"), Decimal("0.20")),
    "inflation": (Decimal("-0.10"), Decimal("0.20")),
    "annual_fee": (Decimal("0"), Decimal("0.05")),
}


def _snapshot(obj: Client | Goal) -> dict[str, Any]:
    return json_safe(model_to_dict(obj))  # type: ignore[no-any-return]


def _client_fields(v: Validator, *, creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, value in (
        ("code", v.text("code", required=creating, max_length=64)),
        ("name", v.text("name", required=creating)),
        ("birth_date", v.date("birth_date", required=creating)),
        ("retirement_age", v.integer("retirement_age", minimum=40, maximum=90)),
        ("annual_income", v.decimal("annual_income", minimum=_ZERO)),
        ("net_worth", v.decimal("net_worth")),
        ("tax_rate_short", v.decimal("tax_rate_short", minimum=_ZERO, maximum=_ONE)),
        ("tax_rate_long", v.decimal("tax_rate_long", minimum=_ZERO, maximum=_ONE)),
        ("esg_min_score", v.decimal("esg_min_score", minimum=_ZERO, maximum=_TEN, allow_null=True)),
    ):
        if v.has(field) and field not in v.errors:
            out[field] = value
    if "code" in out and not out["code"]:
        v.add("code", "This field is required.")
    if "name" in out and not out["name"]:
        v.add("name", "This field is required.")
    birth = out.get("birth_date")
    if isinstance(birth, dt.date) and not dt.date(1900, 1, 1) <= birth <= dt.date.today():
        v.add("birth_date", "Must be a past date after 1900.")
    if v.has("esg_excluded_sectors"):
        sectors = v.data["esg_excluded_sectors"]
        if not isinstance(sectors, list) or not all(isinstance(s, str) and s.strip() for s in sectors):
            v.add("esg_excluded_sectors", "Must be a list of sector names.")
        else:
            out["esg_excluded_sectors"] = sorted({s.strip() for s in sectors})
    return out


def _household(v: Validator, advisor: Any) -> Household | None:
    """``household``: an id of one of the advisor's households or the name of a new one."""
    value = v.data.get("household")
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        found = Household.objects.filter(pk=value, advisor=advisor).first()
        if found is None:
            v.add("household", "Unknown household.")
        return found
    if isinstance(value, str) and value.strip():
        found, _ = Household.objects.get_or_create(name=value.strip()[:200], advisor=advisor)
        return found
    v.add("household", "Give a household id or a name.")
    return None


CODE_TAKEN = "A client with this code exists."


def _code_taken(code: str, *, exclude: int | None = None) -> bool:
    """The friendly pre-check; the unique index decides when two requests race (``_code_unique``)."""
    qs = Client.objects.filter(code=code)
    return (qs if exclude is None else qs.exclude(pk=exclude)).exists()


@contextmanager
def _code_unique(code: str | None) -> Iterator[None]:
    """Turn the unique-code violation of a concurrent request (created after the pre-check) into
    the same field error. The savepoint keeps the surrounding transaction usable."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        if code is None or "code" not in str(exc):
            raise
        raise fail(CODE_TAKEN, {"code": CODE_TAKEN}) from exc


def client_create(*, actor: User, data: dict[str, Any]) -> Client:
    """Create a client advised by ``data["advisor"]`` (a user) or else by ``actor``."""
    v = Validator(data)
    fields = _client_fields(v, creating=True)
    advisor = data.get("advisor") or actor
    if not isinstance(advisor, User):
        v.add("advisor", "Must be a user.")
    if fields.get("code") and _code_taken(fields["code"]):
        v.add("code", CODE_TAKEN)
    v.raise_if_any()
    with transaction.atomic():
        household = _household(v, advisor)
        v.raise_if_any()
        with _code_unique(fields.get("code")):
            client = Client.objects.create(advisor=advisor, household=household, **fields)
        audit_record(action="wealth.client.create", actor=actor, obj=client, after=_snapshot(client))
    return client


def client_update(*, actor: User, client: Client, data: dict[str, Any]) -> Client:
    """Change the fields given in ``data`` (the advisor is not changed here)."""
    v = Validator(data)
    fields = _client_fields(v, creating=False)
    if fields.get("code") and _code_taken(fields["code"], exclude=client.pk):
        v.add("code", CODE_TAKEN)
    v.raise_if_any()
    with transaction.atomic():
        household = _household(v, client.advisor) if v.has("household") else client.household
        v.raise_if_any()
        before = _snapshot(client)
        for name, value in fields.items():
            setattr(client, name, value)
        client.household = household
        with _code_unique(fields.get("code")):
            client.save()
        audit_record(action="wealth.client.update", actor=actor, obj=client, before=before, after=_snapshot(client))
    return client


# ---------------------------------------------------------------------------- goals


def _goal_fields(v: Validator, *, creating: bool) -> dict[str, Any]:
    values = {
        "kind": v.choice("kind", list(Goal.Kind.values), required=creating),
        "name": v.text("name", required=creating),
        "target_amount": v.decimal("target_amount", required=creating, minimum=_ZERO, min_exclusive=True),
        "horizon_years": v.integer("horizon_years", required=creating, minimum=1, maximum=80),
        "priority": v.choice("priority", list(Goal.Priority.values)),
        "initial_amount": v.decimal("initial_amount", minimum=_ZERO),
        "monthly_contribution": v.decimal("monthly_contribution", minimum=_ZERO),
        **{name: v.decimal(name, minimum=low, maximum=high) for name, (low, high) in GOAL_RATE_BOUNDS.items()},
        "glide_path": v.boolean("glide_path"),
    }
    if v.has("name") and not values["name"] and "name" not in v.errors:
        v.add("name", "This field is required.")
    return {k: val for k, val in values.items() if v.has(k) and k not in v.errors}


def goal_create(*, actor: User, client: Client, data: dict[str, Any]) -> Goal:
    """Add a goal (amounts in today's money, horizon in whole years from today)."""
    v = Validator(data)
    fields = _goal_fields(v, creating=True)
    v.raise_if_any()
    with transaction.atomic():
        goal = Goal.objects.create(client=client, **fields)
        audit_record(action="wealth.goal.create", actor=actor, obj=goal, after=_snapshot(goal))
    return goal


def goal_update(*, actor: User, goal: Goal, data: dict[str, Any]) -> Goal:
    v = Validator(data)
    fields = _goal_fields(v, creating=False)
    v.raise_if_any()
    with transaction.atomic():
        before = _snapshot(goal)
        for name, value in fields.items():
            setattr(goal, name, value)
        goal.save()
        audit_record(action="wealth.goal.update", actor=actor, obj=goal, before=before, after=_snapshot(goal))
    return goal


def goal_delete(*, actor: User, goal: Goal) -> None:
    """Delete a goal and its plans (the audit event keeps what it was)."""
    if goal.pk is None:
        raise fail("This goal does not exist.", {"goal": "Unknown goal."})
    with transaction.atomic():
        audit_record(action="wealth.goal.delete", actor=actor, obj=goal, before=_snapshot(goal))
        goal.delete()
