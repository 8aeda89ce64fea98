from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_role_groups(sender: AppConfig, **kwargs: Any) -> None:
    """Roles are groups; recreate any missing one after migrate and after a test flush."""
    from django.contrib.auth.models import Group

    from core.roles import Role

    using = kwargs.get("using", "default")
    for role in Role:
        Group.objects.using(using).get_or_create(name=role.value)


class CoreConfig(AppConfig):
    """Shared mechanics every app reuses: roles, request context, API keys, CalculationRun,
    bulk ingestion and idempotency, the API error mapping."""

    name = "core"
    verbose_name = "Vigil core"

    def ready(self) -> None:
        post_migrate.connect(_ensure_role_groups, sender=self)
