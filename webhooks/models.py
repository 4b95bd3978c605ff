"""Endpoints (where to send), messages (the outbox: one row per event, its exact body), deliveries
(one message to one endpoint, with its retry state) and attempts (the log of each request)."""

import uuid

from django.conf import settings
from django.db import models


class WebhookEndpoint(models.Model):
    class DisabledReason(models.TextChoices):
        NONE = "", "Not disabled"
        OWNER = "owner", "Turned off by its owner"
        GONE = "gone", "The receiver answered 410 Gone"
        FAILING = "failing", "Every delivery failed for days"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list)
    # Staff holding webhooks.receive_all_events: every user's videos and subscriptions, not only theirs.
    receive_all = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=16, choices=DisabledReason.choices, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)  # first failure since the last success
    encrypted_secret = models.TextField()
    # After a rotation the old secret signs alongside the new one until this time.
    encrypted_previous_secret = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("receive_all_events", "Can receive every user's events and account events by webhook")]
        indexes = [models.Index(fields=["owner", "is_active"]), models.Index(fields=["receive_all", "is_active"])]

    def __str__(self) -> str:
        return self.url


class WebhookMessage(models.Model):
    """An event as sent: `body` is the exact JSON text every delivery of it signs and sends."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=64)
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_id}"

    @property
    def webhook_id(self) -> str:
        """The `webhook-id` header: the same on every attempt and every resend of this event."""
        return f"msg_{self.id.hex}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # waiting for its due time, or in flight while leased
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)  # claims so far; also the owner's token of a claim
    schedule_step = models.PositiveSmallIntegerField(default=0)  # retries used of the schedule (reset by resend)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)  # in flight until then
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_response_excerpt = models.TextField(blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["endpoint", "message"], name="webhook_delivery_once")]
        indexes = [
            models.Index(fields=["endpoint", "status", "next_attempt_at"]),
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["endpoint", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} -> {self.endpoint_id}"


class WebhookAttempt(models.Model):
    """One request of a delivery: what the receiver answered (2 KB of it) or why it failed."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    succeeded = models.BooleanField()

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
