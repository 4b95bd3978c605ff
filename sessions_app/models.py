"""Device sessions: one per sign-in, owning the refresh token; access tokens die with it.
Personal access tokens live in `access_tokens.models`."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from sessions_app.access_tokens.models import PersonalAccessToken  # noqa: F401  (a model of this app)


class DeviceSessionQuerySet(models.QuerySet):
    def active(self) -> "DeviceSessionQuerySet":
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class DeviceSession(models.Model):
    class RevokeReason(models.TextChoices):
        LOGOUT = "logout", "Signed out"
        LOGOUT_ALL = "logout_all", "Signed out everywhere"
        REVOKED_BY_USER = "revoked_by_user", "Ended from another device"
        REFRESH_REUSE = "refresh_reuse", "Refresh token reused"
        PASSWORD_CHANGE = "password_change", "Password changed"
        PASSWORD_RESET = "password_reset", "Password reset"
        ACCOUNT_DISABLED = "account_disabled", "Account disabled"
        ACCOUNT_DELETED = "account_deleted", "Account deleted"
        STAFF = "staff", "Revoked by staff"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="device_sessions")
    user_agent = models.CharField(max_length=512, blank=True)
    device_name = models.CharField(max_length=128, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # Only the ids (jti) of refresh tokens are kept, never the tokens.
    refresh_jti = models.CharField(max_length=64)
    previous_refresh_jti = models.CharField(max_length=64, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=32, choices=RevokeReason.choices, blank=True)

    objects = DeviceSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-last_used_at"]
        indexes = [
            models.Index(fields=["user", "revoked_at"]),
            models.Index(fields=["expires_at"]),
        ]

    def __str__(self):
        return f"{self.device_name or 'Unknown device'} ({self.user_id})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


# --- two-factor sign-in ---------------------------------------------------------------------------
# The authenticator, its recovery codes and the sign-in challenges live here rather than in
# accounts/: like device sessions they are credentials that authenticate a request (DESIGN.md puts
# those in sessions_app), and keeping them below accounts keeps the dependency one-way (accounts
# asks sessions_app whether a sign-in needs a second step, never the reverse).


class TOTPDevice(models.Model):
    """A user's authenticator app (RFC 6238 TOTP). Its secret is stored encrypted (sessions_app.totp)
    and shown once, at setup. Until `confirmed_at` is set it is only a pending enrolment."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device")
    encrypted_secret = models.TextField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The time step of the last accepted code: a code is accepted only for a later step (no replay).
    last_used_step = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "TOTP device"

    def __str__(self):
        return f"TOTP device of {self.user_id}"


class RecoveryCode(models.Model):
    """One of the single-use codes that stand in for the authenticator; only a keyed hash is kept."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device = models.ForeignKey(TOTPDevice, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["device", "id"]
        constraints = [models.UniqueConstraint(fields=["device", "code_hash"], name="sessions_recovery_code_unique")]

    def __str__(self):
        return f"recovery code of {self.device_id}"


class TwoFactorChallenge(models.Model):
    """The answer to a right password on an enrolled account: the bearer of its token may finish the
    sign-in with a code, once, within TWO_FACTOR_CHALLENGE_TTL and a few tries. Only a hash of
    the token is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="two_factor_challenges")
    token_hash = models.CharField(max_length=64, unique=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self):
        return f"two-factor challenge for {self.user_id}"
