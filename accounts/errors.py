"""Error codes the accounts API answers with."""

from rest_framework import status

from vod.exceptions import ApplicationError


class InvalidCredentials(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "invalid_credentials"
    message = "The email/username or password is not correct."


class AccountLocked(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "account_locked"
    message = "Too many failed sign-ins. Try again later or reset your password."


class EmailNotVerified(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "email_not_verified"
    message = "Verify your email address first; you can ask for a new code."


class AccountDisabled(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "account_disabled"
    message = "This account is disabled."


class InvalidCode(ApplicationError):
    code = "invalid_code"
    message = "The code is not valid or has expired."
