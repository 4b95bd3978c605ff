"""Access tokens in the API: what a caller sends to create one, and what the list shows (never a secret)."""

import unicodedata

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sessions_app.access_tokens.models import PersonalAccessToken
from sessions_app.access_tokens.scopes import Scope
from vod.serializers import InputSerializer


class TokenInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=100, help_text="What the token is for, e.g. `CI uploads`.")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=Scope.choices),
        min_length=1,
        max_length=len(Scope.values),
        help_text="`staff` is for staff only. A token never manages tokens, sessions, passwords, email or the account.",
    )
    expires_at = serializers.DateTimeField(
        required=False, help_text="At most 365 days ahead; without it, 90 days from now. No token lives forever."
    )

    def validate_name(self, value: str) -> str:
        # Control and format characters (bidi overrides, zero-width marks) would make one token's
        # name pass for another's in a list.
        if any(unicodedata.category(char) in ("Cc", "Cf") for char in value):
            raise serializers.ValidationError("Plain text only: no control or invisible characters.")
        return value

    def validate_scopes(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Each scope once.")
        return [scope for scope in Scope.values if scope in value]  # one canonical order

    def validate_expires_at(self, value):
        now = timezone.now()
        if value <= now:
            raise serializers.ValidationError("Must be in the future.")
        if value > now + settings.ACCESS_TOKEN_MAX_LIFETIME:
            raise serializers.ValidationError("At most 365 days from now.")
        return value


class TokenSerializer(serializers.ModelSerializer):
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices))
    state = serializers.ChoiceField(choices=["active", "expired", "revoked"])
    revoke_reason = serializers.SerializerMethodField(help_text="Why it was revoked; null while it is not.")

    class Meta:
        model = PersonalAccessToken
        fields = [
            "id",
            "name",
            "prefix",
            "scopes",
            "state",
            "created_at",
            "expires_at",
            "last_used_at",
            "last_used_ip",
            "revoked_at",
            "revoke_reason",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=PersonalAccessToken.RevokeReason.choices, allow_null=True))
    def get_revoke_reason(self, token) -> str | None:
        return token.revoke_reason or None


class TokenCreatedSerializer(TokenSerializer):
    """A new token's row with its plaintext, from `context["plaintext"]`: the one answer that has it."""

    token = serializers.SerializerMethodField(
        help_text="The token itself. Shown this once: it is not stored and cannot be read again."
    )

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_token(self, token) -> str:
        return self.context["plaintext"]
