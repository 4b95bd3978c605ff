"""Webhook endpoints and deliveries in the API: what a caller sends, and what it reads back."""

from datetime import datetime

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from vod.serializers import InputSerializer, refuse_control_characters
from webhooks.events import CATALOGUE
from webhooks.models import WebhookDelivery, WebhookEndpoint

EVENT_CHOICES = sorted(CATALOGUE)


class EndpointInputSerializer(InputSerializer):
    url = serializers.CharField(
        max_length=2000,
        help_text="An https URL on port 443 or 80 whose host resolves to public addresses only.",
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_CHOICES),
        min_length=1,
        max_length=len(EVENT_CHOICES),
        help_text="Event types to receive (`GET webhooks/event-types`); `user.*` are for staff with permission.",
    )
    receive_all = serializers.BooleanField(
        required=False, default=False, help_text="Staff with permission: every user's videos and subscriptions."
    )
    is_active = serializers.BooleanField(required=False, default=True)

    def validate_description(self, value: str) -> str:
        refuse_control_characters(value)
        return value

    def validate_event_types(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Each event type once.")
        return sorted(value)


class EndpointUpdateInputSerializer(EndpointInputSerializer):
    """Any of the fields; what is left out stays."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class EndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_CHOICES))
    disabled_reason = serializers.SerializerMethodField(help_text="Why it is off; null while it is on.")

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "receive_all",
            "is_active",
            "disabled_reason",
            "disabled_at",
            "failing_since",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=WebhookEndpoint.DisabledReason.choices[1:], allow_null=True))
    def get_disabled_reason(self, endpoint) -> str | None:
        return endpoint.disabled_reason or None


class EndpointWithSecretSerializer(EndpointSerializer):
    """The endpoint with its signing secret, from `context["secret"]`: shown in this answer only."""

    secret = serializers.SerializerMethodField(help_text="`whsec_` + base64: verify signatures with it. Shown once.")

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_secret(self, endpoint) -> str:
        return self.context["secret"]


class DeliverySerializer(serializers.ModelSerializer):
    event_type = serializers.CharField(source="message.event_type")
    webhook_id = serializers.CharField(
        source="message.webhook_id", help_text="The `webhook-id` header it is sent with."
    )
    response_code = serializers.IntegerField(source="last_status_code", allow_null=True)
    duration_ms = serializers.IntegerField(source="last_duration_ms", allow_null=True)
    response_excerpt = serializers.CharField(
        source="last_response_excerpt", help_text="The first 2 KB of the last answer."
    )
    error = serializers.CharField(source="last_error", help_text="Why the last attempt failed, when no answer came.")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_type",
            "webhook_id",
            "status",
            "attempts",
            "response_code",
            "duration_ms",
            "response_excerpt",
            "error",
            "last_attempt_at",
            "next_attempt_at",
            "created_at",
        ]
        read_only_fields = fields


class RecoverInputSerializer(InputSerializer):
    since = serializers.DateTimeField(help_text="Deliveries of events since then that failed are sent again.")

    def validate_since(self, value: datetime) -> datetime:
        if value > timezone.now():
            raise serializers.ValidationError("Must not be in the future.")
        return value


class RecoverResultSerializer(serializers.Serializer):
    requeued = serializers.IntegerField(help_text="How many deliveries are sent again.")


class EventTypeSerializer(serializers.Serializer):
    type = serializers.CharField(source="name")
    description = serializers.CharField()
    staff_only = serializers.BooleanField(help_text="Only staff endpoints with the permission may receive it.")
