"""Error codes of the sessions app."""

from rest_framework import status

from vod.exceptions import ApplicationError


class RefreshRejected(ApplicationError):
    """A refresh token that cannot be exchanged (invalid, expired, rotated, or its session ended)."""

    status_code = status.HTTP_401_UNAUTHORIZED

    def __init__(self, code: str, message: str):
        super().__init__(message, code=code)


class InvalidChallenge(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "invalid_challenge"
    message = "This sign-in challenge is not valid, was used, or has expired; sign in again."


class TwoFactorAlreadyEnabled(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "two_factor_already_enabled"
    message = "Two-factor sign-in is already on; turn it off first to enrol a new authenticator."


class TwoFactorNotSetUp(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "two_factor_not_set_up"
    message = "Start with auth/2fa/setup, then confirm with a code from the authenticator."


class TwoFactorNotEnabled(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "two_factor_not_enabled"
    message = "Two-factor sign-in is not on for this account."
