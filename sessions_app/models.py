"""Device sessions: one per sign-in, owning the refresh token; access tokens die with it.
Personal access tokens live in `access_tokens.models`."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from sessions_app.access_tokens.models import PersonalAccessToken  # noqa: F401  (a model of this app)


class DeviceSessionQuerySet(models.QuerySet):
    def active(self):
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
