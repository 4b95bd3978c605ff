"""Error codes of the sessions app."""

from rest_framework import exceptions, status

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


# --- personal access tokens -------------------------------------------------------------------
# Refusals raised while authenticating are DRF APIExceptions: DRF then marks the request
# unauthenticated before the error handler answers (an ApplicationError there would not be).


class TokenInvalid(exceptions.AuthenticationFailed):
    """Malformed, failed its checksum, unknown, or tampered with."""

    default_code = "token_invalid"
    default_detail = "This access token is not valid."


class TokenExpired(exceptions.AuthenticationFailed):
    default_code = "token_expired"
    default_detail = "This access token has expired; create or rotate one."


class TokenRevoked(exceptions.AuthenticationFailed):
    default_code = "token_revoked"
    default_detail = "This access token was revoked."


class TokenOwnerInactive(exceptions.AuthenticationFailed):
    default_code = "token_owner_inactive"
    default_detail = "The account of this access token is disabled."


class TokenScopeMissing(exceptions.PermissionDenied):
    default_code = "token_scope_missing"

    def __init__(self, scope: str):
        super().__init__(f"This access token lacks the `{scope}` scope this endpoint needs.")
        self.scope = scope


class TokenNotAllowed(exceptions.PermissionDenied):
    """Credentials and the account itself are managed with a password sign-in only."""

    default_code = "token_not_allowed"
    default_detail = "Access tokens cannot do this; sign in with your password."


class TokenLimitReached(ApplicationError, status=status.HTTP_409_CONFLICT, code="token_limit_reached"):
    """You have the most live access tokens allowed; revoke one first."""


class TokenNotRotatable(ApplicationError, status=status.HTTP_409_CONFLICT, code="token_not_rotatable"):
    """A revoked access token cannot be rotated; create a new one."""
