from django.apps import AppConfig


def _after_trades(trade_ids: list[int], user_id: int | None) -> None:
    """Queue the incremental limit check of a trade batch (``risk`` queue), in its transaction."""
    from core.outbox import outbox_enqueue
    from riskapp.tasks import limits_after_trades_task

    outbox_enqueue(task_name=limits_after_trades_task.name, args=[trade_ids])


class RiskappConfig(AppConfig):
    name = "riskapp"
    verbose_name = "Market risk"

    def ready(self) -> None:
        from core.ingest.pipeline import register_followup

        register_followup("trades", _after_trades)
