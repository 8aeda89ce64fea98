"""Wealth Celery tasks (queue ``wealth``): take ids, call one service."""

from __future__ import annotations

from celery import shared_task

from core.services import run_execute


@shared_task(bind=True, name="wealth.tasks.wealth_scan")  # type: ignore[untyped-decorator]
def wealth_scan_task(self, run_id: int) -> None:  # type: ignore[no-untyped-def]
    """Run one drift/harvest/goals/coaching scan (a ``wealth.scan`` CalculationRun)."""
    from wealth.services.review import wealth_scan_run

    run_execute(run_id=run_id, task=self, body=lambda run, report: wealth_scan_run(run, report))


@shared_task(name="wealth.tasks.wealth_scan_daily")  # type: ignore[untyped-decorator]
def wealth_scan_daily_task() -> int:
    """Scheduled after the US close: queue a scan of every client. Returns the run id."""
    from wealth.services.review import wealth_scan_queue

    return wealth_scan_queue(actor=None).pk
