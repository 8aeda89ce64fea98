"""Per-request (or per-task) context that the audit trail and logs read: request id, client IP.

Stored in a ContextVar so it follows the request through services without being passed
explicitly, and is empty in commands and tasks unless they set it.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    client_ip: str | None = None


_current: ContextVar[RequestContext | None] = ContextVar("vigil_request_context", default=None)


def current() -> RequestContext | None:
    return _current.get()


def set_current(ctx: RequestContext | None) -> object:
    return _current.set(ctx)


def reset(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def new_request_id() -> str:
    return uuid.uuid4().hex
