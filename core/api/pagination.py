"""Cursor pagination: stable under concurrent inserts, constant cost per page at any depth."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.views import APIView


class TimeCursorPagination(CursorPagination):
    """Newest first by primary key unless a view names another unique-enough ordering.

    A cursor that cannot be used is a 400 naming ``cursor`` (as docs/api.md and the schema
    say), not DRF's 404, and never a 500: a forged cursor whose position does not fit the
    ordering field (``p=abc`` for an id) only fails once the filter is built.
    """

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 5000

    def _invalid(self) -> ValidationError:
        return ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise self._invalid() from None

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, DjangoValidationError):
            if request.query_params.get(self.cursor_query_param) is None:
                raise
            raise self._invalid() from None
