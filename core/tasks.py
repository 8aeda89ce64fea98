"""Housekeeping tasks of the shared mechanics (queue ``default``)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task


@shared_task(name="core.tasks.idempotency_purge")
def idempotency_purge_task(days: int = 7) -> int:
    from core.services import idempotency_purge

    return idempotency_purge(older_than=timedelta(days=days))
