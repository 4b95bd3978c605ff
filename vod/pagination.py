"""Cursor pagination for every list: stable under inserts, `limit` up to 100."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination


class CursorPage(CursorPagination):
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100
    ordering = "-created_at"

    def get_page_size(self, request) -> int:
        """A `limit` that is not a positive whole number is refused (DRF would ignore it); above
        the maximum it is capped."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise ValidationError({"limit": [f"A whole number from 1 to {self.max_page_size}."]})
        return min(int(raw), self.max_page_size)
