from django.apps import AppConfig
from django.conf import settings


def _after_order_events(ids: list[int], user_id: int | None) -> None:
    """Queue incremental detection for a batch of order events (``surveillance`` queue), in its
    transaction."""
    if settings.SURVEILLANCE_INCREMENTAL:
        _queue_detection(ids, [], user_id)


def _after_trades(ids: list[int], user_id: int | None) -> None:
    if settings.SURVEILLANCE_INCREMENTAL:
        _queue_detection([], ids, user_id)


def _queue_detection(order_event_ids: list[int], trade_ids: list[int], user_id: int | None) -> None:
    from core.outbox import outbox_enqueue
    from surveillance.tasks import surveillance_after_batch_task

    outbox_enqueue(task_name=surveillance_after_batch_task.name, args=[order_event_ids, trade_ids, user_id])


class SurveillanceConfig(AppConfig):
    name = "surveillance"
    verbose_name = "Surveillance"

    def ready(self) -> None:
        from core.ingest.pipeline import register_followup

        register_followup("order_events", _after_order_events)
        register_followup("trades", _after_trades)
