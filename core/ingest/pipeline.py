"""The bulk ingestion pipeline shared by every entity.

1. Parse the body (JSON only, ``{"rows": [...]}``) and check the batch size.
2. Validate every row, resolve every reference with one query per referenced table, and
   detect duplicates inside the batch; report *all* errors at once.
3. Write in one transaction: PostgreSQL COPY straight into the table, or, when a row already
   exists, COPY into a temporary staging table and one ``INSERT ... SELECT ... ON CONFLICT DO
   NOTHING`` (SQLite: ``bulk_create``); then hooks, the audit event, and follow-up tasks
   queued in the outbox (core.outbox), sent after commit.

A batch of 10,000 rows is the hot path (docs/benchmarks.md): keep per-row work lean.
"""

from __future__ import annotations

import gc
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from typing import Any

import orjson
from django.conf import settings
from django.contrib.auth.models import User
from django.db import DataError, IntegrityError, OperationalError, connection, models, transaction

from audit.services import audit_record
from core.errors import Conflict, IdempotencyMismatch, PayloadTooLarge, ValidationFailed
from core.ingest.fields import FieldError, Parser
from core.ingest.spec import Batch, EntitySpec, RefRow
from core.models import IdempotencyRecord

Followup = Callable[[list[int], int | None], None]
_FOLLOWUPS: dict[str, list[Followup]] = defaultdict(list)

# Reported errors are capped so a 10,000-row batch of garbage does not produce a 10 MB reply;
# the response says how many rows failed in total.
MAX_REPORTED_ROW_ERRORS = 1000


def register_followup(entity: str, callback: Followup) -> None:
    """Ask for ``callback(created_ids, user_id)`` with every batch of ``entity`` that created rows.

    The callback runs inside the batch's transaction and queues its work with
    ``core.outbox.outbox_enqueue``, never straight to the broker: the work is committed with the
    rows, and sent after commit or, with the broker down, once it is back. Feature apps register
    in ``AppConfig.ready`` (incremental surveillance, TCA of new fills, limit checks), so the
    shared model never imports them.
    """
    _FOLLOWUPS[entity].append(callback)


@dataclass(frozen=True)
class IngestResult:
    entity: str
    received: int
    created: int
    audit_event_id: int

    @property
    def existing(self) -> int:
        return self.received - self.created

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "received": self.received,
            "created": self.created,
            "existing": self.existing,
            "audit_event_id": self.audit_event_id,
        }


# ---------------------------------------------------------------------------- parsing


