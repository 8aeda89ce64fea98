"""Formats of the wealth pages: money, percentages of fractions, signed tax effects.

Weights, rates and probabilities are stored as fractions (0.05 = 5 %); money has no decimals on
the pages (cents do not change a decision) and two in the PDF. A tax effect is negative when it
is a saving, so ``tax_class`` marks a saving "good" and a cost "neg".
"""

from __future__ import annotations

import math
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
def money(value: Number) -> str:
    """12,345 (no decimals, thousands separators); an em dash when missing."""
    x = _float(value)
    return "—" if x is None else f"{round(x) + 0:,.0f}"


@register.filter
def signed_money(value: Number) -> str:
    """+1,234 / −1,234: the sign always shown (a true minus sign)."""
    x = _float(value)
    if x is None:
        return "—"
    r = round(x)
    if r == 0:
        return "0"
    return f"{'+' if r > 0 else '−'}{abs(r):,.0f}"


@register.filter
def pct(value: Number, digits: int = 1) -> str:
    """A fraction as a percentage: 0.0123 → 1.2 %."""
    x = _float(value)
    if x is None:
        return "—"
    shown = round(x * 100, int(digits)) + 0.0
    return f"{shown:.{int(digits)}f} %"


@register.filter
def signed_pct(value: Number, digits: int = 1) -> str:
    """A change of a fraction as signed percentage points: 0.031 → +3.1 %; "0.0 %" when nil."""
    x = _float(value)
    if x is None:
        return "—"
    shown = round(x * 100, int(digits)) + 0.0
    if shown == 0:
        return f"{0:.{int(digits)}f} %"
    return f"{'+' if shown > 0 else '−'}{abs(shown):.{int(digits)}f} %"


@register.filter
def tax_class(value: Number) -> str:
    """CSS class of a tax effect: "good" for a saving (negative), "neg" for tax due."""
    x = _float(value)
    if x is None or abs(x) < 0.5:
        return ""
    return "good" if x < 0 else "neg"


@register.filter
def gain_class(value: Number) -> str:
    """CSS class of an unrealised gain: "good" for a gain, "neg" for a loss."""
    x = _float(value)
    if x is None or abs(x) < 0.5:
        return ""
    return "good" if x > 0 else "neg"


@register.filter
def bar_width(value: Number) -> str:
    """A 0–100 score as a CSS width, clamped (e.g. "62.5%")."""
    x = _float(value)
    return "0%" if x is None else f"{min(100.0, max(0.0, x)):.1f}%"


@register.filter
def get(mapping: Any, key: Any) -> Any:
    """mapping[key] in a template (None when absent)."""
    try:
        return mapping.get(key) if hasattr(mapping, "get") else mapping[key]
    except (KeyError, IndexError, TypeError):
        return None
