from django.apps import AppConfig


class AuditConfig(AppConfig):
    """Append-only, hash-chained audit trail shared by every app."""

    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from audit import signals

        signals.connect()
