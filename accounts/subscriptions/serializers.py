"""Answers and input of plans, subscriptions and billing events."""

from datetime import UTC

from rest_framework import serializers

from accounts.subscriptions.billing import EVENT_STATES
from accounts.subscriptions.models import Plan, Subscription, plan_code_validator
from vod.serializers import InputSerializer


class UTCDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time, stored in UTC; offsets that push it off the calendar are refused."""

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise serializers.ValidationError("This date-time is out of range.") from None


class PlanSerializer(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = Plan
        fields = ["code", "name", "description", "sort_order", "active", "created_at", "updated_at"]
        read_only_fields = fields


class PlanInputSerializer(InputSerializer):
    code = serializers.CharField(max_length=50, validators=[plan_code_validator])
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=2000, allow_blank=True, required=False)
    sort_order = serializers.IntegerField(min_value=-1_000_000, max_value=1_000_000, required=False)
    active = serializers.BooleanField(source="is_active", required=False)


class PlanUpdateInputSerializer(PlanInputSerializer):
    """The code names the plan in URLs, videos and billing events: it never changes."""

    code = None


class PlanBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ["code", "name", "description"]
        read_only_fields = fields


class SubscriptionSerializer(serializers.ModelSerializer):
    plan = PlanBriefSerializer(read_only=True)
    access_until = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="`ends_at`, plus the grace period when past due; null: open-ended."
    )
    grants_access = serializers.BooleanField(
        read_only=True, help_text="Unlocks the plan's videos now (videos list it in `required_plans`)."
    )

    class Meta:
        model = Subscription
        fields = [
            "id",
            "plan",
            "status",
            "source",
            "starts_at",
            "ends_at",
            "access_until",
            "grants_access",
            "renews",
            "external_ref",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SubscriptionGrantInputSerializer(InputSerializer):
    plan = serializers.CharField(max_length=50, help_text="A plan code.")
    ends_at = UTCDateTimeField(required=False, allow_null=True, help_text="Exclusive; null or absent: open-ended.")
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)

    def validate_plan(self, value: str) -> Plan:
        plan = Plan.objects.filter(code=value).first()
        if plan is None:
            raise serializers.ValidationError("No plan has this code.")
        return plan


class BillingEventDataSerializer(InputSerializer):
    user = serializers.CharField(max_length=254, help_text="The user's id, or their email.")
    plan = serializers.CharField(max_length=50, help_text="A plan code.")
    external_id = serializers.CharField(max_length=255, help_text="The billing system's subscription id.")
    period_end = UTCDateTimeField(required=False, allow_null=True, help_text="When the paid period ends.")
    renews = serializers.BooleanField(required=False, help_text="False: ends with the period (default true).")

    def validate_user(self, value: str) -> str:
        if "@" not in value:
            serializers.UUIDField().to_internal_value(value)  # an id, or an email
        return value


class BillingEventInputSerializer(InputSerializer):
    """A Standard Webhooks payload: `type`, `timestamp` (the event's own time) and `data`."""

    type = serializers.ChoiceField(list(EVENT_STATES))
    timestamp = UTCDateTimeField()
    data = BillingEventDataSerializer()


class BillingEventResultSerializer(serializers.Serializer):
    webhook_id = serializers.CharField()
    result = serializers.CharField(help_text="`applied`, or `stale` (older than the stored state: ignored).")
    subscription = serializers.UUIDField(source="subscription_id", allow_null=True)
