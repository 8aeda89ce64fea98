"""Every change made in the admin leaves an audit event, with before and after values."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.db.models import QuerySet
from django.forms.models import model_to_dict
from django.http import HttpRequest

from audit.services import audit_record


def snapshot(obj: models.Model) -> dict[str, Any]:
    """The object's fields as JSON-safe values (related objects by primary key; no secrets)."""
    data = model_to_dict(obj)
    data.pop("password", None)  # a hash, but still not something an audit row should carry
    for key, value in list(data.items()):
        if isinstance(value, models.Model):
            data[key] = value.pk
        elif isinstance(value, list | tuple | QuerySet):
            data[key] = sorted(v.pk if isinstance(v, models.Model) else v for v in value)
        elif hasattr(value, "name") and hasattr(value, "url"):  # files
            data[key] = str(value)
    return data


class AuditedAdminMixin:
    """Mix into a ModelAdmin: add, change (including many-to-many) and delete are audited."""

    def save_model(self, request: HttpRequest, obj: models.Model, form: Any, change: bool) -> None:
        obj._audit_before = snapshot(type(obj)._default_manager.get(pk=obj.pk)) if change and obj.pk else None  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)  # type: ignore[misc]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_related(request, form, formsets, change)  # type: ignore[misc]
            obj = form.instance
            audit_record(
                action="admin.change" if change else "admin.add",
                actor=request.user,
                obj=obj,
                before=getattr(obj, "_audit_before", None),
                after=snapshot(obj),
            )

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        with transaction.atomic():
            audit_record(action="admin.delete", actor=request.user, obj=obj, before=snapshot(obj))
            super().delete_model(request, obj)  # type: ignore[misc]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():
            for obj in queryset:
                audit_record(action="admin.delete", actor=request.user, obj=obj, before=snapshot(obj))
            super().delete_queryset(request, queryset)  # type: ignore[misc]
