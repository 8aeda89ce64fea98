"""How an entity is ingested: its fields, references to other tables, natural key and hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import models

from core.ingest.fields import Parser

# A resolved reference row: the referenced table's id plus any extra columns a check needs.
RefRow = dict[str, Any]
Scope = Callable[[User, models.QuerySet[Any]], models.QuerySet[Any]]


@dataclass(frozen=True)
class Field:
    """One JSON field stored in one column (``column`` defaults to the field name)."""

    name: str
    parse: Parser
    required: bool = True
    default: Any = None
    column: str | None = None
    stored: bool = True  # False: parsed and checked, then consumed by a hook

    @property
    def db_column(self) -> str:
        return self.column or self.name


@dataclass(frozen=True)
class Reference:
    """A JSON field naming another row by its code (``key``); stored as ``column`` (an id).

    ``scope`` limits what the client may reference (their desks); an out-of-scope row is
    reported exactly like a missing one, so nothing leaks. ``same_batch`` allows a reference
    to a row of this entity sent in the same batch (orders naming a parent order).
    """

    name: str
    model: type[models.Model]
    key: str
    column: str
    required: bool = True
    scope: Scope | None = None
    extra: tuple[str, ...] = ()
    same_batch: bool = False
    max_length: int = 64


@dataclass
class Batch:
    """A validated batch on its way into the database."""

    spec: EntitySpec
    user: User
    rows: list[dict[str, Any]]  # column -> value, in request order
    extras: list[dict[str, Any]]  # per row: parsed non-stored fields and same-batch references
    created_ids: list[int] = field(default_factory=list)


RowCheck = Callable[[dict[str, Any], dict[str, RefRow | None]], dict[str, str]]
AfterInsert = Callable[[Batch], None]


@dataclass(frozen=True)
class EntitySpec:
    """Everything the generic pipeline needs to ingest one entity.

    ``natural_key`` names the JSON fields that identify a row for duplicate detection inside
    a batch; ``conflict_columns`` is the matching unique constraint in the database, used by
    ``INSERT ... ON CONFLICT DO NOTHING`` so a re-sent row is a no-op.
    """

    name: str
    model: type[models.Model]
    fields: tuple[Field, ...]
    natural_key: tuple[str, ...]
    conflict_columns: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    check: RowCheck | None = None
    after_insert: AfterInsert | None = None
    description: str = ""
    # Path from the model to its desk ("" for desks themselves) when rows belong to a desk. A
    # natural key already used on a desk the client cannot see is then refused, rather than
    # silently counted as an existing row (which would drop the client's row).
    key_scope: str | None = None

    @property
    def columns(self) -> list[str]:
        """Stored columns, in COPY order."""
        cols = [f.db_column for f in self.fields if f.stored]
        cols += [r.column for r in self.references]
        return cols

    @property
    def field_names(self) -> frozenset[str]:
        return frozenset([f.name for f in self.fields] + [r.name for r in self.references])
