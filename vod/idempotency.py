"""`Idempotency-Key` support: a retried request gets the first answer instead of a second effect."""

import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.response import Response

from vod.exceptions import IdempotencyKeyReused, InvalidInput
from vod.models import IdempotencyRecord

HEADER = "Idempotency-Key"
# For `extend_schema(parameters=[...])` of the operations wrapped in `idempotent`.
SCHEMA_PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    description="Retries with the same key get the first answer instead of doing it again.",
)


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    response = Response(record.response_body, status=record.response_status)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(request, scope: str, handler: Callable[[], Response]) -> Response:
    """Runs `handler` once per (user, scope, key); successful answers are stored and replayed.

    The record is written in the handler's transaction: of two concurrent duplicates, the second
    collides on the unique key, its own effects roll back, and it replays the first's answer. A
    failed attempt stores nothing and may be retried."""
    key = request.headers.get(HEADER)
    if key is None:
        return handler()
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise InvalidInput({HEADER: ["Use 1 to 255 printable characters."]})
    fingerprint = _fingerprint(request)
    lookup = {"user": request.user, "scope": scope, "key": key}
    existing = IdempotencyRecord.objects.filter(**lookup).first()
    if existing is not None:
        return _replay(existing, fingerprint)
    try:
        with transaction.atomic():
            response = handler()
            if status.is_success(response.status_code):
                IdempotencyRecord.objects.create(
                    **lookup,
                    request_fingerprint=fingerprint,
                    response_status=response.status_code,
                    response_body=json.loads(json.dumps(response.data, default=str)),
                )
    except IntegrityError:
        record = IdempotencyRecord.objects.filter(**lookup).first()
        if record is None:  # the handler's own integrity error, not a duplicate key
            raise
        return _replay(record, fingerprint)
    return response
