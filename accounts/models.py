"""The user model: UUID ids, case-insensitive unique email and username, verification and lockout."""

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.db.models.functions import Lower

AVATAR_SIZES = (64, 256, 512)  # pixels a side of the squares an avatar is stored at


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email):  # noqa: ANN201 (django-stubs types it as the manager's model)
        return self.get(email__iexact=email)

    def _create(self, email, username, password, **extra):
        user = self.model(email=self.normalize_email(email), username=username, **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"], validate_unique=False)
        user.save(using=self._db)
        return user

    def create_user(self, email, username, password=None, **extra) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, username, password, **extra)

    def create_superuser(self, email, username, password=None, **extra) -> "User":
        extra.update(is_staff=True, is_superuser=True, is_verified=True)
        return self._create(email, username, password, **extra)


class SignInFailures(models.Model):
    """Failed password checks and the lock they earn: kept alike, in the database, for accounts and
    for names with no account, so neither how long a count lasts nor where it lives tells them apart."""

    failed_login_count = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_failed_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class User(AbstractBaseUser, PermissionsMixin, SignInFailures):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254)
    username = models.CharField(
        max_length=30,
        validators=[UnicodeUsernameValidator()],
        help_text="Public handle: letters, digits and @/./+/-/_ only.",
    )
    display_name = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    is_verified = models.BooleanField(default=False, help_text="Has confirmed their email address.")
    # The current avatar's variants live under `videos.keys.avatar_prefix(avatar_id)`; none: no avatar.
    avatar_id = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["username"]

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]

    def __str__(self):
        return self.email

    def get_full_name(self) -> str:
        return self.display_name or self.username

    def get_short_name(self) -> str:
        return self.username


class UnknownSignInName(SignInFailures):
    """Failed sign-ins under a name that has no account, keyed by a hash of its canonical form."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["last_failed_login_at"])]

    def __str__(self):
        return f"unknown sign-in name {self.key[:12]}"


class OneTimeCode(models.Model):
    """A 6-digit code mailed to a user for one purpose; only its keyed hash is stored."""

    class Purpose(models.TextChoices):
        VERIFY_EMAIL = "verify_email", "Verify email"
        RESET_PASSWORD = "reset_password", "Reset password"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="one_time_codes")
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    code_hash = models.CharField(max_length=64)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one live code per user and purpose: issuing a new one retires the old.
            models.UniqueConstraint(
                fields=["user", "purpose"], condition=models.Q(used_at__isnull=True), name="accounts_otc_one_live"
            ),
        ]
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self):
        return f"{self.purpose} code for {self.user_id}"


class OutboundEmail(models.Model):
    """The outbox: one row per email a request asked for, so a retried task never sends it twice.

    `context` may hold a one-time code; it is emptied once the message is sent.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    to = models.EmailField(max_length=254)
    template = models.CharField(max_length=64)
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return f"{self.template} to {self.to} ({self.status})"


# Plans and subscriptions live in their own module; imported here so Django registers them.
from accounts.subscriptions.models import BillingEvent, Plan, Subscription, SubscriptionChange  # noqa: E402, F401
