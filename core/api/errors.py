"""One mapping from errors to HTTP responses for the whole API.

Every error body has the same shape: ``{"error": {"code", "message", ...details}}``.
A database that cannot be reached (restart, fail-over) is a 503 with ``Retry-After``: the
request may be retried as it is. Unexpected exceptions are logged and answered with a 500 in the
same shape, never a page.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from core.errors import DATABASE_RETRY_AFTER_S, ApplicationError, database_unavailable
from core.errors import PermissionDenied as DomainPermissionDenied

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **details}}


def _field_lists(extra: dict[str, Any]) -> dict[str, Any]:
    """Field errors always as lists of messages, whatever shape a service raised them in."""
    fields = extra.get("fields")
    if not isinstance(fields, dict):
        return extra
    return {**extra, "fields": {k: v if isinstance(v, list) else [str(v)] for k, v in fields.items()}}


def _refusal_record(exc: ApplicationError, context: dict[str, Any]) -> None:
    """A service's refusal (a rule such as four eyes, not a missing role) is audited like any
    other denied access, with the rule's message."""
    request = context.get("request")
    if request is None:
        return
    from audit.services import audit_record

    audit_record(
        action="access.denied",
        actor=request.user,
        object_type="url",
        object_id=request.path[:100],
        parameters={"method": request.method, "reason": exc.message[:500]},
    )


def database_unavailable_body() -> dict[str, Any]:
    return error_body(
        "database_unavailable",
        "The database cannot be reached right now; retry after Retry-After seconds. Re-send a batch "
        "with the same Idempotency-Key: it is then written once, whether or not this attempt was.",
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        if isinstance(exc, DomainPermissionDenied):
            _refusal_record(exc, context)
        return Response(error_body(exc.code, exc.message, **_field_lists(exc.extra)), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        # Raised when the view reads a body over DATA_UPLOAD_MAX_MEMORY_SIZE.
        return Response(
            error_body("payload_too_large", "The request body is too large; send smaller batches."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", "The request is malformed."), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        return Response(error_body("not_found", "Not found."), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        return Response(
            error_body("validation_failed", "The request is invalid.", fields=exc.detail),
            status=exc.status_code,
        )
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return Response(error_body(exc.default_code, detail), status=exc.status_code, headers=headers)
    if database_unavailable(exc):
        # Django drops the broken connection at the end of the request and reconnects on the next.
        logger.warning("Database unavailable (%s): %s", type(exc).__name__, str(exc)[:300])
        return Response(
            database_unavailable_body(),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
        )
    logger.exception("Unhandled API error")
    return Response(
        error_body("server_error", "Internal error; the request id identifies it in the logs."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
