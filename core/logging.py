"""Log records carry the request id of the request (or task) that produced them.

In a Celery task they also carry the task's id and name and the ``CalculationRun`` id it works
on, and the request id of the request that queued it (sent along in a message header), so one
search finds a request and the work it started. The task context is for logs only: the audit
trail's request id still comes from ``core.context`` alone.
"""

from __future__ import annotations

import inspect
import logging
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from celery import signals

from core import context

# Message header carrying the queuing request's id to the worker.
REQUEST_ID_HEADER = "vigil_request_id"


@dataclass(frozen=True)
class TaskContext:
    task_id: str
    task_name: str
    run_id: int | None
    request_id: str | None  # of the request that queued the task, if one did


_task: ContextVar[TaskContext | None] = ContextVar("vigil_task_context", default=None)
_tokens: dict[str, Token[TaskContext | None]] = {}


def current_task() -> TaskContext | None:
    return _task.get()


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = context.current()
        task = _task.get()
        record.request_id = (ctx.request_id if ctx else None) or (task.request_id if task else None) or "-"
        if task is not None:
            record.task_id = task.task_id
            record.task_name = task.task_name
            record.run_id = task.run_id
        return True


def _run_id(task: Any, args: Any, kwargs: Any) -> int | None:
    """The ``run_id`` argument of the task call, if its function takes one (all run tasks do)."""
    try:
        bound = inspect.signature(task.run).bind_partial(*(args or ()), **(kwargs or {}))
    except (TypeError, ValueError):
        return None
    value = bound.arguments.get("run_id")
    return value if isinstance(value, int) else None


def _task_started(task_id: str | None = None, task: Any = None, args: Any = None, kwargs: Any = None, **_: Any) -> None:
    if task_id is None or task is None:
        return
    request = getattr(task, "request", None)
    origin = getattr(request, REQUEST_ID_HEADER, None) or (getattr(request, "headers", None) or {}).get(
        REQUEST_ID_HEADER
    )
    ctx = TaskContext(
        task_id=task_id,
        task_name=task.name,
        run_id=_run_id(task, args, kwargs),
        request_id=origin if isinstance(origin, str) else None,
    )
    _tokens[task_id] = _task.set(ctx)


def _task_finished(task_id: str | None = None, **_: Any) -> None:
    token = _tokens.pop(task_id or "", None)
    if token is None:
        return
    try:
        _task.reset(token)
    except ValueError:  # set in another context (should not happen): clear rather than leak
        _task.set(None)


def _task_publishing(headers: dict[str, Any] | None = None, **_: Any) -> None:
    ctx = context.current()
    if ctx is not None and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, ctx.request_id)


def task_signals_connect() -> None:
    """Connected once by the Celery app (``config.celery``), in web and worker processes alike."""
    signals.task_prerun.connect(_task_started, weak=False, dispatch_uid="vigil.task_context.start")
    signals.task_postrun.connect(_task_finished, weak=False, dispatch_uid="vigil.task_context.finish")
    signals.before_task_publish.connect(_task_publishing, weak=False, dispatch_uid="vigil.task_context.publish")
