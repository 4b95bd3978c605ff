"""API input: the base class of input serializers, and the one way views validate a body."""

import unicodedata
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request


def refuse_control_characters(value: str) -> None:
    """For labels shown back to people: no control, format or unassigned characters (which hide or
    reorder text, e.g. right-to-left overrides)."""
    if any(unicodedata.category(char).startswith("C") for char in value):
        raise serializers.ValidationError("Control characters are not allowed.")


def _raw_problem(field, value) -> str | None:
    """What the schema refuses in a raw value that DRF would otherwise accept after coercion."""
    if isinstance(field, serializers.CharField):
        if not isinstance(value, str):
            return str(serializers.CharField.default_error_messages["invalid"])
        # DRF trims before checking the length; the schema's maxLength is about what was sent.
        if field.max_length is not None and len(value) > field.max_length:
            return f"Ensure this field has no more than {field.max_length} characters."
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        return next(filter(None, (_raw_problem(field.child, item) for item in value if item is not None)), None)
    if isinstance(field, serializers.RelatedField) and value == "":
        # DRF reads "" as null for relations; the schema says a non-empty string or null.
        return "This field may not be blank; send null for none."
    if isinstance(field, serializers.RelatedField) and isinstance(value, str) and "\x00" in value:
        # A lookup with NUL fails in PostgreSQL (a 500); CharFields already refuse it.
        return "Null characters are not allowed."
    return None


class InputSerializer(serializers.Serializer):
    """Request-body validation held to the schema: text fields take JSON strings only (DRF would
    quietly turn `0` or `1.5` into "0" and "1.5"), lengths count what was sent (DRF trims first),
    and a relation is a value or null, never ""."""

    def to_internal_value(self, data) -> Any:
        if isinstance(data, dict):
            errors = {
                name: [problem]
                for name, field in self.fields.items()
                if not field.read_only
                and name in data
                and data[name] is not None
                and (problem := _raw_problem(field, data[name]))
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def validated(serializer_class: type[serializers.Serializer], request: Request, **kwargs: Any) -> Any:
    """The request body checked by `serializer_class` (400 with the problems per field otherwise)."""
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
