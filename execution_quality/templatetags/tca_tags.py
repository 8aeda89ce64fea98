"""Formats of the best-execution pages: costs in basis points, amounts, shares and percentages.

Costs are positive when they cost the client (docs/tca-methodology.md), so ``cost_class`` marks a
positive cost "neg" (the stylesheet's loss colour) and a saving "good".
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from django import template

register = template.Library()

Number = float | int | Decimal | None


def _float(value: Any) -> float | None:
    try:
        x = None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None
    return x if x is not None and math.isfinite(x) else None


@register.filter
def bps(value: Number, digits: int = 1) -> str:
    """12.3 (basis points, one decimal by default); an em dash when missing or not finite."""
    x = _float(value)
    if x is None:
        return "—"
    shown = round(x, int(digits)) + 0.0  # + 0.0: no "-0.0" for tiny negatives
    return f"{shown:,.{int(digits)}f}"


@register.filter
def cost_class(value: Number) -> str:
    """CSS class of a signed cost: "neg" for a cost to the client, "good" for a saving."""
    x = _float(value)
    if x is None or x == 0:
        return ""
    return "neg" if x > 0 else "good"


@register.filter
def amount(value: Number) -> str:
    """12,345,678 (no decimals, thousands separators); an em dash when missing."""
    x = _float(value)
    return "—" if x is None else f"{x:,.0f}"


@register.filter
def price(value: Number) -> str:
    """A price with four decimals (ticks of a cent and below stay visible)."""
    x = _float(value)
    return "—" if x is None else f"{x:,.4f}"


@register.filter
def pct(value: Number, digits: int = 1) -> str:
    """A fraction as a percentage: 0.0123 → 1.2 %."""
    x = _float(value)
    if x is None:
        return "—"
    shown = round(x * 100, int(digits)) + 0.0
    return f"{shown:.{int(digits)}f} %"


@register.filter
def seconds(value: Number) -> str:
    """A duration: 45 s, 12.5 min, 3.2 h."""
    x = _float(value)
    if x is None:
        return "—"
    if x < 120:
        return f"{x:.0f} s"
    if x < 2 * 3600:
        return f"{x / 60:.1f} min"
    return f"{x / 3600:.1f} h"


@register.filter
def get(mapping: Any, key: Any) -> Any:
    """mapping[key] in a template (None when absent)."""
    try:
        return mapping.get(key) if hasattr(mapping, "get") else mapping[key]
    except (KeyError, IndexError, TypeError):
        return None


_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:\+00:00|Z)?")


@register.filter
def readable_times(text: Any) -> str:
    """ISO 8601 UTC timestamps inside a text as "2024-01-04 20:40:13" (the page says UTC)."""
    return _ISO.sub(r"\1 \2", str(text))
