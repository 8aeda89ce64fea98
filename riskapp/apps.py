from django.apps import AppConfig


def _after_trades(trade_ids: list[int], user_id: int | None) -> None:
    """Queue the incremental limit check for a committed trade batch (on the ``risk`` queue)."""
    from riskapp.tasks import limits_after_trades_task

    limits_after_trades_task.delay(trade_ids)


class RiskappConfig(AppConfig):
    name = "riskapp"
    verbose_name = "Market risk"

    def ready(self) -> None:
        from core.ingest.pipeline import register_followup

        register_followup("trades", _after_trades)
