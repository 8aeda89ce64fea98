"""Small template helpers of the web shell."""

from __future__ import annotations

from django import template

from core.version import CODE_VERSION

register = template.Library()


@register.simple_tag
def vigil_version() -> str:
    """The running code version (``vigil-<version>[+<git sha>]``), shown in the page footer."""
    return CODE_VERSION
