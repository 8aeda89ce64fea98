"""Formats of the surveillance pages: times with milliseconds, score bands, ages, probabilities."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django import template
from django.conf import settings
from django.utils import timezone

register = template.Library()

# Score bands of the badges (0–100): the four-eyes threshold marks "high".
MEDIUM_FROM = 40.0


@register.filter
def ts_ms(value: datetime | None) -> str:
    """2022-12-28 14:30:01.123 (UTC): order events a few milliseconds apart stay apart."""
    if value is None:
        return "—"
    value = value.astimezone(UTC) if timezone.is_aware(value) else value
    return f"{value:%Y-%m-%d %H:%M:%S}.{value.microsecond // 1000:03d}"


@register.filter
def score_band(score: float | None) -> str:
    """high (four-eyes applies), medium, low: the CSS class of a score badge."""
    if score is None:
        return "low"
    if score >= settings.SURVEILLANCE_FOUR_EYES_SCORE:
        return "high"
    return "medium" if score >= MEDIUM_FROM else "low"


@register.filter
def score_shown(score: float | None) -> str:
    """The score rounded down to a whole number, so a badge never reads 70 for 69.6 (below the
    four-eyes threshold of 70)."""
    return "—" if score is None else str(math.floor(score))


@register.filter
def age(value: datetime | None) -> str:
    """Time since ``value``: 45 min, 5 h, 3 d."""
    if value is None:
        return "—"
    seconds = max(0.0, (timezone.now() - value).total_seconds())
    if seconds < 3600:
        return f"{seconds // 60:.0f} min"
    if seconds < 86400:
        return f"{seconds // 3600:.0f} h"
    return f"{seconds // 86400:.0f} d"


@register.filter
def age_days(value: datetime | None) -> float:
    return 0.0 if value is None else max(0.0, (timezone.now() - value).total_seconds() / 86400)


@register.filter
def prob(value: float | None) -> str:
    """A probability as a whole percentage; an em dash when the model has not scored it yet."""
    return "—" if value is None else f"{float(value) * 100:.0f} %"


@register.filter
def num(value: Any, digits: int = 2) -> str:
    """A number (or numeric text) with thousands separators and at most ``digits`` decimals,
    trailing zeros trimmed (12,345.5); other text passes unchanged."""
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            value = Decimal(value)
        except ArithmeticError:
            return value
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return str(value)
    text = f"{float(value):,.{int(digits)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.filter
def price(value: Any) -> str:
    """A price with at least two decimals and at most eight, trailing zeros beyond two trimmed:
    50 → 50.00, 49.975 → 49.975."""
    if value is None or value == "":
        return "—"
    try:
        text = f"{Decimal(str(value)):.8f}"
    except ArithmeticError:
        return str(value)
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{int(whole):,}.{frac}" if not whole.startswith("-") else f"-{abs(int(whole)):,}.{frac}"


@register.filter
def iso_ms(value: str | None) -> str:
    """An ISO 8601 text time as 2024-03-14 14:30:05.120 (reports hold times as text)."""
    if not value:
        return "—"
    try:
        return ts_ms(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)


@register.filter
def label(value: str) -> str:
    """snake_case → words (feature names, actions)."""
    return str(value).replace("_", " ")
