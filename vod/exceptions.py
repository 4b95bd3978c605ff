"""The application error root: services raise these, the API handler turns them into 4xx answers."""

from rest_framework import status


class ApplicationError(Exception):
    """A failure the caller can act on: it carries a stable `code`, a message and an HTTP status."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid_request"
    message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, code: str | None = None, fields=None, retry_after=None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.code = code or self.code
        self.fields = fields
        self.retry_after = retry_after  # seconds, sent as Retry-After


class InvalidInput(ApplicationError):
    """Validation that only a service can do (uniqueness, password policy): `fields` says where."""

    code = "validation_error"
    message = "Invalid input."

    def __init__(self, fields: dict):
        super().__init__(fields=fields)


class NotFoundError(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    message = "Not found."


class ConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    message = "The request conflicts with the current state."


class PermissionDeniedError(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"
    message = "You do not have permission to perform this action."
