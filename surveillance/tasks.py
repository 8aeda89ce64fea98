"""Surveillance Celery tasks (queue ``surveillance``): take ids, call one service."""

from __future__ import annotations

from celery import shared_task

from core.services import run_execute


@shared_task(bind=True, name="surveillance.tasks.surveillance_run")  # type: ignore[untyped-decorator]
def surveillance_run_task(self, run_id: int) -> None:  # type: ignore[no-untyped-def]
    """Run one detection pass (a sweep or incremental ``CalculationRun``). A finished run is left alone."""
    from surveillance.services.runs import surveillance_run_execute

    run_execute(
        run_id=run_id,
        task=self,
        body=lambda run, report: surveillance_run_execute(run=run, progress=report),
    )


@shared_task(name="surveillance.tasks.surveillance_sweep_nightly")  # type: ignore[untyped-decorator]
def surveillance_sweep_nightly_task() -> int:
    """Scheduled: queue the nightly sweep over the last ``SURVEILLANCE_SWEEP_DAYS``. Returns the run id."""
    from surveillance.services.runs import surveillance_sweep_create

    return surveillance_sweep_create(user=None).pk


@shared_task(name="surveillance.tasks.surveillance_after_batch")  # type: ignore[untyped-decorator]
def surveillance_after_batch_task(order_event_ids: list[int], trade_ids: list[int], user_id: int | None) -> int | None:
    """After an ingested batch: queue incremental detection over what it touched."""
    from django.contrib.auth.models import User

    from surveillance.services.runs import surveillance_incremental_create

    user = User.objects.filter(pk=user_id).first() if user_id else None
    run = surveillance_incremental_create(order_event_ids=order_event_ids, trade_ids=trade_ids, user=user)
    return run.pk if run else None
