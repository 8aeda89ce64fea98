"""Best execution Celery tasks (queue ``tca``): take ids, call one service."""

from __future__ import annotations

from celery import shared_task

from core.services import run_execute


@shared_task(bind=True, name="execution_quality.tasks.tca_run")  # type: ignore[untyped-decorator]
def tca_run_task(self, run_id: int) -> None:  # type: ignore[no-untyped-def]
    """Compute one TCA run (a ``tca.run`` CalculationRun). A finished run is left alone."""
    from execution_quality.services.runs import tca_run_execute

    run_execute(
        run_id=run_id,
        task=self,
        body=lambda run, report: tca_run_execute(run=run, progress=report),
    )


@shared_task(name="execution_quality.tasks.tca_after_trades")  # type: ignore[untyped-decorator]
def tca_after_trades_task(trade_ids: list[int]) -> int | None:
    """After an ingested trade batch: queue TCA of the parent orders it filled. Returns the run id."""
    from execution_quality.services.runs import tca_after_trades

    run = tca_after_trades(trade_ids=trade_ids)
    return run.pk if run else None


@shared_task(bind=True, name="execution_quality.tasks.cost_model_train")  # type: ignore[untyped-decorator]
def cost_model_train_task(self, run_id: int) -> None:  # type: ignore[no-untyped-def]
    """Train the cost model (a ``tca.model_train`` CalculationRun). A finished run is left alone;
    too little data ends the run as failed with the reason as its error."""
    from execution_quality.services.model import cost_model_train_execute

    run_execute(
        run_id=run_id,
        task=self,
        body=lambda run, report: cost_model_train_execute(run=run, progress=report),
    )


@shared_task(name="execution_quality.tasks.cost_model_retrain")  # type: ignore[untyped-decorator]
def cost_model_retrain_task() -> int:
    """Scheduled monthly: queue a training of the cost model, the same run "Retrain now" starts.

    Too little data is recorded on the run (failed, with the reason); nothing else changes.
    Returns the run id.
    """
    from execution_quality.services.model import cost_model_train_create

    return cost_model_train_create(user=None).pk
