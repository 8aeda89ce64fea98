"""Shared plumbing of the wealth services: field validation, engine-error translation, JSON-safe
numbers and Decimal rounding. Nothing here writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import numpy as np

from core.errors import ValidationFailed

Fields = dict[str, list[str]]

CENT = Decimal("0.01")
MONEY_Q = Decimal("0.0001")
QTY_Q = Decimal("0.000001")
PRICE_Q = Decimal("0.00000001")


def money(value: Any) -> Decimal:
    """A money amount as the database stores it (4 decimal places)."""
    return Decimal(str(value)).quantize(MONEY_Q, rounding=ROUND_HALF_UP)


def qty(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(QTY_Q, rounding=ROUND_HALF_UP)


def price(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(PRICE_Q, rounding=ROUND_HALF_UP)


def fail(message: str, fields: Mapping[str, list[str] | str]) -> ValidationFailed:
    """A ValidationFailed whose ``extra["fields"]`` maps each field to a list of messages."""
    return ValidationFailed(
        message, extra={"fields": {k: [v] if isinstance(v, str) else list(v) for k, v in fields.items()}}
    )


def engine_failed(exc: Exception, message: str | None = None) -> ValidationFailed:
    """Translate an engine error (``.fields``, and ``.reasons`` for an infeasible optimisation) into
    a ValidationFailed: the reasons become the message and the field ``constraints``."""
    fields: Fields = {k: list(v) for k, v in (getattr(exc, "fields", None) or {}).items()}
    reasons = [str(r) for r in getattr(exc, "reasons", ()) or ()]
    if reasons:
        fields.setdefault("constraints", [])
        fields["constraints"] += [r for r in reasons if r not in fields["constraints"]]
    text = message or ("; ".join(reasons) if reasons else str(exc)) or "The inputs are not valid."
    if not fields:
        fields = {"non_field_errors": [text]}
    return ValidationFailed(text, extra={"fields": fields})


def json_safe(value: Any) -> Any:
    """``value`` with numpy scalars/arrays as Python, NaN/inf as None, dates as ISO strings and
    Decimals as strings (what a JSON column keeps)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class Validator:
    """Collects field errors while reading a ``data`` dict; ``raise_if_any`` raises them all at once."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        if not isinstance(data, Mapping):
            raise fail("The data must be an object.", {"non_field_errors": "Expected an object of fields."})
        self.data = data
        self.errors: Fields = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def has(self, field: str) -> bool:
        return field in self.data

    def text(self, field: str, *, required: bool = False, max_length: int = 200) -> str | None:
        value = self.data.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.add(field, "This field is required.")
            return None if value is None else ""
        if not isinstance(value, str):
            self.add(field, "Must be text.")
            return None
        if len(value.strip()) > max_length:
            self.add(field, f"At most {max_length} characters.")
            return None
        return value.strip()

    def decimal(
        self,
        field: str,
        *,
        required: bool = False,
        minimum: Decimal | None = None,
        maximum: Decimal | None = None,
        min_exclusive: bool = False,
        max_exclusive: bool = False,
        allow_null: bool = False,
    ) -> Decimal | None:
        value = self.data.get(field)
        if value is None or value == "":
            if required or (field in self.data and not allow_null):
                self.add(field, "This field is required.")
            return None
        if isinstance(value, bool):
            self.add(field, "Must be a number.")
            return None
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            self.add(field, "Must be a number.")
            return None
        if not number.is_finite():
            self.add(field, "Must be a finite number.")
            return None
        if abs(number) >= Decimal("1e19"):
            self.add(field, "Too large.")
            return None
        if minimum is not None and (number < minimum or (min_exclusive and number == minimum)):
            self.add(field, f"Must be {'more than' if min_exclusive else 'at least'} {minimum}.")
            return None
        if maximum is not None and (number > maximum or (max_exclusive and number == maximum)):
            self.add(field, f"Must be {'less than' if max_exclusive else 'at most'} {maximum}.")
            return None
        return number

    def integer(self, field: str, *, required: bool = False, minimum: int, maximum: int) -> int | None:
        value = self.data.get(field)
        if value is None or value == "":
            if required or field in self.data:
                self.add(field, "This field is required.")
            return None
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            number = int(str(value).strip()) if not isinstance(value, float) else int(value)
        except (TypeError, ValueError):
            self.add(field, "Must be a whole number.")
            return None
        if not minimum <= number <= maximum:
            self.add(field, f"Must be between {minimum} and {maximum}.")
            return None
        return number

    def date(self, field: str, *, required: bool = False) -> dt.date | None:
        value = self.data.get(field)
        if value is None or value == "":
            if required or field in self.data:
                self.add(field, "This field is required.")
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.add(field, "Must be a date (YYYY-MM-DD).")
            return None

    def choice(self, field: str, choices: list[str], *, required: bool = False) -> str | None:
        value = self.data.get(field)
        if value is None or value == "":
            if required or field in self.data:
                self.add(field, "This field is required.")
            return None
        if value not in choices:
            self.add(field, f"Must be one of: {', '.join(choices)}.")
            return None
        return str(value)

    def boolean(self, field: str) -> bool | None:
        value = self.data.get(field)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "on", "off"}:
            return value.lower() in {"true", "1", "on"}
        self.add(field, "Must be true or false.")
        return None

    def raise_if_any(self, message: str = "Please correct the errors below.") -> None:
        if self.errors:
            raise ValidationFailed(message, extra={"fields": self.errors})
