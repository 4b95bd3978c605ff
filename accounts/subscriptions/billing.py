"""The billing inlet: events from an outside billing system, signed as Standard Webhooks are.

Verification is the `standardwebhooks` library's (HMAC-SHA256 over id, timestamp and body, a
5-minute timestamp tolerance). A verified event is applied once (its `webhook-id` is stored with
it; a redelivery answers what the first delivery did), and only when its own timestamp is newer
than the last event applied to that subscription, so a late, older event never rolls state back.
An event that names an unknown user or plan, or is malformed, is refused and changes nothing."""

import base64
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from standardwebhooks import Webhook, WebhookVerificationError

from accounts.models import User
from accounts.selectors import user_by_email
from accounts.subscriptions.errors import UnknownPlan, UnknownUser, WebhookVerificationFailed
from accounts.subscriptions.models import BillingEvent, Plan, Subscription, SubscriptionChange
from accounts.subscriptions.services import record_change, snapshot
from vod.exceptions import InvalidInput

logger = logging.getLogger(__name__)

Status = Subscription.Status
# What each event type sets; `renews` None keeps the stored value.
EVENT_STATES = {
    "subscription.activated": (Status.ACTIVE, True),
    "subscription.renewed": (Status.ACTIVE, True),
    "subscription.past_due": (Status.PAST_DUE, None),
    "subscription.canceled": (Status.CANCELED, False),
    "subscription.expired": (Status.EXPIRED, False),
}
NEEDS_PERIOD_END = {"subscription.activated", "subscription.renewed", "subscription.past_due"}
FUTURE_TOLERANCE = timedelta(minutes=5)


def webhook_secret() -> str:
    """BILLING_WEBHOOK_SECRET, or one derived from SECRET_KEY, in the `whsec_` base64 form."""
    if settings.BILLING_WEBHOOK_SECRET:
        return settings.BILLING_WEBHOOK_SECRET
    key = salted_hmac("accounts.billing.webhook-secret", "v1", secret=settings.SECRET_KEY, algorithm="sha256")
    return "whsec_" + base64.b64encode(key.digest()).decode()


def verified_body(*, body: bytes, headers: dict[str, str]) -> bytes:
    """The body, once its signature and timestamp check out; raises WebhookVerificationFailed."""
    try:
        Webhook(webhook_secret()).verify(body, headers, json_parse=False)
    except (WebhookVerificationError, ValueError) as exc:  # ValueError: undecodable body or signature
        raise WebhookVerificationFailed(f"Webhook verification failed: {exc}") from None
    return body


@dataclass(frozen=True)
class Event:
    webhook_id: str
    type: str
    occurred_at: datetime
    payload: dict
    user: str
    plan: str
    external_id: str
    period_end: datetime | None
    renews: bool | None


def _parsed(body: bytes, webhook_id: str) -> Event:
    """The event in a verified body; anything off is a validation error naming the field."""
    from accounts.subscriptions.serializers import BillingEventInputSerializer

    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    serializer = BillingEventInputSerializer(data=payload)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    event = data["data"]
    return Event(
        webhook_id=webhook_id,
        type=data["type"],
        occurred_at=data["timestamp"],
        payload=payload,
        user=event["user"],
        plan=event["plan"],
        external_id=event["external_id"],
        period_end=event.get("period_end"),
        renews=event.get("renews"),
    )


def _user(identifier: str) -> User:
    user = user_by_email(identifier) if "@" in identifier else User.objects.filter(pk=identifier).first()
    if user is None:
        raise UnknownUser()
    return user


@transaction.atomic
def billing_event_receive(*, body: bytes, headers: dict[str, str]) -> BillingEvent:
    """Verifies, then applies the event once; returns its stored row (the first one on redelivery)."""
    webhook_id = headers.get("webhook-id", "")
    verified_body(body=body, headers=headers)
    stored = BillingEvent.objects.filter(webhook_id=webhook_id).first()
    if stored is not None:
        return stored
    event = _parsed(body, webhook_id)
    if event.occurred_at > timezone.now() + FUTURE_TOLERANCE:
        raise InvalidInput({"timestamp": ["The event's timestamp is in the future."]})
    if event.type in NEEDS_PERIOD_END and event.period_end is None:
        raise InvalidInput({"data": {"period_end": [f"`{event.type}` needs the period end."]}})
    plan = Plan.objects.filter(code=event.plan).first()
    if plan is None:
        raise UnknownPlan()
    user = _user(event.user)

    # Concurrent deliveries of one id: the second insert waits on the unique index, then finds the first.
    record, created = BillingEvent.objects.get_or_create(
        webhook_id=webhook_id,
        defaults={
            "event_type": event.type,
            "occurred_at": event.occurred_at,
            "payload": event.payload,
            "result": BillingEvent.Result.APPLIED,
        },
    )
    if not created:
        return record
    record.subscription, record.result = _apply(event, record, user=user, plan=plan)
    record.save(update_fields=["subscription", "result"])
    return record


def _apply(event: Event, record: BillingEvent, *, user: User, plan: Plan) -> tuple[Subscription, str]:
    status, renews = EVENT_STATES[event.type]
    if event.renews is not None and status == Status.ACTIVE:
        renews = event.renews  # e.g. a subscription set to end with its period
    subscription, created = Subscription.objects.select_for_update().get_or_create(
        source=Subscription.Source.BILLING,
        external_ref=event.external_id,
        defaults={"user": user, "plan": plan, "status": status, "starts_at": event.occurred_at, "renews": bool(renews)},
    )
    if subscription.user_id != user.pk:
        raise InvalidInput({"data": {"user": ["This subscription belongs to another user."]}})
    if not created and subscription.billing_event_at and event.occurred_at <= subscription.billing_event_at:
        logger.info("billing event %s is older than subscription %s; ignored", event.webhook_id, subscription.pk)
        return subscription, BillingEvent.Result.STALE
    before = {} if created else snapshot(subscription)
    subscription.plan, subscription.status, subscription.billing_event_at = plan, status, event.occurred_at
    if event.period_end is not None:
        subscription.ends_at = event.period_end
    if renews is not None:
        subscription.renews = renews
    if event.type == "subscription.renewed":
        subscription.reminded_at = None
    subscription.save(
        update_fields=["plan", "status", "billing_event_at", "ends_at", "renews", "reminded_at", "updated_at"]
    )
    record_change(
        subscription=subscription,
        actor=SubscriptionChange.Actor.BILLING,
        action=event.type.removeprefix("subscription."),
        before=before,
        reason=f"billing event {event.webhook_id}",
        billing_event=record,
    )
    return subscription, BillingEvent.Result.APPLIED
