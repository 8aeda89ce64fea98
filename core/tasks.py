"""Housekeeping tasks of the shared mechanics (queue ``default``)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task


@shared_task(name="core.tasks.idempotency_purge")
def idempotency_purge_task(days: int = 7) -> int:
    from core.services import idempotency_purge

    return idempotency_purge(older_than=timedelta(days=days))


@shared_task(name="core.tasks.outbox_relay")  # type: ignore[untyped-decorator]
def outbox_relay_task() -> int:
    """Scheduled: send every pending outbox message the broker refused earlier. Returns how many."""
    from core.outbox import outbox_drain

    return outbox_drain()


@shared_task(name="core.tasks.outbox_purge")  # type: ignore[untyped-decorator]
def outbox_purge_task(days: int = 7) -> int:
    from core.outbox import outbox_purge

    return outbox_purge(older_than=timedelta(days=days))


@shared_task(name="core.tasks.runs_requeue")  # type: ignore[untyped-decorator]
def runs_requeue_task(minutes: int = 30) -> int:
    """Scheduled: send again the runs still queued after ``minutes`` whose message was lost (a
    broker restarted without persistence, a retry the broker refused). A duplicate is harmless:
    ``run_start`` skips a run that finished or is running under a live lease."""
    from core.services import runs_requeue

    return runs_requeue(older_than=timedelta(minutes=minutes))
