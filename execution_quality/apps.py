from django.apps import AppConfig
from django.conf import settings


def _after_trades(ids: list[int], user_id: int | None) -> None:
    """Queue TCA of the parent orders of a trade batch (``tca`` queue), in its transaction."""
    if settings.TCA_INCREMENTAL:
        from core.outbox import outbox_enqueue
        from execution_quality.tasks import tca_after_trades_task

        outbox_enqueue(task_name=tca_after_trades_task.name, args=[ids])


class ExecutionQualityConfig(AppConfig):
    name = "execution_quality"
    verbose_name = "Best execution"

    def ready(self) -> None:
        from core.ingest.pipeline import register_followup

        register_followup("trades", _after_trades)
