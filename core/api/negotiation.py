"""Content negotiation: an unknown ``?format=`` is the caller's error, named like any bad field."""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer


class VigilContentNegotiation(DefaultContentNegotiation):
    """DRF answers a ``format`` no renderer of the view offers with a bare 404, as if the path
    did not exist; the API answers it with a 400 that lists the formats the endpoint offers."""

    def filter_renderers(self, renderers: Iterable[BaseRenderer], format: str) -> list[BaseRenderer]:
        offered = [renderer for renderer in renderers if renderer.format == format]
        if not offered:
            formats = ", ".join(sorted({str(renderer.format) for renderer in renderers}))
            raise ValidationError({"format": [f"Unknown format; this endpoint offers: {formats}."]})
        return offered
