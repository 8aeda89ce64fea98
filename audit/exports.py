"""CSV export of audit events, streamed row by row so any size fits in constant memory."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any, cast

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet

from audit.models import AuditEvent

CSV_COLUMNS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "request_id",
    "client_ip",
    "inputs_hash",
    "code_version",
    "parameters",
    "before",
    "after",
    "explanation",
    "prev_hash",
    "hash",
)
_JSON_COLUMNS = frozenset({"parameters", "before", "after", "explanation"})
# Free-text columns that may hold what a user typed (a failed-login username, an object's
# name). Spreadsheets run a cell starting with one of these characters as a formula.
_TEXT_COLUMNS = frozenset({"actor_name", "action", "object_type", "object_id", "object_repr", "request_id"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Rows fetched per round trip of the server-side cursor: ~2,000 rows of a few kB each.
CHUNK_ROWS = 2000


class _Echo:
    """A file-like object whose write returns the line, so csv.writer feeds a generator."""

    def write(self, value: str) -> str:
        return value


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column in _JSON_COLUMNS:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    if column == "occurred_at":
        return str(value.isoformat(timespec="microseconds"))
    text = str(value)
    if column in _TEXT_COLUMNS and text.startswith(_FORMULA_START):
        # OWASP's advice against CSV injection: a leading apostrophe makes it plain text. The
        # API returns the values untouched for anyone who needs them byte for byte.
        return "'" + text
    return text


def audit_events_csv(events: QuerySet[AuditEvent] | Iterable[AuditEvent]) -> Iterator[str]:
    """The header line, then one CSV line per event, in the order given.

    JSON columns hold compact JSON with sorted keys; times are ISO 8601 UTC with microseconds.
    """
    writer = csv.writer(_Echo())
    yield cast(str, writer.writerow(CSV_COLUMNS))
    rows = events.iterator(chunk_size=CHUNK_ROWS) if isinstance(events, QuerySet) else events
    for event in rows:
        yield cast(str, writer.writerow([_cell(column, getattr(event, column)) for column in CSV_COLUMNS]))
