"""Risk Celery tasks (queue ``risk``): take ids, call one service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from core.services import run_execute


@shared_task(name="riskapp.tasks.limits_after_trades")  # type: ignore[untyped-decorator]
def limits_after_trades_task(trade_ids: list[int]) -> int:
    """Incremental path after a trade batch: refresh cached state, check exposure and daily-loss limits."""
    from riskapp.services.incremental import limits_after_trades

    return limits_after_trades(trade_ids=trade_ids)


@shared_task(bind=True, name="riskapp.tasks.risk_run")  # type: ignore[untyped-decorator]
def risk_run_task(self, run_id: int) -> None:  # type: ignore[no-untyped-def]
    """Compute one risk run (a ``risk.run`` CalculationRun), or queue its Monte Carlo shards
    when it is large (the chord below then finishes it). A finished run is left alone."""
    from riskapp.services.mc_shards import risk_run_execute_or_scatter

    run_execute(
        run_id=run_id,
        task=self,
        body=lambda run, report: risk_run_execute_or_scatter(run=run, progress=report),
    )


# The chord of a sharded risk run (riskapp.services.mc_shards). Only the shards store results:
# the chord hands them to its body; nothing else reads the result backend.
@shared_task(bind=True, name="riskapp.tasks.risk_mc_shard", ignore_result=False)  # type: ignore[untyped-decorator]
def risk_mc_shard_task(self, run_id: int, method: str, horizon: int, block_start: int, block_stop: int):  # type: ignore[no-untyped-def]
    """Simulate blocks [block_start, block_stop) of a run's Monte Carlo; return their tail losses."""
    from riskapp.services.mc_shards import risk_mc_shard

    return risk_mc_shard(
        run_id=run_id, method=method, horizon_days=horizon, block_start=block_start, block_stop=block_stop, task=self
    )


@shared_task(bind=True, name="riskapp.tasks.risk_run_gather")  # type: ignore[untyped-decorator]
def risk_run_gather_task(self, shards: list[dict[str, Any]], run_id: int) -> None:  # type: ignore[no-untyped-def]
    """The chord's body: merge the shards' tails, compute the rest of the run and finish it."""
    from riskapp.services.mc_shards import risk_run_gather

    risk_run_gather(run_id=run_id, shards=shards, task=self)


@shared_task(name="riskapp.tasks.risk_run_shards_failed")  # type: ignore[untyped-decorator]
def risk_run_shards_failed_task(request, exc, traceback, run_id: int) -> None:  # type: ignore[no-untyped-def]
    """The chord's error callback (called in the worker with the failed task's request): fail the run."""
    from riskapp.services.mc_shards import risk_run_shards_failed

    risk_run_shards_failed(run_id=run_id, exc=exc)


@shared_task(name="riskapp.tasks.risk_runs_all")  # type: ignore[untyped-decorator]
def risk_runs_all_task() -> int:
    """Scheduled end of day: queue a default risk run for every portfolio (latest price day)."""
    from riskapp.services.runs import risk_runs_queue_all

    return len(risk_runs_queue_all(user=None))
