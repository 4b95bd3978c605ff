from typing import Any

from django.contrib.auth.validators import UnicodeUsernameValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from accounts.password_validation import MAX_PASSWORD_LENGTH
from accounts.selectors import avatar_urls
from sessions_app.serializers import SessionSerializer, TokenPairSerializer
from vod.serializers import InputSerializer, refuse_control_characters

PASSWORD: dict[str, Any] = {
    "max_length": MAX_PASSWORD_LENGTH,
    "trim_whitespace": False,
    "write_only": True,
    "style": {"input_type": "password"},
}


def _username(**kwargs):
    return serializers.CharField(min_length=2, max_length=30, validators=[UnicodeUsernameValidator()], **kwargs)


# --- input ----------------------------------------------------------------------------------------


class RegisterInputSerializer(InputSerializer):
    email = serializers.EmailField(max_length=254)
    username = _username()
    password = serializers.CharField(**PASSWORD)


class EmailInputSerializer(InputSerializer):
    email = serializers.EmailField(max_length=254)


def _device_name():
    return serializers.CharField(
        max_length=128,
        required=False,
        validators=[refuse_control_characters],
        help_text="A name for this sign-in in the session list, such as Ada's phone; default: one read from "
        "the User-Agent.",
    )


class CodeInputSerializer(EmailInputSerializer):
    code = serializers.RegexField(r"^[0-9]{6}$", help_text="The 6-digit code from the email.")


class VerifyEmailInputSerializer(CodeInputSerializer):
    password = serializers.CharField(**PASSWORD, help_text="Becomes the account's password.")
    device_name = _device_name()


class LoginInputSerializer(InputSerializer):
    email_or_username = serializers.CharField(max_length=254)
    password = serializers.CharField(**PASSWORD)
    device_name = _device_name()


class PasswordResetInputSerializer(CodeInputSerializer):
    new_password = serializers.CharField(**PASSWORD)


class PasswordChangeInputSerializer(InputSerializer):
    current_password = serializers.CharField(**PASSWORD)
    new_password = serializers.CharField(**PASSWORD)


class ProfileUpdateInputSerializer(InputSerializer):
    display_name = serializers.CharField(max_length=100, allow_blank=True, required=False)
    username = _username(required=False)


class PasswordConfirmInputSerializer(InputSerializer):
    password = serializers.CharField(**PASSWORD)


class StaffUserCreateInputSerializer(RegisterInputSerializer):
    is_staff = serializers.BooleanField(default=False, help_text="Only superusers may create staff accounts.")


# --- output ---------------------------------------------------------------------------------------


@extend_schema_field(
    serializers.DictField(
        child=serializers.URLField(),
        allow_null=True,
        help_text='The avatar by size in pixels ("64", "256", "512"), WebP; null without one.',
    )
)
class AvatarUrlsField(serializers.Field):
    """A user's avatar URLs, in any representation that shows a user (profile, channel)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, user) -> dict[str, str] | None:
        request = self.context.get("request")
        return avatar_urls(user, build_absolute_uri=request.build_absolute_uri if request else None)


class UserSerializer(serializers.ModelSerializer):
    avatar_urls = AvatarUrlsField()

    class Meta:
        model = User
        fields = ["id", "email", "username", "display_name", "avatar_urls", "is_verified", "created_at"]
        read_only_fields = fields


class StaffUserSerializer(UserSerializer):
    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "is_active", "is_staff", "last_login", "locked_until"]
        read_only_fields = fields


class AuthResultSerializer(TokenPairSerializer):
    session = SessionSerializer()
    user = UserSerializer()


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()
