from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared mechanics every app reuses: roles, request context, API keys, CalculationRun,
    bulk ingestion and idempotency, the API error mapping."""

    name = "core"
    verbose_name = "Vigil core"
