"""Filter pieces shared by every app's filter sets (API and browser lists alike)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters as df
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField


class UtcIsoDateTimeField(IsoDateTimeField):  # type: ignore[misc]  # django-filter ships no type hints
    """An ISO 8601 date-time (without an offset: UTC), handed to the database in UTC.

    Converting here matters: PostgreSQL accepts offsets up to ±15:59 only, and a time such as
    ``0001-01-01T00:00+05:00`` has no UTC equivalent in Python; both are the caller's error (400),
    not the server's.
    """

    def to_python(self, value: Any) -> datetime | None:
        parsed: datetime | None = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise ValidationError("Enter a date and time between years 1 and 9999 in UTC.", code="invalid") from None


class UtcIsoDateTimeFilter(df.IsoDateTimeFilter):  # type: ignore[misc]
    field_class = UtcIsoDateTimeField
