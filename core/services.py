"""Services for API keys and calculation runs."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from celery import Task, current_app
from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.services import audit_record
from core.errors import NotFound, ValidationFailed
from core.models import ApiKey, CalculationRun, IdempotencyRecord, Notification

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------- API keys


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(
    *, user: User, name: str, expires_in_days: int | None = 365, actor: User | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with the raw ``prefix.secret`` string, shown only once."""
    if not name.strip():
        raise ValidationFailed("An API key needs a name.", extra={"fields": {"name": ["This field is required."]}})
    if expires_in_days is not None and expires_in_days <= 0:
        raise ValidationFailed("Expiry must be a positive number of days.")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    with transaction.atomic():
        key = ApiKey.objects.create(
            user=user, name=name.strip(), prefix=prefix, secret_hash=_hash_secret(secret), expires_at=expires_at
        )
        audit_record(
            action="api_key.create",
            actor=actor or user,
            obj=key,
            after={"user": user.get_username(), "name": key.name, "expires_at": expires_at},
        )
    return key, f"{prefix}.{secret}"


# Keys recently verified by this process: sha256(raw key) -> (valid until, key with its user).
# A hot OMS client (pre-trade checks) then costs no database round trip per request; a
# revocation, expiry, deactivation or role change takes effect within API_KEY_CACHE_SECONDS.
_KEY_MEMO: dict[str, tuple[float, ApiKey]] = {}
_KEY_MEMO_MAX = 10_000


