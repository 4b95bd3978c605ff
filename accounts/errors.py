"""Error codes the accounts API answers with."""

from rest_framework import status

from vod.exceptions import ApplicationError


class InvalidCredentials(ApplicationError, status=status.HTTP_401_UNAUTHORIZED, code="invalid_credentials"):
    """The email/username or password is not correct."""


class AccountLocked(ApplicationError, status=status.HTTP_429_TOO_MANY_REQUESTS, code="account_locked"):
    """Too many failed sign-ins. Try again later or reset your password."""


class EmailNotVerified(ApplicationError, status=status.HTTP_403_FORBIDDEN, code="email_not_verified"):
    """Verify your email address first; you can ask for a new code."""


class AccountDisabled(ApplicationError, status=status.HTTP_403_FORBIDDEN, code="account_disabled"):
    """This account is disabled."""


class InvalidCode(ApplicationError, code="invalid_code"):
    """The code is not valid or has expired."""
