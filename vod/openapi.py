"""OpenAPI glue, so that generated clients work without edits: the error shape (with every code
the API can answer) on each operation, security requirements that match the permissions, the
headers every answer carries, uuid and integer path ids, and per-operation descriptions."""

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions, permissions, serializers

from sessions_app.access_tokens.scopes import NO_TOKENS, scope_for_schema
from vod.exception_handlers import CODE_ALIASES
from vod.exceptions import ApplicationError
from vod.permissions import StaffModelPermissions
from vod.request_context import REQUEST_ID_HEADER
from vod.viewsets import UUID_PATTERN

ERROR_CODE_REF = {"$ref": "#/components/schemas/ErrorCode"}
FIELD_ERRORS_REF = {"$ref": "#/components/schemas/FieldErrors"}
_DIGITS_PATTERN = re.compile(r"^\^\[0-9\]\{1,(\d+)\}\$$")


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable error code, e.g. `not_found`.")
    message = serializers.CharField(help_text="Human-readable explanation.")
    request_id = serializers.CharField(help_text="Id of the request, also in the `X-Request-ID` header.")
    fields = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="Validation errors per input field (`validation_error`); the plan codes (`subscription_required`).",
    )


def all_subclasses(cls: Any) -> Iterator[Any]:
    for subclass in cls.__subclasses__():
        yield subclass
        yield from all_subclasses(subclass)


def error_codes() -> list[str]:
    """Every `code` an error answer can carry: each application error's, and DRF's and
    simplejwt's as the exception handler names them."""
    codes = {error.code for error in (ApplicationError, *all_subclasses(ApplicationError))}
    for error in (exceptions.APIException, *all_subclasses(exceptions.APIException)):
        codes.add(CODE_ALIASES.get(error.default_code, error.default_code))
    return sorted(codes)


def error_responses(*errors: type[ApplicationError]) -> dict:
    """Responses for the errors an operation raises beyond the usual ones, grouped by status,
    each naming its codes: `responses={200: ..., **error_responses(InvalidCredentials, ...)}`."""
    by_status = defaultdict(list)
    for error in errors:
        by_status[error.status_code].append(f"`{error.code}`: {error.message}")
    if 400 in by_status:
        by_status[400].insert(0, "`validation_error`: invalid input (see `fields`).")
    return {
        status_code: OpenApiResponse(ErrorSerializer, description=" ".join(lines))
        for status_code, lines in by_status.items()
    }


IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    description="ETags of a copy the client holds; the answer is 304 without a body when one is current.",
)