def _memo_forget(key: ApiKey) -> None:
    for digest, (_, memo) in list(_KEY_MEMO.items()):
        if memo.pk == key.pk:
            _KEY_MEMO.pop(digest, None)


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key``, or None. Comparison is constant-time."""
    ttl = settings.API_KEY_CACHE_SECONDS
    digest = _hash_secret(raw_key)
    memo = _KEY_MEMO.get(digest) if ttl > 0 else None
    if memo is not None and memo[0] > time.monotonic():
        cached = memo[1]
        if cached.expires_at is None or cached.expires_at > timezone.now():
            return cached
        _KEY_MEMO.pop(digest, None)
    key = _api_key_lookup(raw_key)
    if key is not None and ttl > 0:
        if len(_KEY_MEMO) >= _KEY_MEMO_MAX:
            _KEY_MEMO.clear()
        _KEY_MEMO[digest] = (time.monotonic() + ttl, key)
    return key


def _api_key_lookup(raw_key: str) -> ApiKey | None:
    prefix, _, secret = raw_key.partition(".")
    # Prefixes are hex; anything else (a NUL above all, which PostgreSQL refuses in text) is no key.
    if not prefix or not secret or len(prefix) > 16 or not (prefix.isascii() and prefix.isalnum()):
        return None
    key = ApiKey.objects.select_related("user").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.secret_hash, _hash_secret(secret)):
        return None
    now = timezone.now()
    if key.revoked_at or (key.expires_at and key.expires_at <= now) or not key.user.is_active:
        return None
    # Touch at most once a minute: a hot OMS client must not turn every request into a write.
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def api_key_revoke(*, key: ApiKey, actor: User) -> ApiKey:
    _memo_forget(key)
    with transaction.atomic():
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(action="api_key.revoke", actor=actor, obj=key, after={"revoked_at": key.revoked_at})
    return key


# ---------------------------------------------------------------------------- calculation runs


def calculation_run_create(
    *,
    kind: str,
    task: Task,
    parameters: dict[str, Any],
    user: User | None,
    queue: str | None = None,
) -> CalculationRun:
    """Record a queued run and dispatch ``task(run_id)`` once the transaction commits.

    Dispatching after commit means a worker never picks up a run id it cannot see yet.
    """
    with transaction.atomic():
        run = CalculationRun.objects.create(
            kind=kind, parameters=parameters, user=user, task_name=task.name, queue=queue or ""
        )
        audit_record(action="run.queue", actor=user, obj=run, parameters=parameters)
        transaction.on_commit(lambda: run_dispatch(run=run))
    return run


def run_dispatch(*, run: CalculationRun) -> None:
    """Send the run's task to the broker (again). Safe to repeat: a finished run is skipped
    by the task itself (``run_start``)."""
    options: dict[str, Any] = {"queue": run.queue} if run.queue else {}
    current_app.tasks[run.task_name].apply_async(args=[run.pk], **options)


def runs_requeue(*, older_than: timedelta) -> int:
    """Dispatch again every run still queued after ``older_than`` (its message was lost, e.g.
    the broker restarted without persistence). Returns how many were sent."""
    cutoff = timezone.now() - older_than
    runs = list(CalculationRun.objects.filter(status=CalculationRun.Status.QUEUED, created_at__lt=cutoff))
    for run in runs:
        run_dispatch(run=run)
    return len(runs)


def calculation_run_get(*, run_id: int) -> CalculationRun:
    run = CalculationRun.objects.filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"Calculation run {run_id} does not exist.")
    return run


def run_start(*, run_id: int, task_id: str = "") -> CalculationRun | None:
    """Mark a run as running. Returns None when it already finished (a redelivered task) or is
    running under a live worker (heartbeat within ``RUN_LEASE_SECONDS``), which makes every
    run-driven task idempotent and keeps two copies of a task from running at once."""
    with transaction.atomic():
        run = CalculationRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.is_finished:
            return None
        now = timezone.now()
        lease = timedelta(seconds=settings.RUN_LEASE_SECONDS)
        if run.status == CalculationRun.Status.RUNNING and run.heartbeat_at and now - run.heartbeat_at < lease:
            return None  # another worker is on it (a duplicate delivery or a re-queue)
        run.status = CalculationRun.Status.RUNNING
        run.started_at = run.started_at or now
        run.heartbeat_at = now
        run.task_id = task_id
        run.attempts = F("attempts") + 1
        run.error = ""
        run.save(update_fields=["status", "started_at", "heartbeat_at", "task_id", "attempts", "error"])
        run.refresh_from_db()
    return run


def run_progress(*, run_id: int, progress: int, message: str = "") -> None:
    """Record progress (0–100). Written outside any caller transaction so pages see it live."""
    progress = max(0, min(100, int(progress)))
    CalculationRun.objects.filter(pk=run_id).update(
        progress=progress, message=message[:255], heartbeat_at=timezone.now()
    )


def run_finish(*, run_id: int, result: dict[str, Any] | None = None, error: str = "") -> CalculationRun:
    """Mark a run succeeded (no error) or failed (with the error text), and audit the outcome."""
    with transaction.atomic():
        run = CalculationRun.objects.select_for_update().get(pk=run_id)
        run.status = CalculationRun.Status.FAILED if error else CalculationRun.Status.SUCCEEDED
        run.finished_at = timezone.now()
        run.started_at = run.started_at or run.finished_at
        if not error:
            run.progress = 100
            run.message = "Done"
        run.result = result or {}
        run.error = error
        run.save(update_fields=["status", "finished_at", "started_at", "progress", "message", "result", "error"])
        audit_record(
            action="run.fail" if error else "run.succeed",
            actor=run.user,
            obj=run,
            parameters=run.parameters,
            after={"status": run.status, "result": run.result, "error": error[:2000]},
        )
    return run


def run_execute(
    *, run_id: int, task_id: str, body: Callable[[CalculationRun, Callable[[int, str], None]], dict[str, Any]]
) -> CalculationRun | None:
    """Run ``body(run, report_progress)`` under the run's lifecycle.

    A domain error or any exception marks the run failed with its message; the exception is
    not re-raised, so Celery does not retry work that failed on its inputs.
    """
    run = run_start(run_id=run_id, task_id=task_id)
    if run is None:
        return None

    def report(progress: int, message: str = "") -> None:
        run_progress(run_id=run_id, progress=progress, message=message)

    try:
        result = body(run, report)
    except Exception as exc:  # noqa: BLE001 - every failure must end as a failed run row
        return run_finish(run_id=run_id, error=f"{type(exc).__name__}: {exc}")
    return run_finish(run_id=run_id, result=result)


def idempotency_purge(*, older_than: timedelta) -> int:
    """Delete stored idempotent replies older than ``older_than``; clients retry within minutes,
    so a week is ample. Returns how many were deleted."""
    cutoff = timezone.now() - older_than
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# ---------------------------------------------------------------------------- notifications


def notify(
    *, users: Iterable[User], title: str, body: str = "", url: str = "", level: str = "info", email: bool = True
) -> list[Notification]:
    """Write an in-app notification per user and, after commit, e-mail those with an address.

    E-mail failures are logged, never raised: a notification must not undo the change it reports.
    """
    recipients = [u for u in users if u.is_active]
    notes = Notification.objects.bulk_create(
        [Notification(user=u, title=title[:200], body=body, url=url, level=level) for u in recipients]
    )
    addresses = sorted({u.email for u in recipients if u.email})
    if email and addresses:

        def send() -> None:
            try:
                send_mail(f"[Vigil] {title}", f"{body}\n\n{url}".strip(), None, addresses, fail_silently=False)
            except Exception:
                logger.exception("Notification e-mail failed")

        transaction.on_commit(send)
    return notes
