"""Plans, the subscriptions that tie users to them, the audit trail of every change, and the
billing events received. Times are UTC; `ends_at` is exclusive (access stops at that instant)."""

import uuid
from datetime import datetime

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Case, DateTimeField, ExpressionWrapper, F, Q, When
from django.utils import timezone

plan_code_validator = RegexValidator(
    r"^[a-z0-9]+(?:[-_][a-z0-9]+)*\Z", "Lowercase ASCII letters and digits, joined by single - or _."
)


class Plan(models.Model):
    """What a subscription unlocks. Deactivated plans are no longer offered (see README)."""

    id = models.BigAutoField(primary_key=True)
    code = models.CharField(max_length=50, unique=True, validators=[plan_code_validator])
    name = models.CharField(max_length=100)
    description = models.TextField(max_length=2000, blank=True)
    sort_order = models.IntegerField(default=0)
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_order", "code"]

    def __str__(self):
        return self.name


class SubscriptionQuerySet(models.QuerySet):
    def with_access_until(self):
        """`access_until`: the end of access, `ends_at` plus the grace period when past due (null: open-ended)."""
        grace = settings.SUBSCRIPTION_GRACE
        return self.annotate(
            access_until=Case(
                When(
                    status=Subscription.Status.PAST_DUE, then=ExpressionWrapper(F("ends_at") + grace, DateTimeField())
                ),
                default=F("ends_at"),
                output_field=DateTimeField(),
            )
        )

    def entitling(self, at: datetime | None = None):
        """Those that give access at `at` (default: now): started, active or past due, and not past
        `ends_at` (plus grace when past due). The one definition of access, used in SQL everywhere."""
        at = at or timezone.now()
        live = (Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE)
        return self.with_access_until().filter(
            Q(access_until__isnull=True) | Q(access_until__gt=at), status__in=live, starts_at__lte=at
        )


class Subscription(models.Model):
    """A user's subscription to a plan for a period. A user may hold several, even to one plan."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"  # payment failed: access until ends_at + grace
        CANCELED = "canceled", "Canceled"  # access stops at once
        EXPIRED = "expired", "Expired"

    class Source(models.TextChoices):
        STAFF = "staff", "Staff"
        BILLING = "billing", "Billing"
        PROMO = "promo", "Promo"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Exclusive; empty: open-ended.")
    renews = models.BooleanField(default=False, help_text="Renewed by billing; only non-renewing ones get reminders.")
    source = models.CharField(max_length=16, choices=Source.choices)
    external_ref = models.CharField(max_length=255, blank=True, help_text="The billing system's id.")
    # The timestamp of the newest billing event applied: older events never roll the state back.
    billing_event_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, help_text="When the ending-soon email went out.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_ref"],
                condition=~Q(external_ref=""),
                name="accounts_subscription_external_ref_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "plan"], name="accounts_sub_user_plan"),
            models.Index(fields=["status", "ends_at"], name="accounts_sub_status_ends"),
        ]

    def __str__(self):
        return f"{self.plan_id} for {self.user_id} ({self.status})"


class SubscriptionChange(models.Model):
    """The audit trail: one row per change of a subscription, by whom (staff user, billing event
    or the expiry job), what changed, when and why. Never edited."""

    class Actor(models.TextChoices):
        STAFF = "staff", "Staff"
        BILLING = "billing", "Billing"
        SYSTEM = "system", "System"

    id = models.BigAutoField(primary_key=True)
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="changes")
    actor = models.CharField(max_length=16, choices=Actor.choices)
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=32)
    reason = models.CharField(max_length=500, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    billing_event = models.ForeignKey(
        "BillingEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.action} of {self.subscription_id} by {self.actor}"


class BillingEvent(models.Model):
    """A verified event from the billing inlet, kept with what it did; `webhook_id` makes redelivery a no-op."""

    class Result(models.TextChoices):
        APPLIED = "applied", "Applied"
        STALE = "stale", "Older than the stored state; ignored"

    id = models.BigAutoField(primary_key=True)
    webhook_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=64)
    occurred_at = models.DateTimeField(help_text="The event's own timestamp.")
    payload = models.JSONField()
    result = models.CharField(max_length=16, choices=Result.choices)
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="billing_events"
    )
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.event_type} {self.webhook_id} ({self.result})"
