"""Risk Celery tasks (queue ``risk``): take ids, call one service."""

from __future__ import annotations

from celery import shared_task

from core.services import run_execute


@shared_task(name="riskapp.tasks.limits_after_trades")  # type: ignore[untyped-decorator]
def limits_after_trades_task(trade_ids: list[int]) -> int:
    """Incremental path after a trade batch: refresh cached state, check exposure and daily-loss limits."""
    from riskapp.services.incremental import limits_after_trades

    return limits_after_trades(trade_ids=trade_ids)


@shared_task(bind=True, name="riskapp.tasks.risk_run")  # type: ignore[untyped-decorator]
def risk_run_task(self, run_id: int) -> None:  # type: ignore[no-untyped-def]
    """Compute one risk run (a ``risk.run`` CalculationRun). A finished run is left alone."""
    from riskapp.services.runs import risk_run_execute

    run_execute(
        run_id=run_id,
        task_id=self.request.id or "",
        body=lambda run, report: risk_run_execute(run=run, progress=report),
    )


@shared_task(name="riskapp.tasks.risk_runs_all")  # type: ignore[untyped-decorator]
def risk_runs_all_task() -> int:
    """Scheduled end of day: queue a default risk run for every portfolio (latest price day)."""
    from riskapp.services.runs import risk_runs_queue_all

    return len(risk_runs_queue_all(user=None))
