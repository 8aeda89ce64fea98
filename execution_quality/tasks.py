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
        task_id=self.request.id or "",
        body=lambda run, report: tca_run_execute(run=run, progress=report),
    )


@shared_task(name="execution_quality.tasks.tca_after_trades")  # type: ignore[untyped-decorator]
def tca_after_trades_task(trade_ids: list[int]) -> int | None:
    """After an ingested trade batch: queue TCA of the parent orders it filled. Returns the run id."""
    from execution_quality.services.runs import tca_after_trades

    run = tca_after_trades(trade_ids=trade_ids)
    return run.pk if run else None


@shared_task(name="execution_quality.tasks.cost_model_retrain")  # type: ignore[untyped-decorator]
def cost_model_retrain_task() -> str | None:
    """Scheduled monthly: train a new cost model on the stored TCA results and make it active.

    Too little data is not an error of the schedule: the reason is logged and nothing changes.
    Returns the new model's version.
    """
    import logging

    from core.errors import ValidationFailed
    from execution_quality.services.model import cost_model_train

    try:
        return cost_model_train(user=None).version
    except ValidationFailed as exc:
        logging.getLogger(__name__).warning("Cost model not retrained: %s", exc.message)
        return None
