"""Domain errors raised by services. The API maps them to HTTP statuses in one place
(``core.api.errors``); views turn them into form errors or messages."""

from __future__ import annotations

from typing import Any


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
