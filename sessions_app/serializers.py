from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sessions_app.models import DeviceSession
from vod.serializers import InputSerializer


class SessionSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(help_text="This is the session making the request.")

    class Meta:
        model = DeviceSession
        fields = [
            "id",
            "device_name",
            "user_agent",
            "ip_address",
            "created_at",
            "last_used_at",
            "expires_at",
            "current",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField())
    def get_current(self, session) -> bool:
        return str(session.pk) == str(self.context.get("current_session_id"))


class RefreshInputSerializer(InputSerializer):
    refresh = serializers.CharField(max_length=4096)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    access_expires_at = serializers.DateTimeField()
    refresh_expires_at = serializers.DateTimeField()
