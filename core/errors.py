"""Domain errors raised by services. The API maps them to HTTP statuses in one place
(``core.api.errors``); views turn them into form errors or messages."""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError

# What a client is told to wait after the database could not be reached: a restart or fail-over
# of PostgreSQL takes a few seconds, and Django reconnects on the next request by itself
# (CONN_HEALTH_CHECKS).
DATABASE_RETRY_AFTER_S = 5


class ApplicationError(Exception):
    """Base of every error a service raises on purpose. ``status`` is the HTTP mapping."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class ValidationFailed(ApplicationError):
    code = "validation_failed"


class NotFound(ApplicationError):
    status = 404
    code = "not_found"


class PermissionDenied(ApplicationError):
    status = 403
    code = "permission_denied"


class Conflict(ApplicationError):
    status = 409
    code = "conflict"


class IdempotencyMismatch(ApplicationError):
    status = 422
    code = "idempotency_key_reused"


class PayloadTooLarge(ApplicationError):
    status = 413
    code = "batch_too_large"


def database_unavailable(exc: BaseException | None) -> bool:
    """True for the errors of a database that cannot be reached or dropped the connection
    (restart, fail-over, network): a transient state, answered 503 with ``Retry-After``."""
    return isinstance(exc, OperationalError | InterfaceError)
