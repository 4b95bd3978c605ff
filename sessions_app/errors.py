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


class InvalidChallenge(ApplicationError, status=status.HTTP_401_UNAUTHORIZED, code="invalid_challenge"):
    """This sign-in challenge is not valid, was used, or has expired; sign in again."""


class TwoFactorAlreadyEnabled(ApplicationError, status=status.HTTP_409_CONFLICT, code="two_factor_already_enabled"):
    """Two-factor sign-in is already on; turn it off first to enrol a new authenticator."""


class TwoFactorNotSetUp(ApplicationError, status=status.HTTP_409_CONFLICT, code="two_factor_not_set_up"):
    """Start with auth/2fa/setup, then confirm with a code from the authenticator."""


class TwoFactorNotEnabled(ApplicationError, status=status.HTTP_409_CONFLICT, code="two_factor_not_enabled"):
    """Two-factor sign-in is not on for this account."""
