"""Writing to and verifying the audit trail.

Callers write audit events explicitly, inside the same transaction as the change they record,
so a change and its audit row commit or roll back together.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from audit.models import AuditEvent
from core import context
from core.version import CODE_VERSION

GENESIS_HASH = "0" * 64
# Any constant works; it names the one advisory lock that serialises appends to the chain.
_CHAIN_LOCK_ID = 0x5649_4749_4C41  # "VIGILA"

_HASHED_FIELDS = (
    "occurred_at",
    "actor_id",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "request_id",
    "client_ip",
    "before",
    "after",
    "inputs_hash",
    "parameters",
    "code_version",
    "explanation",
)


def _normalise(value: Any) -> Any:
    """What a JSON column gives back after a round trip (decimals and dates become strings)."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


def event_hash(*, prev_hash: str, fields: dict[str, Any]) -> str:
    """SHA-256 of the previous hash followed by the canonical JSON of the row's content."""
    content = dict(fields)
    occurred = content["occurred_at"]
    if isinstance(occurred, datetime):
        content["occurred_at"] = occurred.astimezone(UTC).isoformat(timespec="microseconds")
    return hashlib.sha256(prev_hash.encode() + _canonical(content)).hexdigest()


def _row_fields(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in _HASHED_FIELDS}


def inputs_hash_of(payload: Any) -> str:
    """SHA-256 of a JSON-serialisable payload (or raw bytes), for the ``inputs_hash`` field."""
    raw = payload if isinstance(payload, bytes) else _canonical(_normalise(payload))
    return hashlib.sha256(raw).hexdigest()


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    object_repr: str = "",
    before: Any = None,
    after: Any = None,
    inputs_hash: str = "",
    parameters: Any = None,
    code_version: str = CODE_VERSION,
    explanation: Any = None,
) -> AuditEvent:
    """Append one event to the chain and return it.

    ``obj`` fills object type/id/repr when given. Request id and client IP come from the
    current request context. Appends are serialised by a transaction-scoped advisory lock on
    PostgreSQL, so concurrent writers cannot fork the chain; the lock is held until the
    caller's transaction commits.
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
    ctx = context.current()
    user = actor if actor is not None and actor.is_authenticated else None
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_ID])
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        prev_hash = last or GENESIS_HASH
        event = AuditEvent(
            occurred_at=timezone.now(),
            actor_id=user.pk if user else None,
            actor_name=user.get_username() if user else "system",
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            object_repr=object_repr[:255],
            request_id=ctx.request_id if ctx else "",
            client_ip=ctx.client_ip if ctx else None,
            before=_normalise(before),
            after=_normalise(after),
            inputs_hash=inputs_hash,
            parameters=_normalise(parameters),
            code_version=code_version,
            explanation=_normalise(explanation),
            prev_hash=prev_hash,
        )
        event.hash = event_hash(prev_hash=prev_hash, fields=_row_fields(event))
        event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class ChainBreak:
    """The first row whose stored hashes disagree with the recomputed chain."""

    event_id: int
    reason: str


def _iter_chain(batch_size: int = 5000) -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size)


def audit_chain_verify() -> tuple[int, ChainBreak | None]:
    """Recompute the whole chain. Returns (rows checked, first break or None)."""
    prev_hash = GENESIS_HASH
    checked = 0
    for event in _iter_chain():
        if event.prev_hash != prev_hash:
            return checked, ChainBreak(event.pk, "prev_hash does not match the previous row (row removed or reordered)")
        expected = event_hash(prev_hash=prev_hash, fields=_row_fields(event))
        if event.hash != expected:
            return checked, ChainBreak(event.pk, "content does not match its hash (row altered)")
        prev_hash = event.hash
        checked += 1
    return checked, None