class AutoSchema(SpectacularAutoSchema):
    """Documents the error answers an operation can give, all in `ErrorSerializer`'s shape, and
    what a client needs to call it as generated, and the access-token scope it needs (`x-token-scope`,
    also in its description)."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is not None and "security" not in operation:
            operation["security"] = []  # no sign-in needed: generated clients take a plain client
        return operation

    def get_auth(self) -> list[dict]:
        """Bearer JWT where the permissions need a user; `{}` beside it where a token is optional
        (it changes what the caller sees); nothing where the view takes no credentials at all."""
        auths = super().get_auth()
        return [] if auths == [{}] else auths

    def get_description(self) -> str:  # type: ignore[override]  # drf-spectacular's signature, not DRF's
        """The action's own docstring: a viewset's docstring is about the whole resource and would
        repeat on every operation. A plain view has one operation, so its docstring is that one's."""
        action = getattr(self.view, "action", None)
        if action is None:
            return super().get_description()
        description = get_doc(getattr(self.view, action, None))
        if any(isinstance(p, StaffModelPermissions) for p in self.view.get_permissions()):
            permission = getattr(self.view, "staff_permissions", {}).get(action)
            needs = f"Staff with the `{permission}` permission." if permission else "Not open to API clients."
            description = f"{description}\n\n{needs}" if description else needs
        scope = scope_for_schema(self.view, self.method)
        if scope is not None:
            note = (
                "Personal access tokens cannot call this; sign in with a password."
                if scope == NO_TOKENS
                else f"Personal access token scope: `{scope}`."
            )
            description = f"{description}\n\n{note}" if description else note
        return description

    def get_extensions(self) -> dict:
        extensions = super().get_extensions()
        scope = scope_for_schema(self.view, self.method)
        if scope is not None:
            extensions = {**extensions, "x-token-scope": str(scope)}
        return extensions

    def _conditional_get(self) -> bool:
        """A GET action under `vod.response_cache.cached_read`: ETag, If-None-Match, 304."""
        action = getattr(self.view, "action", None)
        handler = getattr(self.view, action, None) if action else None
        return self.method == "GET" and getattr(handler, "conditional_get", False)

    def get_override_parameters(self) -> list:
        parameters = super().get_override_parameters()
        if self._conditional_get():
            parameters = [*parameters, IF_NONE_MATCH]
        return parameters

    def _get_format_parameters(self):
        return []  # `?format=` is DRF's browsable-API switch; clients negotiate with Accept

    def _get_paginator(self):
        paginator = super()._get_paginator()
        if paginator is not None:
            paginator.example_path = self.path
        return paginator

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            pattern = parameter["schema"].get("pattern", "")
            if pattern == f"^{UUID_PATTERN}$":
                parameter["schema"] = {"type": "string", "format": "uuid"}
            elif digits := _DIGITS_PATTERN.match(pattern):
                parameter["schema"] = {"type": "integer", "minimum": 0, "maximum": 10 ** int(digits[1]) - 1}
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status_code, description in self._error_statuses():
            if status_code not in responses:
                responses[status_code] = self._get_response_for_code(ErrorSerializer, status_code)
                responses[status_code]["description"] = description
            elif status_code == "429":  # the operation's own 429 (a lock-out), besides the throttle's
                responses[status_code]["description"] += " `throttled`: too many requests; wait `Retry-After`."
        for status_code, response in responses.items():
            headers = response.setdefault("headers", {})
            headers[REQUEST_ID_HEADER] = {"$ref": "#/components/headers/RequestId"}
            if status_code == "429":
                headers["Retry-After"] = {"$ref": "#/components/headers/RetryAfter"}
        if self._conditional_get() and "200" in responses:
            for name in ("ETag", "Cache-Control"):
                responses["200"]["headers"][name] = {"$ref": f"#/components/headers/{name.replace('-', '')}"}
            responses["304"] = {
                "description": "Not modified: `If-None-Match` names the current `ETag`; no body.",
                "headers": {
                    REQUEST_ID_HEADER: {"$ref": "#/components/headers/RequestId"},
                    "ETag": {"$ref": "#/components/headers/ETag"},
                    "Cache-Control": {"$ref": "#/components/headers/CacheControl"},
                },
            }
        return responses

    def _error_statuses(self):
        statuses = []
        if self.method in ("POST", "PUT", "PATCH") or (self.method == "GET" and self._is_list_view()):
            statuses.append(("400", "Invalid input (`validation_error` with `fields`)."))
        if not all(isinstance(p, permissions.AllowAny) for p in self.view.get_permissions()):
            statuses.append(("401", "Missing, invalid or revoked credentials."))
            statuses.append(("403", "Authenticated but not allowed."))
        if "{" in self.path:
            statuses.append(("404", "No such resource, or not visible to the caller."))
        if self.view.get_throttles():
            statuses.append(("429", "Too many requests; see the `Retry-After` header."))
        statuses.append(("default", "Any other error, in the same shape."))
        return statuses


def _is_error_shape(schema: dict) -> bool:
    return {"code", "message", "request_id"} <= schema.get("properties", {}).keys()


def postprocess_schema(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular hook: `Error.code` as the enum of real codes, `Error.fields` typed, and
    query filters that only take true/false as booleans."""
    result["components"]["headers"] = {
        "RequestId": {
            "schema": {"type": "string"},
            "description": "Id of the request, for support and the logs (the caller's own when valid).",
            "required": True,
        },
        "RetryAfter": {
            "schema": {"type": "integer", "minimum": 0},
            "description": "Seconds to wait before trying again.",
            "required": True,
        },
        "ETag": {
            "schema": {"type": "string"},
            "description": "Strong validator of the body: send it back in `If-None-Match` for a 304.",
            "required": True,
        },
        "CacheControl": {
            "schema": {"type": "string"},
            "description": "`public, max-age=N` for answers anyone gets (anonymous, public; a CDN may keep "
            "them N seconds); `private, no-cache` for a signed-in viewer's or an unlisted video's.",
            "required": True,
        },
    }
    schemas = result["components"]["schemas"]
    schemas["ErrorCode"] = {
        "type": "string",
        "enum": error_codes(),
        "description": "Stable machine-readable error code.",
    }
    schemas["FieldErrors"] = {
        "type": "object",
        "description": "Per input field: its messages, or for nested input the errors per item or key.",
        "additionalProperties": {
            "oneOf": [
                {"type": "array", "items": {"oneOf": [{"type": "string"}, FIELD_ERRORS_REF]}},
                FIELD_ERRORS_REF,
            ]
        },
    }
    for schema in schemas.values():
        if _is_error_shape(schema):
            schema["properties"]["code"] = ERROR_CODE_REF
            schema["properties"]["fields"] = FIELD_ERRORS_REF
    for path_item in result["paths"].values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and _only_true_false(parameter["schema"], schemas):
                    parameter["schema"] = {"type": "boolean"}
    return result


def _only_true_false(schema: dict, schemas: dict) -> bool:
    if "$ref" in schema:
        schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema.get("type") == "string" and sorted(schema.get("enum", [])) == ["false", "true"]
