"""Field parsers for bulk ingestion.

Each parser takes a JSON value and returns the value to store, or raises ``FieldError`` with
a message for the client. They are plain functions (no serializer machinery) because a batch
runs them 10,000 × columns times and must stay within a few milliseconds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

Parser = Callable[[Any], Any]


class FieldError(ValueError):
    """A value the client must fix; the message is shown to them as is."""


def text(max_length: int, *, allow_blank: bool = False, pattern: str | None = None, hint: str = "") -> Parser:
    """A trimmed string; ``hint`` tells the client in words what ``pattern`` allows."""
    regex = re.compile(pattern) if pattern else None

    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise FieldError("Must be a string.")
        value = value.strip()
        if not value and not allow_blank:
            raise FieldError("May not be blank.")
        if len(value) > max_length:
            raise FieldError(f"At most {max_length} characters.")
        if "\x00" in value:
            raise FieldError("May not contain NUL characters.")
        if regex is not None and value and not regex.fullmatch(value):
            raise FieldError(hint or f"Must match {pattern}.")
        return str(value)

    return parse


def choice(options: list[str] | tuple[str, ...]) -> Parser:
    """One of ``options``, matched case-insensitively and returned as spelled in ``options``
    (choices are not all lower case: factor frequencies are "D" and "M")."""
    canonical = {option.lower(): option for option in options}
    listed = ", ".join(sorted(options))

    def parse(value: Any) -> str:
        if not isinstance(value, str) or value.lower() not in canonical:
            raise FieldError(f"Must be one of: {listed}.")
        return canonical[value.lower()]

    return parse


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise FieldError("Must be true or false.")
    return value


def _to_decimal(value: Any) -> Decimal:
    # bool is an int subclass; "true" as a price is a client bug, not 1.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FieldError("Must be a number.")
    if isinstance(value, float) and not math.isfinite(value):
        raise FieldError("Must be a finite number.")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise FieldError("Must be a number.") from None
    if not number.is_finite():
        raise FieldError("Must be a finite number (NaN and Infinity are refused).")
    return number


def decimal(
    *, max_digits: int, decimal_places: int, minimum: Decimal | None = None, exclusive_min: bool = False
) -> Parser:
    """A number that fits NUMERIC(max_digits, decimal_places); returned as Decimal.

    Extra decimal places beyond the column's scale are refused rather than rounded, so what is
    stored is exactly what was sent.
    """
    limit = Decimal(10) ** (max_digits - decimal_places)
    quantum = Decimal(1).scaleb(-decimal_places)

    def parse(value: Any) -> Decimal:
        # Fast path for plain JSON numbers (a batch parses 10,000 × several of them): the same
        # Decimal that _to_decimal builds, with the scale read off the text instead of
        # as_tuple(). repr() of a finite float is either "123.45" or has an exponent ("1e-07");
        # only the first form takes the shortcut. type() is exact, so bool never gets here.
        kind = type(value)
        places: int | None
        if kind is float and math.isfinite(value):
            text = repr(value)
            number = Decimal(text)
            places = None if "e" in text else len(text) - text.index(".") - 1
        elif kind is int:
            number = Decimal(value)
            places = 0
        else:
            number = _to_decimal(value)
            places = None
        if minimum is not None:
            if exclusive_min and number <= minimum:
                raise FieldError(f"Must be greater than {minimum}.")
            if not exclusive_min and number < minimum:
                raise FieldError(f"Must be at least {minimum}.")
        if abs(number) >= limit:
            raise FieldError(f"Must be less than {limit:,} in absolute value.")
        if places is None:
            exponent = number.as_tuple().exponent
            places = -exponent if isinstance(exponent, int) else 0
        if places > decimal_places and number != number.quantize(quantum):
            raise FieldError(f"At most {decimal_places} decimal places.")
        return number

    return parse


def positive_decimal(*, max_digits: int, decimal_places: int) -> Parser:
    return decimal(max_digits=max_digits, decimal_places=decimal_places, minimum=Decimal(0), exclusive_min=True)


def integer(*, minimum: int | None = None, maximum: int = 2**63 - 1) -> Parser:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise FieldError("Must be a whole number.")
        if minimum is not None and value < minimum:
            raise FieldError(f"Must be at least {minimum}.")
        if value > maximum:
            raise FieldError(f"Must be at most {maximum}.")
        return int(value)

    return parse


_MIN_TS = datetime(1900, 1, 1, tzinfo=UTC)
_MAX_TS = datetime(2200, 1, 1, tzinfo=UTC)


def timestamp(value: Any) -> datetime:
    """ISO 8601 with a UTC offset ('Z' or ±hh:mm); stored in UTC with microseconds."""
    if not isinstance(value, str):
        raise FieldError("Must be an ISO 8601 timestamp string.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise FieldError("Must be an ISO 8601 timestamp, e.g. 2022-12-28T14:30:00.123456Z.") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise FieldError("Timestamp has no UTC offset; send it as UTC with 'Z' or an explicit offset.")
    # Range first: converting year 1 or 9999 with an offset to UTC overflows datetime.
    if not _MIN_TS <= parsed < _MAX_TS:
        raise FieldError("Timestamp is outside 1900–2200.")
    return parsed.astimezone(UTC)


def day(value: Any) -> date:
    if not isinstance(value, str):
        raise FieldError("Must be a date string YYYY-MM-DD.")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise FieldError("Must be a date in the form YYYY-MM-DD.") from None
    if not 1900 <= parsed.year < 2200:
        raise FieldError("Date is outside 1900–2200.")
    return parsed


def currency(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{3}", value):
        raise FieldError("Must be a three-letter ISO 4217 code in capitals, e.g. USD.")
    return value


def code_list(max_length: int, *, max_items: int = 100) -> Parser:
    item = text(max_length)

    def parse(value: Any) -> list[str]:
        if not isinstance(value, list):
            raise FieldError("Must be a list of codes.")
        if len(value) > max_items:
            raise FieldError(f"At most {max_items} items.")
        return [item(v) for v in value]

    return parse
