"""OpenAPI glue: the error shape every operation may answer with, added to each operation."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import permissions, serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable error code, e.g. `not_found`.")
    message = serializers.CharField(help_text="Human-readable explanation.")
    request_id = serializers.CharField(help_text="Id of the request, also in the `X-Request-ID` header.")
    fields = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="Validation errors per input field (`validation_error`); the plan codes (`subscription_required`).",
    )


class AutoSchema(SpectacularAutoSchema):
    """Documents the error answers an operation can give, all in `ErrorSerializer`'s shape."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status_code, description in self._error_statuses():
            if status_code not in responses:
                responses[status_code] = self._get_response_for_code(ErrorSerializer, status_code)
                responses[status_code]["description"] = description
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