def parse_body(body: bytes) -> list[Any]:
    """The ``rows`` list of a JSON body, or a 400/413 explaining what is wrong."""
    if not body:
        raise ValidationFailed('The request body is empty; send {"rows": [...]}.')
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        # orjson also refuses NaN and Infinity, which are not JSON.
        raise ValidationFailed(f"The body is not valid JSON: {exc}.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("rows"), list):
        raise ValidationFailed('The body must be a JSON object with a "rows" list.')
    unknown = set(payload) - {"rows"}
    if unknown:
        raise ValidationFailed(f"Unknown top-level keys: {', '.join(sorted(unknown))}.")
    rows: list[Any] = payload["rows"]
    limit = settings.INGEST_MAX_ROWS
    if len(rows) > limit:
        raise PayloadTooLarge(f"A batch holds at most {limit} rows; this one has {len(rows)}. Split it.")
    if not rows:
        raise ValidationFailed("The batch is empty.")
    return rows


# ---------------------------------------------------------------------------- validation


def _codes(raw_rows: list[Any], name: str, max_length: int | None = None) -> set[str]:
    """The usable codes sent in field ``name``. Anything else (numbers, lists, objects: not even
    hashable) is left to the row's own validation; a NUL byte cannot be sent to PostgreSQL and
    no stored code contains one, so such a code is simply unknown."""
    return {
        code
        for raw in raw_rows
        if isinstance(raw, dict)
        and isinstance(code := raw.get(name), str)
        and code
        and "\x00" not in code
        and (max_length is None or len(code) <= max_length)
    }


def _resolve_references(spec: EntitySpec, user: User, raw_rows: list[Any]) -> dict[str, dict[str, RefRow]]:
    """One query per reference: code -> {id, extra...} for the codes that exist and are in scope."""
    resolved: dict[str, dict[str, RefRow]] = {}
    for ref in spec.references:
        codes = _codes(raw_rows, ref.name, ref.max_length)
        if not codes:
            resolved[ref.name] = {}
            continue
        qs = ref.model._default_manager.filter(**{f"{ref.key}__in": codes})
        if ref.scope is not None:
            qs = ref.scope(user, qs)
        resolved[ref.name] = {row[ref.key]: row for row in qs.values("id", ref.key, *ref.extra)}
    return resolved


@cache
def _field_plan(spec: EntitySpec) -> tuple[tuple[str, Parser, bool, Any, str | None], ...]:
    """Per field: (name, parser, required, default, column or None when not stored).

    The validation loop runs rows × fields times (100,000 for a batch of trades), so it reads
    plain tuples instead of dataclass attributes and properties.
    """
    return tuple((f.name, f.parse, f.required, f.default, f.db_column if f.stored else None) for f in spec.fields)


def _keys_of_other_desks(spec: EntitySpec, user: User, keys: set[str]) -> set[str]:
    """Natural keys of ``keys`` that exist on desks the user is not assigned to (one query)."""
    if spec.key_scope is None or len(spec.natural_key) != 1 or not keys or user.is_superuser:
        return set()
    key = spec.conflict_columns[0]
    members = f"{spec.key_scope}__members" if spec.key_scope else "members"
    qs = spec.model._default_manager.filter(**{f"{key}__in": keys}).exclude(**{members: user})
    return set(qs.values_list(key, flat=True))


def validate_rows(spec: EntitySpec, user: User, raw_rows: list[Any]) -> Batch:
    """Parse and check every row; raise ``ValidationFailed`` listing every bad row."""
    allowed = spec.field_names
    resolved = _resolve_references(spec, user, raw_rows)
    field_plan = _field_plan(spec)
    ref_plan = [
        (ref, ref.name, ref.column, ref.required, ref.max_length, ref.same_batch, resolved[ref.name])
        for ref in spec.references
    ]
    natural_key = spec.natural_key
    check = spec.check
    batch_keys: dict[tuple[Any, ...], int] = {}
    self_keys = _codes(raw_rows, spec.natural_key[0]) if spec.natural_key else set()
    foreign_keys = _keys_of_other_desks(spec, user, self_keys)
    rows: list[dict[str, Any]] = []
    extras: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    bad_rows = 0

    for index, raw in enumerate(raw_rows):
        row_errors: dict[str, str] = {}
        if not isinstance(raw, dict):
            bad_rows += 1
            if len(errors) < MAX_REPORTED_ROW_ERRORS:
                errors.append({"index": index, "errors": {"row": ["Must be a JSON object."]}})
            continue
        if not allowed.issuperset(raw):
            for name in raw.keys() - allowed:
                row_errors[name] = "Unknown field."
        row: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        parsed: dict[str, Any] = {}
        for name, parse, required, default, column in field_plan:
            value = raw.get(name)
            if value is None:
                if required:
                    row_errors[name] = "This field is required."
                    continue
                value = default
            else:
                try:
                    value = parse(value)
                except FieldError as exc:
                    row_errors[name] = str(exc)
                    continue
            parsed[name] = value
            if column is not None:
                row[column] = value
            else:
                extra[name] = value
        refs: dict[str, RefRow | None] = {}
        for ref, name, column, required, max_length, same_batch, targets in ref_plan:
            code = raw.get(name)
            if code is None or code == "":
                if required:
                    row_errors[name] = "This field is required."
                row[column] = None
                refs[name] = None
                continue
            if not isinstance(code, str) or len(code) > max_length:
                row_errors[name] = f"Must be a code of at most {max_length} characters."
                continue
            target = targets.get(code)
            if target is None and same_batch and code in self_keys:
                extra[f"{name}__pending"] = code  # resolved once that row is in, see _insert_in_dependency_order
                row[column] = None
                refs[name] = None
                parsed[name] = code
                continue
            if target is None:
                row_errors[name] = f"Unknown {ref.model._meta.verbose_name} '{code}'."
                continue
            row[column] = target["id"]
            refs[name] = target
            parsed[name] = code
        if not row_errors and natural_key:
            key = tuple(map(parsed.get, natural_key))
            first = batch_keys.setdefault(key, index)
            if first != index:
                row_errors[natural_key[0]] = f"Duplicate of row {first} in this batch."
            elif foreign_keys and key[0] in foreign_keys:
                row_errors[natural_key[0]] = "Already used on a desk you are not assigned to; use another id."
        if not row_errors and check is not None:
            row_errors.update(check(parsed, refs))
        if row_errors:
            bad_rows += 1
            if len(errors) < MAX_REPORTED_ROW_ERRORS:
                errors.append({"index": index, "errors": {k: [v] for k, v in sorted(row_errors.items())}})
            continue
        rows.append(row)
        extras.append(extra)

    if bad_rows:
        raise ValidationFailed(
            f"{bad_rows} of {len(raw_rows)} rows are invalid; nothing was written.",
            extra={"invalid_rows": bad_rows, "rows": errors},
        )
    return Batch(spec=spec, user=user, rows=rows, extras=extras)


# ---------------------------------------------------------------------------- writing


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _row_values(cols: list[str]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A fast ``row -> (row[c] for c in cols)`` (itemgetter returns a bare value for one key)."""
    getter = itemgetter(*cols)
    return getter if len(cols) > 1 else lambda row: (getter(row),)


def _insert_postgresql(spec: EntitySpec, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows``, skipping those whose natural key exists; return the new rows' ids.

    Fast path, for the usual batch of new rows: COPY straight into the table with ids drawn
    from its sequence, inside a savepoint. Should any row collide (a re-send, or another
    writer's row) or be refused, the savepoint is rolled back and the batch takes the general
    path, which skips existing rows and raises the same errors as ever.
    """
    pk = spec.model._meta.pk
    if isinstance(pk, models.AutoField) and pk.column:
        # Only IntegrityError/DataError fall through to the general path; anything else propagates.
        with suppress(IntegrityError, DataError), transaction.atomic():
            return _insert_postgresql_direct(spec, rows, pk_column=pk.column)
    return _insert_postgresql_staged(spec, rows)


def _insert_postgresql_direct(spec: EntitySpec, rows: list[dict[str, Any]], *, pk_column: str) -> list[int]:
    """COPY into the table itself, with ids taken from its sequence (COPY cannot RETURNING)."""
    table = _quote(spec.model._meta.db_table)
    cols = spec.columns
    col_list = ", ".join(_quote(c) for c in [pk_column, *cols])
    values = _row_values(cols)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, pk_column, len(rows)],
        )
        ids = [r[0] for r in cur.fetchall()]
        with connection.wrap_database_errors, cur.cursor.copy(f"COPY {table} ({col_list}) FROM STDIN") as copy:
            for pk, row in zip(ids, rows, strict=True):
                copy.write_row((pk, *values(row)))
    return ids


