"""Number formats of the risk pages: money without decimals, compact amounts, percentages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from riskapp.reports import method_label as _method_label

register = template.Library()

Number = float | int | Decimal | None


def _float(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


@register.filter
def money(value: Number) -> str:
    """12,345,678 (no decimals, thousands separators); an em dash when missing."""
    x = _float(value)
    return "—" if x is None else f"{x:,.0f}"


@register.filter
def compact(value: Number) -> str:
    """12.3m, 456k, 789: amounts at a glance (tiles, charts' labels)."""
    x = _float(value)
    if x is None:
        return "—"
    a = abs(x)
    if a >= 1e9:
        return f"{x / 1e9:.2f}bn"
    if a >= 1e6:
        return f"{x / 1e6:.2f}m"
    if a >= 1e4:
        return f"{x / 1e3:.0f}k"
    return f"{x:,.0f}"


@register.filter
def pct(value: Number, digits: int = 2) -> str:
    """A fraction as a percentage: 0.0123 → 1.23 %."""
    x = _float(value)
    if x is None:
        return "—"
    shown = round(x * 100, int(digits)) + 0.0  # + 0.0: no "-0 %" for tiny negatives
    return f"{shown:.{int(digits)}f} %"


@register.filter
def level_class(level: str) -> str:
    """CSS class of a limit level (ok / warning / breach / unmeasured)."""
    return {"ok": "lvl-ok", "warning": "lvl-warn", "breach": "lvl-bad", "critical": "lvl-bad"}.get(level, "lvl-none")


@register.filter
def get(mapping: Any, key: Any) -> Any:
    """mapping[key] in a template (None when absent)."""
    try:
        return mapping.get(key) if hasattr(mapping, "get") else mapping[key]
    except (KeyError, IndexError, TypeError):
        return None


@register.filter
def method_label(method: str) -> str:
    """The display name of a VaR method ("fhs_ewma" → "Filtered HS (EWMA)")."""
    return _method_label(method)


@register.filter
def conf(value: Number) -> str:
    """A confidence level as a percentage without trailing zeros: 0.975 → 97.5 %, 0.99 → 99 %."""
    x = _float(value)
    return "—" if x is None else f"{x * 100:.2f}".rstrip("0").rstrip(".") + " %"
