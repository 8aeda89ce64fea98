"""The transactional outbox: follow-up tasks written with the change they follow, sent later.

A writer calls ``outbox_enqueue`` inside its transaction; the task becomes an ``OutboxMessage``
row, committed or rolled back with the change. Once the transaction commits, one prompt attempt
publishes the rows it wrote; whatever the broker refused then (Redis down or hung) stays pending
and is published by ``outbox_relay``, which celery beat runs every ``OUTBOX_RELAY_SECONDS``
(``core.tasks.outbox_relay``) and operators run with ``manage.py outbox_relay``. A request never
waits for the broker longer than ``OUTBOX_BROKER_TIMEOUT_SECONDS`` and never fails because of it.

Delivery is at least once: a row is marked sent after the broker took it, so a relay that dies
in between sends it again. Every task sent this way must be idempotent (docs/operations.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError

from core.models import OutboxMessage

logger = logging.getLogger(__name__)

# A message failing on its own (an unknown task name, arguments the broker refuses) waits
# 2^attempts seconds before the next try, at most this long; it never holds the others back.
MAX_BACKOFF_SECONDS = 3600
# A prompt attempt that found the broker down makes the next prompt attempts of this process
# skip the broker for this long: while Redis hangs, requests do not each wait for it. The
# scheduled relay ignores this.
PROMPT_PAUSE_SECONDS = 5.0

_prompt_paused_until = 0.0


def outbox_enqueue(
    *, task_name: str, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None, queue: str = ""
) -> OutboxMessage:
    """Record ``task_name(*args, **kwargs)`` to be sent once the caller's transaction commits.

    Must run inside the writer's transaction (``transaction.atomic``), which is what makes the
    task and the change one unit. ``args`` and ``kwargs`` must be JSON. An empty ``queue`` routes
    by ``CELERY_TASK_ROUTES``.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_enqueue must be called inside the writer's transaction.atomic() block.")
    message = OutboxMessage.objects.create(task_name=task_name, args=list(args), kwargs=kwargs or {}, queue=queue)
    _unsent().append(message.pk)
    # One callback per message, so a rolled-back savepoint cannot take the only one with it;
    # the first to run after commit sends every message listed, the others find the list empty.
    transaction.on_commit(_send_committed, robust=True)
    return message


def _unsent() -> list[int]:
    """Ids of messages this thread's connection wrote and has not tried to send yet. Ids of a
    rolled-back transaction may linger here; they match no row and cost nothing."""
    conn = transaction.get_connection()
    unsent: list[int] | None = getattr(conn, "_outbox_unsent", None)
    if unsent is None:
        unsent = []
        setattr(conn, "_outbox_unsent", unsent)  # noqa: B010 - an attribute of our own on Django's wrapper
    return unsent


def _send_committed() -> None:
    """The prompt attempt after commit: publish the messages this connection just committed.

    Never raises: the change is committed, and the scheduled relay sends what is left.
    """
    pending = _unsent()
    ids = list(pending)
    pending.clear()  # before sending: an eager task run by the relay may enqueue more
    if not ids:
        return
    if time.monotonic() < _prompt_paused_until:
        return  # the broker failed moments ago: leave these to the relay
    try:
        outbox_relay(ids=ids, prompt=True)
    except Exception:  # a committed request must not fail here; the rows stay pending
        logger.exception("Outbox: the prompt attempt failed; %d message(s) left to the relay", len(ids))


def outbox_relay(*, limit: int = 500, ids: Sequence[int] | None = None, prompt: bool = False) -> int:
    """Publish up to ``limit`` pending messages (only ``ids`` if given), oldest first; mark each
    sent. Returns how many were published.

    Rows are locked with ``SKIP LOCKED``, so several relays can run at once without sending a row
    twice. A broker error stops the pass: the message being sent records the attempt and the
    error, and it and the rest stay pending. Broker errors are never raised.
    """
    global _prompt_paused_until
    now = timezone.now()
    if current_app.conf.task_always_eager:
        return _relay_in_process(ids=ids, limit=limit, now=now)
    with transaction.atomic():
        qs = OutboxMessage.objects.select_for_update(skip_locked=True).filter(
            dispatched_at__isnull=True, available_at__lte=now
        )
        if ids is not None:
            qs = qs.filter(pk__in=list(ids))
        messages = list(qs.order_by("id")[:limit])
        if not messages:
            return 0
        sent: list[int] = []
        current = messages[0]
        try:
            with _publisher() as publish:
                for current in messages:
                    try:
                        publish(current)
                    except _BROKER_ERRORS:
                        raise
                    except Exception as exc:  # noqa: BLE001 - this message's own fault; the others go on
                        _record_failure(current, exc, backoff=True)
                        continue
                    sent.append(current.pk)
        except _BROKER_ERRORS as exc:
            _record_failure(current, exc, backoff=False)
            if prompt:
                _prompt_paused_until = time.monotonic() + PROMPT_PAUSE_SECONDS
            logger.warning(
                "Outbox: broker unavailable (%s); %d sent, %d left pending", exc, len(sent), len(messages) - len(sent)
            )
        if sent:
            OutboxMessage.objects.filter(pk__in=sent).update(
                dispatched_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
            )
    return len(sent)