def _insert_postgresql_staged(spec: EntitySpec, rows: list[dict[str, Any]]) -> list[int]:
    """COPY into a staging table, then one INSERT ... ON CONFLICT DO NOTHING RETURNING id."""
    table = _quote(spec.model._meta.db_table)
    cols = spec.columns
    col_list = ", ".join(_quote(c) for c in cols)
    conflict = ", ".join(_quote(c) for c in spec.conflict_columns)
    stage = _quote(f"stage_{spec.name}")
    values = _row_values(cols)
    with connection.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {col_list} FROM {table} WITH NO DATA")
        # The raw psycopg cursor bypasses Django's error translation: wrap it, so a value the
        # column refuses is a django.db.DataError (a 400 in write_batch), not a 500.
        with connection.wrap_database_errors, cur.cursor.copy(f"COPY {stage} ({col_list}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(values(row))
        cur.execute(
            f"INSERT INTO {table} ({col_list}) SELECT {col_list} FROM {stage} "
            f"ON CONFLICT ({conflict}) DO NOTHING RETURNING id"
        )
        ids = [r[0] for r in cur.fetchall()]
        cur.execute(f"DROP TABLE {stage}")
    return ids


def _insert_portable(spec: EntitySpec, rows: list[dict[str, Any]]) -> list[int]:
    """Any other database (the embedded SQLite default): bulk_create ignoring conflicts."""
    model = spec.model
    manager = model._default_manager
    last_id = manager.order_by("-id").values_list("id", flat=True).first() or 0
    manager.bulk_create([model(**row) for row in rows], ignore_conflicts=True, batch_size=500)
    # SQLite ids are monotonic and writes are serialised, so new rows are those past last_id.
    return list(manager.filter(id__gt=last_id).values_list("id", flat=True))


def _insert_in_dependency_order(batch: Batch) -> list[int]:
    """Insert rows that reference other rows of the same batch after those rows.

    Rows without such references go first; each further pass resolves the codes the previous
    passes inserted. A reference cycle inside the batch cannot be resolved and is refused, and
    so is a reference to a batch row whose natural key already belongs to an out-of-scope row.
    """
    spec = batch.spec
    insert = _insert_postgresql if connection.vendor == "postgresql" else _insert_portable
    pending_refs = [r for r in spec.references if r.same_batch]
    if not pending_refs and batch.rows:
        return insert(spec, batch.rows)  # nothing can wait for another row: one pass
    waiting = list(zip(batch.rows, batch.extras, strict=True))
    created: list[int] = []
    while waiting:
        ready: list[dict[str, Any]] = []
        blocked: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for ref in pending_refs:
            codes = {extra[f"{ref.name}__pending"] for _, extra in waiting if f"{ref.name}__pending" in extra}
            if not codes:
                continue
            targets = ref.model._default_manager.filter(**{f"{ref.key}__in": codes})
            if ref.scope is not None:
                # Scoped like validation: a same-batch row that turned out to be a no-op because
                # another desk already holds its natural key must not lend that desk's row's id.
                targets = ref.scope(batch.user, targets)
            ids = dict(targets.values_list(ref.key, "id"))
            for row, extra in waiting:
                code = extra.get(f"{ref.name}__pending")
                if code in ids:
                    row[ref.column] = ids[code]
                    del extra[f"{ref.name}__pending"]
        for row, extra in waiting:
            (blocked if any(k.endswith("__pending") for k in extra) else ready).append((row, extra))  # type: ignore[arg-type]
        if not ready:
            raise ValidationFailed(
                "Rows of this batch reference each other in a cycle, or reference a row of the batch "
                "that could not be used; nothing was written."
            )
        created += insert(spec, [row for row, _ in ready])  # type: ignore[misc]
        waiting = blocked
    return created


def write_batch(batch: Batch, *, inputs_hash: str, idempotency_key: str | None) -> IngestResult:
    """Insert the batch, run hooks, audit; must run inside the caller's transaction.

    Validation should have caught every bad value; a database constraint that still fires
    (a race with another writer, a rule only the database knows) fails the whole batch with
    a 400 naming the constraint, never a 500.
    """
    spec = batch.spec
    try:
        with transaction.atomic():
            batch.created_ids = _insert_in_dependency_order(batch)
            if connection.vendor == "postgresql":
                # Foreign keys are deferred to commit; check them now, so a row deleted since
                # validation is a 400 here rather than an error at commit.
                with connection.cursor() as cur:
                    cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    except (IntegrityError, DataError) as exc:
        cause = exc.__cause__
        constraint = getattr(getattr(cause, "diag", None), "constraint_name", None)
        raise ValidationFailed(
            "The database refused the batch"
            + (f" (constraint {constraint})" if constraint else "")
            + "; nothing was written.",
            extra={"detail": str(cause or exc).splitlines()[0][:300]},
        ) from None
    if spec.after_insert is not None:
        spec.after_insert(batch)
    event = audit_record(
        action=f"ingest.{spec.name}",
        actor=batch.user,
        object_type=spec.model._meta.label_lower,
        object_repr=f"{len(batch.created_ids)} of {len(batch.rows)} {spec.name} rows created",
        inputs_hash=inputs_hash,
        parameters={
            "rows": len(batch.rows),
            "created": len(batch.created_ids),
            "first_id": min(batch.created_ids, default=None),
            "last_id": max(batch.created_ids, default=None),
            "idempotency_key": idempotency_key,
        },
    )
    created_ids = list(batch.created_ids)
    if created_ids:
        # In the batch's transaction: follow-ups write outbox rows, which commit or roll back with
        # the batch and are sent after commit (a broker that is down delays them, loses nothing).
        for callback in _FOLLOWUPS.get(spec.name, []):
            callback(created_ids, batch.user.pk)
    return IngestResult(entity=spec.name, received=len(batch.rows), created=len(created_ids), audit_event_id=event.pk)


# ---------------------------------------------------------------------------- idempotency

# deadlock_detected, serialization_failure, lock_not_available: transient, answered 409 (retry).
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def _lock_id(*parts: str) -> int:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _claim_key(user: User, endpoint: str, key: str) -> None:
    """Hold a transaction-scoped advisory lock on the key, or answer 409 while another
    request with it is in flight. A crashed request releases it with its transaction."""
    if connection.vendor != "postgresql":
        return  # SQLite serialises writers; in-flight detection needs PostgreSQL
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [_lock_id(str(user.pk), endpoint, key)])
        (acquired,) = cur.fetchone()
    if not acquired:
        raise Conflict("A request with this Idempotency-Key is still being processed; retry shortly.")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one batch.

    A batch allocates some 100,000 dicts and tuples that live until it is written; the
    collector would scan them over and over, finding no cycles (a quarter of the batch's CPU
    time). Reference counting still frees everything; collection resumes afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@_gc_paused()
