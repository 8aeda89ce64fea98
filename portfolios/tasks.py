"""Celery tasks of the shared model. Thin: take ids, call one service."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from core.services import run_execute
from portfolios.models import Portfolio


@shared_task(bind=True, name="portfolios.tasks.positions_snapshot")
def positions_snapshot_task(self, run_id: int) -> None:  # type: ignore[no-untyped-def]
    from portfolios.services import positions_snapshot_run

    run_execute(
        run_id=run_id,
        task=self,
        body=lambda run, report: positions_snapshot_run(run=run, progress=report),
    )


@shared_task(name="portfolios.tasks.snapshot_all_portfolios")
def snapshot_all_portfolios_task() -> int:
    """Scheduled after the close (22:30 UTC): queue a snapshot run of every portfolio for the
    UTC day that just closed."""
    from core.services import calculation_run_create

    as_of = timezone.now().date().isoformat()
    count = 0
    for pk in Portfolio.objects.values_list("pk", flat=True):
        calculation_run_create(
            kind="positions.snapshot",
            task=positions_snapshot_task,
            parameters={"portfolio_id": pk, "as_of": as_of},
            user=None,
        )
        count += 1
    return count
