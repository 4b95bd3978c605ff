"""Error codes of the sessions app."""

from rest_framework import exceptions, status

from vod.exceptions import ApplicationError


class RefreshRejected(ApplicationError):
    """A refresh token that cannot be exchanged (invalid, expired, rotated, or its session ended)."""

    status_code = status.HTTP_401_UNAUTHORIZED

    def __init__(self, code: str, message: str):
        super().__init__(message, code=code)


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


class TokenLimitReached(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "token_limit_reached"
    message = "You have the most live access tokens allowed; revoke one first."


class TokenNotRotatable(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "token_not_rotatable"
    message = "A revoked access token cannot be rotated; create a new one."
