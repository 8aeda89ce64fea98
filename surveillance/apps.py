from django.apps import AppConfig
from django.conf import settings


def _after_order_events(ids: list[int], user_id: int | None) -> None:
    """Queue incremental detection for a committed batch of order events (``surveillance`` queue)."""
    if settings.SURVEILLANCE_INCREMENTAL:
        from surveillance.tasks import surveillance_after_batch_task

        surveillance_after_batch_task.delay(ids, [], user_id)


def _after_trades(ids: list[int], user_id: int | None) -> None:
    if settings.SURVEILLANCE_INCREMENTAL:
        from surveillance.tasks import surveillance_after_batch_task

        surveillance_after_batch_task.delay([], ids, user_id)


class SurveillanceConfig(AppConfig):
    name = "surveillance"
    verbose_name = "Surveillance"

    def ready(self) -> None:
        from core.ingest.pipeline import register_followup

        register_followup("order_events", _after_order_events)
        register_followup("trades", _after_trades)
