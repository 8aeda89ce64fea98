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
