"""Error codes of the sessions app."""

from rest_framework import status

from vod.exceptions import ApplicationError


class RefreshRejected(ApplicationError):
    """A refresh token that cannot be exchanged; each subclass is one reason, with its own code."""

    status_code = status.HTTP_401_UNAUTHORIZED


class RefreshTokenInvalid(RefreshRejected, code="token_not_valid"):
    """Token is invalid or expired."""


class SessionRevoked(RefreshRejected, code="session_revoked"):
    """This session has ended; sign in again."""


class RefreshTokenRotated(RefreshRejected, code="refresh_token_rotated"):
    """This refresh token was just replaced."""
