"""User-defined stress scenarios: created and changed by risk officers, audited."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict

from audit.services import audit_record
from core.errors import ValidationFailed
from riskapp.models import Scenario


def scenario_save(*, user: User, scenario: Scenario, data: dict[str, Any]) -> Scenario:
    before = model_to_dict(scenario) if scenario.pk else None
    for name, value in data.items():
        setattr(scenario, name, value)
    if Scenario.objects.filter(name=scenario.name).exclude(pk=scenario.pk).exists():
        raise ValidationFailed("A scenario with this name exists.", extra={"fields": {"name": ["Already used."]}})
    if scenario.created_by_id is None:
        scenario.created_by = user
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: the audit row below shares the outer transaction
                scenario.save()
        except IntegrityError:  # a concurrent save took the name between the check and the insert
            raise ValidationFailed(
                "A scenario with this name exists.", extra={"fields": {"name": ["Already used."]}}
            ) from None
        audit_record(
            action="scenario.update" if before else "scenario.create",
            actor=user,
            obj=scenario,
            before=before,
            after=model_to_dict(scenario),
        )
    return scenario


def scenario_delete(*, user: User, scenario: Scenario) -> None:
    with transaction.atomic():
        audit_record(action="scenario.delete", actor=user, obj=scenario, before=model_to_dict(scenario))
        scenario.delete()