def _relay_in_process(*, ids: Sequence[int] | None, limit: int, now: datetime) -> int:
    """Without a broker (embedded mode): claim the messages and commit, then run their tasks
    in-process *outside* that transaction, as ``apply_async`` would after commit. A run then
    commits its own progress (pages see it live) and a failing task cannot roll back the claim
    of the others. A message naming no registered task stays pending with the error."""
    with transaction.atomic():
        qs = OutboxMessage.objects.select_for_update(skip_locked=True).filter(
            dispatched_at__isnull=True, available_at__lte=now
        )
        if ids is not None:
            qs = qs.filter(pk__in=list(ids))
        messages = list(qs.order_by("id")[:limit])
        runnable = []
        for message in messages:
            if message.task_name in current_app.tasks:
                runnable.append(message)
            else:
                unknown = LookupError(f"No task named {message.task_name!r} is registered.")
                _record_failure(message, unknown, backoff=True)
        OutboxMessage.objects.filter(pk__in=[m.pk for m in runnable]).update(
            dispatched_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
        )
    for message in runnable:
        current_app.tasks[message.task_name].apply_async(args=message.args, kwargs=message.kwargs, **_options(message))
    return len(runnable)


def outbox_drain(*, limit: int = 500, max_passes: int = 20) -> int:
    """Relay pass after pass until a pass finds fewer than ``limit`` messages to send (the
    backlog is empty, or the broker failed), at most ``max_passes`` passes. Returns how many
    were published."""
    total = 0
    for _ in range(max_passes):
        published = outbox_relay(limit=limit)
        total += published
        if published < limit:
            break
    return total


def outbox_backlog() -> dict[str, Any]:
    """Pending messages: how many, and the age in seconds of the oldest (None when empty)."""
    pending = OutboxMessage.objects.filter(dispatched_at__isnull=True)
    oldest = pending.aggregate(oldest=Min("created_at"))["oldest"]
    age = (timezone.now() - oldest).total_seconds() if oldest else None
    return {"pending": pending.count(), "oldest_age_seconds": age}


def outbox_purge(*, older_than: timedelta) -> int:
    """Delete messages sent more than ``older_than`` ago (pending ones are kept, however old).
    Returns how many were deleted."""
    cutoff = timezone.now() - older_than
    deleted, _ = OutboxMessage.objects.filter(dispatched_at__lt=cutoff).delete()
    return deleted


# ---------------------------------------------------------------------------- publishing

# Errors that mean "the broker cannot be reached or answer": kombu re-raises the transport's
# connection errors as its OperationalError; sockets raise OSError (ConnectionError, TimeoutError).
_BROKER_ERRORS: tuple[type[BaseException], ...] = (BrokerOperationalError, OSError)


@contextmanager
def _publisher() -> Iterator[Callable[[OutboxMessage], None]]:
    """A function sending one message, on one broker connection opened for the pass.

    The connection is the relay's own, not the pool's: it makes one connection attempt with
    ``OUTBOX_BROKER_TIMEOUT_SECONDS`` for connecting and for each command (Celery's defaults
    retry for about six seconds, and an unreachable or hung Redis would block longer), and
    a broker restarted since the last pass is met with a fresh connection. (Without a broker,
    ``_relay_in_process`` runs the tasks instead.)
    """
    app = current_app
    timeout = settings.OUTBOX_BROKER_TIMEOUT_SECONDS
    options = {
        "max_retries": 0,  # one attempt: a pending row is retried by the next pass, not here
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
    }
    with app.connection_for_write(connect_timeout=timeout, transport_options=options) as conn:
        conn.ensure_connection(max_retries=0, timeout=timeout)
        broker_errors = (*_BROKER_ERRORS, *conn.connection_errors, *conn.channel_errors)

        def send(message: OutboxMessage) -> None:
            try:
                app.send_task(
                    message.task_name,
                    args=message.args,
                    kwargs=message.kwargs,
                    connection=conn,
                    retry=False,
                    # Nobody reads these tasks' results (pages poll CalculationRun): without this a
                    # sending process subscribes to each task's result channel and never leaves it.
                    ignore_result=True,
                    **_options(message),
                )
            except broker_errors as exc:
                if isinstance(exc, _BROKER_ERRORS):
                    raise
                raise BrokerOperationalError(str(exc)) from exc

        yield send


def _options(message: OutboxMessage) -> dict[str, Any]:
    return {"queue": message.queue} if message.queue else {}


def _record_failure(message: OutboxMessage, exc: BaseException, *, backoff: bool) -> None:
    """Count the attempt and keep the error; a message failing on its own also waits a while."""
    update: dict[str, Any] = {"attempts": F("attempts") + 1, "last_error": f"{type(exc).__name__}: {exc}"[:2000]}
    if backoff:
        delay = min(2 ** (message.attempts + 1), MAX_BACKOFF_SECONDS)
        update["available_at"] = timezone.now() + timedelta(seconds=delay)
        logger.error("Outbox: message %s (%s) failed: %s", message.pk, message.task_name, exc)
    OutboxMessage.objects.filter(pk=message.pk).update(**update)
