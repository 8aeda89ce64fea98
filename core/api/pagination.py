"""Cursor pagination: stable under concurrent inserts, constant cost per page at any depth."""

from rest_framework.pagination import CursorPagination


class TimeCursorPagination(CursorPagination):
    """Newest first by primary key unless a view names another unique-enough ordering."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 5000
