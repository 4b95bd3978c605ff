"""One JSON error shape for every 4xx and 5xx: `{"code", "message", "fields"?, "request_id"}`.

DRF views go through `api_exception_handler`; Django's own 404/500 paths (unknown routes, errors
outside DRF) go through the `handler*` views wired in `vod.urls`, so clients see one format.
"""

import logging

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from vod.exceptions import ApplicationError, BadRequest, NotFoundError, RequestTooLarge, ServerError
from vod.request_context import current_request_id

logger = logging.getLogger(__name__)

# Bodies over Django's DATA_UPLOAD_MAX_* limits: the client sent too much, nothing is wrong here.
TOO_LARGE = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)

# DRF's default codes, renamed where they read poorly as an API contract.
CODE_ALIASES = {"invalid": "validation_error", "error": "invalid_request"}


def error_body(code: str, message: str, fields=None) -> dict:
    body = {"code": code, "message": message, "request_id": current_request_id()}
    if fields:
        body["fields"] = fields
    return body


def _validation_fields(detail):
    """DRF's nested ErrorDetail lists/dicts as plain JSON (messages only)."""
    if isinstance(detail, dict):
        return {key: _validation_fields(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_validation_fields(item) for item in detail]
    return str(detail)


def _from_api_exception(exc: exceptions.APIException) -> tuple[dict, int]:
    if isinstance(exc, exceptions.ValidationError):
        fields = _validation_fields(exc.detail)
        if isinstance(fields, list):  # raised without a field: non-field errors
            fields = {"non_field_errors": fields}
        return error_body("validation_error", "Invalid input.", fields), exc.status_code
    detail = exc.detail
    if isinstance(detail, dict) and "detail" in detail:  # simplejwt's InvalidToken and the like
        return error_body(str(detail.get("code", exc.default_code)), str(detail["detail"])), exc.status_code
    if isinstance(detail, (list, dict)):  # an APIException raised with structured detail
        return error_body(exc.default_code, str(exc.default_detail), _validation_fields(detail)), exc.status_code
    code = str(exc.get_codes())
    return error_body(CODE_ALIASES.get(code, code), str(detail)), exc.status_code


def _from_suspicious_operation(exc: SuspiciousOperation) -> tuple[dict, int]:
    if isinstance(exc, TOO_LARGE):
        return error_body(RequestTooLarge.code, RequestTooLarge.message), RequestTooLarge.status_code
    return error_body(BadRequest.code, BadRequest.message), BadRequest.status_code


def api_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every exception out of an API view becomes the error shape."""
    headers = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, ApplicationError):
        body, status_code = error_body(exc.code, exc.message, exc.fields), exc.status_code
        if exc.retry_after:
            headers["Retry-After"] = str(int(exc.retry_after))
    elif isinstance(exc, SuspiciousOperation):
        body, status_code = _from_suspicious_operation(exc)
        logger.warning("Refused request: %s: %s", type(exc).__name__, exc)
    elif isinstance(exc, exceptions.APIException):
        body, status_code = _from_api_exception(exc)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
    else:
        logger.exception("Unhandled error in API view", exc_info=exc)
        body, status_code = error_body(ServerError.code, ServerError.message), ServerError.status_code

    set_rollback()
    return Response(body, status=status_code, headers=headers)


def _json_error(error: type[ApplicationError] | type[exceptions.APIException]) -> JsonResponse:
    if issubclass(error, ApplicationError):
        return JsonResponse(error_body(error.code, error.message), status=error.status_code)
    return JsonResponse(error_body(error.default_code, str(error.default_detail)), status=error.status_code)


def bad_request(request, exception=None):
    """Django's 400 path, which SuspiciousOperation outside DRF takes too."""
    if isinstance(exception, SuspiciousOperation):
        body, status_code = _from_suspicious_operation(exception)
        return JsonResponse(body, status=status_code)
    return _json_error(BadRequest)


def permission_denied(request, exception=None):
    return _json_error(exceptions.PermissionDenied)


def page_not_found(request, exception=None):
    return _json_error(NotFoundError)


def server_error(request):
    return _json_error(ServerError)
