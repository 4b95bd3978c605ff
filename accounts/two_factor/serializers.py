from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import PASSWORD
from vod.serializers import InputSerializer

CODE_HELP = "A 6-digit code from the authenticator app, or one of the recovery codes."


# --- input ----------------------------------------------------------------------------------------


class TwoFactorSetupInputSerializer(InputSerializer):
    password = serializers.CharField(**PASSWORD)


class TwoFactorConfirmInputSerializer(InputSerializer):
    code = serializers.RegexField(r"^[0-9]{6}$", help_text="The 6-digit code the authenticator app shows now.")


class TwoFactorDisableInputSerializer(InputSerializer):
    password = serializers.CharField(**PASSWORD)
    code = serializers.CharField(max_length=32, help_text=CODE_HELP)


class TwoFactorVerifyInputSerializer(InputSerializer):
    challenge = serializers.CharField(max_length=128, help_text="`challenge` from auth/login.")
    code = serializers.CharField(max_length=32, help_text=CODE_HELP)


# --- output ---------------------------------------------------------------------------------------


class TwoFactorEnrolmentSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="Base32 TOTP secret, for typing into the app; shown only now.")
    otpauth_uri = serializers.CharField(help_text="`otpauth://totp/...` URI, usually shown as a QR code.")


class RecoveryCodesSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(), help_text="10 single-use codes for when the app is lost; shown only now."
    )


class TwoFactorChallengeSerializer(serializers.Serializer):
    two_factor_required = serializers.SerializerMethodField(help_text="Always true: tells this answer from tokens.")
    challenge = serializers.CharField(source="token", help_text="Send it to auth/2fa/verify with a code.")
    challenge_expires_at = serializers.DateTimeField(source="expires_at")

    @extend_schema_field(serializers.BooleanField())
    def get_two_factor_required(self, challenge) -> bool:
        return True
