"""Base classes for API input."""

from rest_framework import serializers


class InputSerializer(serializers.Serializer):
    """Request-body validation that takes text fields only as JSON strings: DRF would quietly turn
    `0` or `1.5` into "0" and "1.5", which the schema (type: string) says we refuse."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {
                name: [serializers.CharField.default_error_messages["invalid"]]
                for name, field in self.fields.items()
                if isinstance(field, serializers.CharField)
                and not field.read_only
                and name in data
                and data[name] is not None
                and not isinstance(data[name], str)
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
