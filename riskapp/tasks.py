"""Risk Celery tasks (queue ``risk``): take ids, call one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="riskapp.tasks.limits_after_trades")
def limits_after_trades_task(trade_ids: list[int]) -> int:
    """Incremental path after a trade batch: refresh cached state, check exposure and daily-loss limits."""
    from riskapp.services.incremental import limits_after_trades

    return limits_after_trades(trade_ids=trade_ids)
