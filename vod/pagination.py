"""Cursor pagination for every list: stable under inserts, `limit` up to 100."""

from rest_framework.pagination import CursorPagination


class CursorPage(CursorPagination):
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100
    ordering = "-created_at"
