"""Writing to and verifying the audit trail.

Callers write audit events explicitly, inside the same transaction as the change they record,
so a change and its audit row commit or roll back together.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
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


def _integral_floats_as_ints(value: Any) -> Any:
    """Write integral floats as integers, recursively.

    PostgreSQL's ``jsonb`` keeps numbers as ``numeric``: ``1e16`` comes back as
    ``10000000000000000`` (an int in Python) and ``-0.0`` as ``0.0``, so a float hashed as
    written would not hash the same after the round trip. Storing the integer form makes
    what is hashed and what is read back identical. Non-integral floats survive unchanged
    (``numeric`` keeps their shortest decimal form exactly).
    """
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {k: _integral_floats_as_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(v) for v in value]
    return value


def _normalise(value: Any) -> Any:
    """What a JSON column gives back after a round trip, so the hash survives storage.

    Decimals and dates become strings (DjangoJSONEncoder), keys become strings, integral
    floats become ints. NaN and infinities are refused (``ValueError``): JSON has no such
    numbers and PostgreSQL would reject them anyway, with a less helpful message.
    """
    if value is None:
        return None
    plain = json.loads(json.dumps(value, cls=DjangoJSONEncoder, allow_nan=False))
    return _integral_floats_as_ints(plain)


def _normalise_ip(value: str | None) -> str | None:
    """A valid address or None: what is stored in ``client_ip``.

    ``""`` (Django stores it as NULL) and values that are not an address (a unix-socket
    peer, a misconfigured proxy) become None rather than failing the audited action; an
    IPv6 zone id is dropped because ``inet`` has none.
    """
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip().split("%", 1)[0]))
    except ValueError:
        return None


def _canonical_ip(value: str | None) -> str | None:
    """The address as hashed: IPv4 dotted, IPv6 fully exploded (``0000:...:0001``).

    PostgreSQL's ``inet`` prints addresses its own way (``::ffff:192.0.2.128`` for what
    Python 3.11 writes ``::ffff:c000:280``), and Python's own form changed in 3.13, so the
    hash uses the one text form that neither the database nor the interpreter rewrites.
    """
    if not value:
        return None
    try:
        return ipaddress.ip_address(value).exploded
    except ValueError:
        return value


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
    """The hashed content of a row, in the form that survives a database round trip."""
    fields = {name: getattr(event, name) for name in _HASHED_FIELDS}
    fields["client_ip"] = _canonical_ip(fields["client_ip"])
    return fields


def inputs_hash_of(payload: Any) -> str:
    """SHA-256 of a JSON-serialisable payload (or raw bytes), for the ``inputs_hash`` field."""
    raw = payload if isinstance(payload, bytes) else _canonical(_normalise(payload))
    return hashlib.sha256(raw).hexdigest()


def audit_record(
    *,
    action: str,
    actor: User | AnonymousUser | None = None,
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
    current request context. ``actor_name`` is the user's username, ``"anonymous"`` when an
    unauthenticated actor is given (a failed login) and ``"system"`` when none is.

    Appends are serialised by a transaction-scoped advisory lock on PostgreSQL, so concurrent
    writers cannot fork the chain; the lock is held until the caller's transaction commits.
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
            actor_name=user.get_username() if user else ("anonymous" if actor is not None else "system"),
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            object_repr=object_repr[:255],
            request_id=ctx.request_id if ctx else "",
            client_ip=_normalise_ip(ctx.client_ip) if ctx else None,
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


def _link_break(event: AuditEvent, prev_id: int | None) -> ChainBreak:
    if prev_id is None:
        reason = "prev_hash is not the genesis hash although this is the first row (earlier rows removed)"
    else:
        reason = (
            f"prev_hash does not match the hash of the preceding row #{prev_id} "
            f"(a row between #{prev_id} and #{event.pk} was removed, or rows were reordered)"
        )
    return ChainBreak(event.pk, reason)


_ALTERED = "content does not match its hash (row altered)"


def audit_chain_verify() -> tuple[int, ChainBreak | None]:
    """Recompute the whole chain, oldest first. Returns (rows checked, first break or None).

    "Rows checked" counts the rows found intact before the break. Removing the newest rows
    leaves a shorter chain that is still intact: only an externally kept copy of the head
    (``audit_chain_head``) reveals that, see docs/audit.md.
    """
    prev_hash = GENESIS_HASH
    prev_id: int | None = None
    checked = 0
    for event in _iter_chain():
        if event.prev_hash != prev_hash:
            return checked, _link_break(event, prev_id)
        if event.hash != event_hash(prev_hash=prev_hash, fields=_row_fields(event)):
            return checked, ChainBreak(event.pk, _ALTERED)
        prev_hash, prev_id = event.hash, event.pk
        checked += 1
    return checked, None


def audit_chain_head() -> tuple[int, str] | None:
    """(id, hash) of the newest row, or None for an empty trail: the value to keep off-site."""
    return AuditEvent.objects.order_by("-id").values_list("id", "hash").first()


def audit_event_verify(*, event: AuditEvent) -> ChainBreak | None:
    """Check one row locally: its hash against its content, its prev_hash against the row before.

    A quick check for the detail page; only ``audit_chain_verify`` proves the whole chain.
    """
    if event.hash != event_hash(prev_hash=event.prev_hash, fields=_row_fields(event)):
        return ChainBreak(event.pk, _ALTERED)
    previous = AuditEvent.objects.filter(id__lt=event.pk).order_by("-id").values_list("id", "hash").first()
    expected_prev = previous[1] if previous else GENESIS_HASH
    if event.prev_hash != expected_prev:
        return _link_break(event, previous[0] if previous else None)
    return None
