"""Error codes of the sessions app."""

from rest_framework import status

from vod.exceptions import ApplicationError


class RefreshRejected(ApplicationError):
    """A refresh token that cannot be exchanged (invalid, expired, rotated, or its session ended)."""

    status_code = status.HTTP_401_UNAUTHORIZED

    def __init__(self, code: str, message: str):
        super().__init__(message, code=code)
