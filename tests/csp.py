"""Reading a Content-Security-Policy header in tests: django-csp does not keep the directives in
a fixed order, so a test compares directives, never substrings of the header."""

from __future__ import annotations


def csp_directives(header: str) -> dict[str, str]:
    """``"a x; b y z"`` → ``{"a": "x", "b": "y z"}``."""
    directives = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            directives[name] = value
    return directives