def ingest_request(
    *, spec: EntitySpec, user: User, body: bytes, endpoint: str, idempotency_key: str | None
) -> tuple[int, dict[str, Any], bool]:
    """Handle one ingestion request. Returns (status, response body, replayed).

    With an ``Idempotency-Key`` the first successful response is stored with the batch, in the
    same transaction, and replayed for the same key and body; the same key with another body
    is refused (422). Failed requests store nothing, so the key can be used again.
    """
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 255 and idempotency_key.isprintable()):
        raise ValidationFailed("Idempotency-Key must be 1–255 printable characters.")
    request_hash = hashlib.sha256(b"POST " + endpoint.encode() + b"\n" + body).hexdigest()
    raw_rows = parse_body(body)
    try:
        with transaction.atomic():
            if idempotency_key is not None:
                _claim_key(user, endpoint, idempotency_key)
                record = IdempotencyRecord.objects.filter(user=user, endpoint=endpoint, key=idempotency_key).first()
                if record is not None:
                    if record.request_hash != request_hash:
                        raise IdempotencyMismatch(
                            "This Idempotency-Key was already used with a different request body."
                        )
                    return record.response_status, record.response_body, True
            batch = validate_rows(spec, user, raw_rows)
            result = write_batch(batch, inputs_hash=request_hash, idempotency_key=idempotency_key)
            status = 201 if result.created else 200
            response = result.as_dict()
            if idempotency_key is not None:
                IdempotencyRecord.objects.create(
                    user=user,
                    key=idempotency_key,
                    endpoint=endpoint,
                    request_hash=request_hash,
                    response_status=status,
                    response_body=response,
                )
    except OperationalError as exc:
        # Two batches writing the same natural keys in opposite orders can deadlock; PostgreSQL
        # aborts one of them. Nothing of it was written, so the client may simply retry.
        if getattr(exc.__cause__, "sqlstate", None) not in _RETRYABLE_SQLSTATES:
            raise
        raise Conflict("The batch collided with a concurrent write; nothing was written. Retry it.") from None
    return status, response, False
