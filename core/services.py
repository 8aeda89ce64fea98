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

from celery import Task
from celery.exceptions import Ignore, Reject, Retry
from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import DatabaseError, connections, transaction
from django.db.models import F
from django.utils import timezone

from audit.services import audit_record
from core.errors import ApplicationError, NotFound, ValidationFailed
from core.models import ApiKey, CalculationRun, IdempotencyRecord, Notification, OutboxMessage
from core.outbox import outbox_enqueue

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
    """Record a queued run and, in the same transaction, the outbox message of ``task(run_id)``.

    The message is sent once the transaction commits, so a worker never picks up a run id it
    cannot see yet, and a broker that is down delays the run instead of losing it (core.outbox).
    """
    with transaction.atomic():
        run = CalculationRun.objects.create(
            kind=kind, parameters=parameters, user=user, task_name=task.name, queue=queue or ""
        )
        audit_record(action="run.queue", actor=user, obj=run, parameters=parameters)
        run_dispatch(run=run)
    return run


def run_dispatch(*, run: CalculationRun) -> None:
    """Queue the run's task (again) through the outbox; it is sent when the transaction commits.
    Safe to repeat: a finished run is skipped by the task itself (``run_start``)."""
    with transaction.atomic():
        outbox_enqueue(task_name=run.task_name, args=[run.pk], queue=run.queue)


def runs_requeue(*, older_than: timedelta) -> int:
    """Dispatch again every run still queued after ``older_than`` whose message was sent and
    then lost (e.g. the broker restarted without persistence). A run whose message still waits
    in the outbox is left to the relay. Returns how many were queued again."""
    cutoff = timezone.now() - older_than
    runs = list(CalculationRun.objects.filter(status=CalculationRun.Status.QUEUED, created_at__lt=cutoff))
    waiting = {
        (name, args[0])
        for name, args in OutboxMessage.objects.filter(
            dispatched_at__isnull=True, task_name__in={run.task_name for run in runs}
        ).values_list("task_name", "args")
        if isinstance(args, list) and len(args) == 1
    }
    runs = [run for run in runs if (run.task_name, run.pk) not in waiting]
    with transaction.atomic():  # one commit: one prompt attempt sends them all
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
        # ``error`` keeps a failed earlier attempt's error in sight until this one ends.
        run.save(update_fields=["status", "started_at", "heartbeat_at", "task_id", "attempts"])
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
        if run.is_finished:
            return run  # finished by another delivery of its task: one outcome, audited once
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


#: Failures that say the run's inputs are wrong: another attempt would fail the same way, so the
#: run fails at once. Services raise ``ApplicationError``; every engine signals bad input with a
#: ``ValueError`` subclass (``RiskInputError``, ``SurveillanceInputError``, ``TcaInputError``, the
#: wealth engine's errors), which core names by their base: feature apps import core, not the reverse.
FAIL_AT_ONCE: tuple[type[Exception], ...] = (ApplicationError, ValueError)
# Celery's own control flow (a body that retries or rejects on purpose) passes through untouched.
_CELERY_CONTROL = (Retry, Ignore, Reject)

RunBody = Callable[[CalculationRun, Callable[[int, str], None]], dict[str, Any]]


def run_retry_delay(*, attempt: int) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): ``RUN_RETRY_BACKOFF_SECONDS``
    doubled per attempt, capped at ``RUN_RETRY_BACKOFF_MAX_SECONDS``."""
    base = settings.RUN_RETRY_BACKOFF_SECONDS
    return float(min(base * 2 ** max(0, attempt - 1), settings.RUN_RETRY_BACKOFF_MAX_SECONDS))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


def _connections_recover() -> None:
    """Drop database connections a failure left unusable (a restarted server, a cut network) so
    the bookkeeping after it opens a fresh one. A connection inside a transaction (an eager run
    under a test or a request) is the caller's and is left alone."""
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()


def run_retry_wait(*, run_id: int, attempt: int, max_attempts: int, error: str, delay_s: float) -> bool:
    """Put a run whose attempt failed back in the queue while its retry waits: status queued,
    the failure in ``message`` (short) and ``error`` (full, kept until the run succeeds).
    Returns False when the row could not be written (the database is the failure)."""
    first_line = error.splitlines()[0] if error else ""
    when = f"retrying in {delay_s:g} s" if delay_s > 0 else "retrying now"
    message = f"Attempt {attempt} of {max_attempts} failed ({first_line[:150]}); {when}"
    try:
        CalculationRun.objects.filter(pk=run_id, status=CalculationRun.Status.RUNNING).update(
            status=CalculationRun.Status.QUEUED, message=message[:255], error=error
        )
    except DatabaseError:
        logger.exception("Could not record the failed attempt of run %s", run_id)
        return False
    return True


def run_execute(*, run_id: int, task: Task | None, body: RunBody) -> CalculationRun | None:
    """Run ``body(run, report_progress)`` under the run's lifecycle, inside Celery task ``task``.

    Retry policy: an error on the run's inputs (``FAIL_AT_ONCE``) fails the run at once. Any
    other exception (a lost database connection, a lock timeout, a bug) puts the run back in the
    queue and has Celery try again after ``run_retry_delay``, until the run has been attempted
    ``RUN_MAX_RETRIES + 1`` times; then it fails with the last error and the number of attempts.
    ``run.attempts`` is the count: it also counts deliveries to a worker that died, so a run that
    kills its worker each time ends failed too. Without a task (in-process callers) nothing is
    retried. A failure is audited once, when the run ends (``run.fail``).
    """
    request = task.request if task is not None else None
    run = run_start(run_id=run_id, task_id=(request.id if request is not None else "") or "")
    if run is None:
        return None
    max_attempts = settings.RUN_MAX_RETRIES + 1
    if run.attempts > max_attempts:
        return run_finish(
            run_id=run_id,
            error=f"Gave up after {run.attempts - 1} attempts that ended without finishing (worker lost).",
        )

    def report(progress: int, message: str = "") -> None:
        run_progress(run_id=run_id, progress=progress, message=message)

    try:
        result = body(run, report)
    except _CELERY_CONTROL:
        raise
    except FAIL_AT_ONCE as exc:
        return run_finish(run_id=run_id, error=_describe(exc))
    except Exception as exc:  # anything else may pass on another attempt
        _connections_recover()
        error = _describe(exc)
        # A task called as a plain function (no worker, no eager apply) cannot be retried either.
        if task is None or request is None or request.called_directly or run.attempts >= max_attempts:
            if run.attempts > 1:
                error = f"{error}\nGave up after {run.attempts} attempts."
            return run_finish(run_id=run_id, error=error)
        # Eager Celery runs the retry in-process at once, whatever the countdown says.
        delay_s = 0.0 if request.is_eager else run_retry_delay(attempt=run.attempts)
        logger.warning(
            "Run %s attempt %s of %s failed, retrying in %g s: %s", run_id, run.attempts, max_attempts, delay_s, error
        )
        if not run_retry_wait(
            run_id=run_id, attempt=run.attempts, max_attempts=max_attempts, error=error, delay_s=delay_s
        ):
            # The run still looks owned (running, fresh heartbeat): retry once its lease has run out.
            delay_s = max(delay_s, float(settings.RUN_LEASE_SECONDS))
        # ``run.attempts`` bounds the retries, not Celery's counter: allow exactly this one.
        raise task.retry(exc=exc, countdown=delay_s, max_retries=request.retries + 1) from exc
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
