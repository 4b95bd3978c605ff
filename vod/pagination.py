"""Cursor pagination for every list: stable under inserts, `limit` up to 100."""

from base64 import b64encode
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

# What a page link looks like in the schema (`example_path` is set per operation by vod.openapi).
_EXAMPLE_ORIGIN = "https://vod.example.com"
_EXAMPLE_CURSOR = b64encode(urlencode({"p": "2025-01-31 12:00:00+00:00"}).encode()).decode()


class CursorPage(CursorPagination):
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100
    ordering = "-created_at"
    example_path = "/api/v1/videos"

    def get_page_size(self, request) -> int:
        """A `limit` that is not a positive whole number is refused (DRF would ignore it); above
        the maximum it is capped."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise ValidationError({"limit": [f"A whole number from 1 to {self.max_page_size}."]})
        return min(int(raw), self.max_page_size)

    def _bare_cursor(self, link: str | None) -> str | None:
        """The `cursor` value of a page link, for clients that build their own URLs."""
        if link is None:
            return None
        return parse_qs(urlsplit(link).query).get(self.cursor_query_param, [None])[0]

    def get_paginated_response(self, data: Any) -> Response:
        next_link, previous_link = self.get_next_link(), self.get_previous_link()
        return Response(
            {
                "next": next_link,
                "previous": previous_link,
                "next_cursor": self._bare_cursor(next_link),
                "previous_cursor": self._bare_cursor(previous_link),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = f"{_EXAMPLE_ORIGIN}{self.example_path}?{self.cursor_query_param}={_EXAMPLE_CURSOR}"

        def page_field(description, example):
            return {"type": "string", "nullable": True, "description": description, "example": example}

        return {
            "type": "object",
            "required": ["next", "previous", "next_cursor", "previous_cursor", "results"],
            "properties": {
                "next": {**page_field("The next page; null on the last.", link), "format": "uri"},
                "previous": {**page_field("The previous page; null on the first.", None), "format": "uri"},
                "next_cursor": page_field(
                    f"The `{self.cursor_query_param}` of the next page, to send as that query parameter.",
                    _EXAMPLE_CURSOR,
                ),
                "previous_cursor": page_field(f"The `{self.cursor_query_param}` of the previous page.", None),
                "results": schema,
            },
        }
