"""The application error root: services raise these, the API handler turns them into 4xx answers.

One class per code: an app's codes are its `errors.py`, the project-wide ones are here (vod's
errors module). `vod/tests/test_error_codes.py` lists them all."""

import inspect
from typing import Any

from rest_framework import status


class ApplicationError(Exception):
    """A failure the caller can act on: it carries a stable `code`, a message and an HTTP status.

    A subclass declares its code (and status, 400 unless said) in its header, and its docstring is
    the message clients read: `class NoSource(ApplicationError, status=409, code="no_source"):`
    with `\"\"\"This video has no source to transcode.\"\"\"`. A subclass without a code is a base."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code: str = "invalid_request"
    message: str = "The request could not be processed."

    def __init_subclass__(cls, *, code: str | None = None, status: int | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status_code = status
        if code is not None:
            cls.code = code
            cls.message = inspect.cleandoc(cls.__doc__ or "") or cls.message

    def __init__(self, message: str | None = None, *, fields: dict | None = None, retry_after: float | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.fields = fields
        self.retry_after = retry_after  # seconds, sent as Retry-After


class InvalidInput(ApplicationError, code="validation_error"):
    """Invalid input."""

    # Validation that only a service can do (uniqueness, password policy): `fields` says where.
    def __init__(self, fields: dict):
        super().__init__(fields=fields)


class NotFoundError(ApplicationError, status=status.HTTP_404_NOT_FOUND, code="not_found"):
    """Not found."""


class IdempotencyKeyReused(
    ApplicationError, status=status.HTTP_422_UNPROCESSABLE_ENTITY, code="idempotency_key_reused"
):
    """This Idempotency-Key was already used with a different request."""


class BadRequest(ApplicationError, code="bad_request"):
    """Bad request."""

    # A request Django itself refused before any view (a bad Host header, a broken body).


class ServiceUnavailable(ApplicationError, status=status.HTTP_503_SERVICE_UNAVAILABLE, code="service_unavailable"):
    """A service the API needs is unavailable."""


class ServerError(ApplicationError, status=status.HTTP_500_INTERNAL_SERVER_ERROR, code="server_error"):
    """Internal server error."""


class PermissionDeniedError(ApplicationError, status=status.HTTP_403_FORBIDDEN, code="permission_denied"):
    """You do not have permission to perform this action."""


class RequestTooLarge(ApplicationError, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, code="request_too_large"):
    """The request body is too large."""


class ImageTooLarge(ApplicationError, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, code="image_too_large"):
    """The image is larger than the upload limit."""


class UnsupportedImage(ApplicationError, code="unsupported_image"):
    """Only JPEG, PNG and WebP images are accepted (recognised by their content, not their name)."""


class InvalidImage(ApplicationError, code="invalid_image"):
    """The image is damaged or incomplete."""


class ImageTooManyPixels(ApplicationError, code="image_too_many_pixels"):
    """The image has too many pixels."""
