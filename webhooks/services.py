"""Writes of the webhooks app: endpoints (create, change, rotate, delete), the outbox (`emit`), and
replays (test, resend, recover). Deliveries themselves are in webhooks.delivery."""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.emails import queue_email
from accounts.models import User
from vod.exceptions import InvalidInput
from vod.permissions import staff_may
from webhooks import network, signing
from webhooks.errors import EndpointDisabled, EndpointLimitReached, EventsNotAllowed, UrlNotAllowed, UrlUnresolvable
from webhooks.events import CATALOGUE, STAFF_ONLY, TEST_EVENT
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookMessage

RECEIVE_ALL = "webhooks.receive_all_events"
MAX_PAYLOAD_BYTES = 20_000
ROTATION_OVERLAP_HOURS = 24
Status = WebhookDelivery.Status
Reason = WebhookEndpoint.DisabledReason


@dataclass(frozen=True)
class EndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str  # shown once, in the answer that created or rotated it


# --- endpoints ---------------------------------------------------------------------------------


def _check_url(url: str) -> str:
    try:
        network.check_url(url)
    except network.Unresolvable as exc:
        raise UrlUnresolvable(str(exc), fields={"url": [str(exc)]}) from exc
    except network.UrlRefused as exc:
        raise UrlNotAllowed(str(exc), fields={"url": [str(exc)]}) from exc
    return url.strip()


def _check_events(owner: User, event_types: Iterable[str], receive_all: bool) -> None:
    if (receive_all or STAFF_ONLY.intersection(event_types)) and not staff_may(owner, RECEIVE_ALL):
        raise EventsNotAllowed()


def endpoint_create(
    *,
    owner: User,
    url: str,
    event_types: list[str],
    description: str = "",
    receive_all: bool = False,
    is_active: bool = True,
) -> EndpointWithSecret:
    _check_events(owner, event_types, receive_all)
    url = _check_url(url)
    secret = signing.new_secret()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=owner.pk).exists()  # serialises the count below
        if WebhookEndpoint.objects.filter(owner=owner).count() >= settings.WEBHOOK_ENDPOINTS_PER_USER:
            raise EndpointLimitReached()
        endpoint = WebhookEndpoint.objects.create(
            owner=owner,
            url=url,
            description=description,
            event_types=event_types,
            receive_all=receive_all,
            is_active=is_active,
            disabled_reason="" if is_active else Reason.OWNER,
            disabled_at=None if is_active else timezone.now(),
            encrypted_secret=signing.seal(secret),
        )
    return EndpointWithSecret(endpoint, secret)


@transaction.atomic
def endpoint_update(*, endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    """Any of url, description, event_types, receive_all, is_active. Turning it on again clears
    the failure streak; deliveries that failed meanwhile come back with `recover`."""
    _check_events(
        endpoint.owner,
        changes.get("event_types", endpoint.event_types),
        changes.get("receive_all", endpoint.receive_all),
    )
    if "url" in changes:
        changes["url"] = _check_url(changes["url"])
    if "is_active" in changes and changes["is_active"] != endpoint.is_active:
        if changes["is_active"]:
            changes.update(disabled_reason="", disabled_at=None, failing_since=None)
        else:
            _disable(endpoint, Reason.OWNER)
            changes.pop("is_active")
    for field, value in changes.items():
        setattr(endpoint, field, value)
    if changes:
        endpoint.save(update_fields=[*changes, "updated_at"])
    return endpoint


def endpoint_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return endpoint_update(endpoint=endpoint, is_active=True)


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> EndpointWithSecret:
    """A new secret; the old one keeps signing beside it for 24 hours, so receivers can switch."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = signing.new_secret()
    endpoint.encrypted_previous_secret = endpoint.encrypted_secret
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(hours=ROTATION_OVERLAP_HOURS)
    endpoint.encrypted_secret = signing.seal(secret)
    endpoint.save(
        update_fields=["encrypted_secret", "encrypted_previous_secret", "previous_secret_expires_at", "updated_at"]
    )
    return EndpointWithSecret(endpoint, secret)


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()  # its deliveries and attempts go with it


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    """Turns the endpoint off; what it had pending fails (recover brings it back once enabled)."""
    now = timezone.now()
    changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
        is_active=False, disabled_reason=reason, disabled_at=now, updated_at=now
    )
    endpoint.is_active, endpoint.disabled_reason, endpoint.disabled_at = False, reason, now
    if not changed:
        return
    WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.PENDING).update(
        status=Status.FAILED, next_attempt_at=None, leased_until=None, last_error="The endpoint was disabled."
    )
    if reason != Reason.OWNER:
        owner = User.objects.get(pk=endpoint.owner_id)
        queue_email(
            to=owner.email,
            template="webhook_disabled",
            context={
                "name": owner.get_full_name(),
                "url": endpoint.url,
                "reason": Reason(reason).label,
                "endpoint_id": str(endpoint.pk),
            },
        )


def endpoint_disable(*, endpoint: WebhookEndpoint, reason: str) -> None:
    with transaction.atomic():
        _disable(endpoint, reason)


# --- the outbox ----------------------------------------------------------------------------------


def _body(event_type: str, occurred_at: datetime, data: dict) -> str:
    """`{type, timestamp, data}` as compact JSON; over 20 KB, `data` shrinks to the object's id."""
    body = json.dumps(
        {"type": event_type, "timestamp": occurred_at, "data": data}, cls=DjangoJSONEncoder, separators=(",", ":")
    )
    if len(body.encode()) > MAX_PAYLOAD_BYTES:
        return _body(event_type, occurred_at, {"id": data.get("id"), "truncated": True})
    return body


def _recipients(event_type: str, owner_ids: set) -> list[WebhookEndpoint]:
    """Active endpoints subscribed to the type: the owners' own, and staff endpoints that receive
    all (while their owner holds the permission). One query, plus permissions for staff ones."""
    who = Q(receive_all=True) if event_type in STAFF_ONLY else Q(owner_id__in=owner_ids) | Q(receive_all=True)
    endpoints = WebhookEndpoint.objects.filter(who, is_active=True).select_related("owner")
    return [
        endpoint
        for endpoint in endpoints
        if event_type in endpoint.event_types and (not endpoint.receive_all or staff_may(endpoint.owner, RECEIVE_ALL))
    ]


def emit_many(event_type: str, instances: Iterable[Any]) -> int:
    """Writes one event per instance into the outbox, in the caller's transaction: one message row
    each and a delivery to every matching endpoint, in one INSERT per table for the whole batch
    (and one SELECT when nobody subscribes). Sent after commit. Returns the deliveries made."""
    event = CATALOGUE[event_type]
    instances = list(instances)
    endpoints = _recipients(event_type, {event.owner_id(instance) for instance in instances})
    if not endpoints:
        return 0
    now = timezone.now()
    messages, deliveries = [], []
    for instance in instances:
        owner_id = event.owner_id(instance)
        targets = [e for e in endpoints if e.receive_all or (owner_id is not None and e.owner_id == owner_id)]
        if not targets:
            continue
        payload = event.represent(instance)
        message = WebhookMessage(event_type=event_type, body=_body(event_type, now, payload), created_at=now)
        messages.append(message)
        deliveries += [
            WebhookDelivery(endpoint=e, message=message, next_attempt_at=now, created_at=now) for e in targets
        ]
    with transaction.atomic(savepoint=False):
        WebhookMessage.objects.bulk_create(messages)
        WebhookDelivery.objects.bulk_create(deliveries)
        _kick_on_commit({delivery.endpoint_id for delivery in deliveries})
    return len(deliveries)


def emit(event_type: str, instance: Any) -> int:
    """One event about `instance` (see the catalogue, webhooks.events). Call it inside the
    transaction of the change."""
    return emit_many(event_type, [instance])


def _kick_on_commit(endpoint_ids: set) -> None:
    from webhooks.delivery import kick

    # robust: a broker outage must not fail a committed request; beat picks the deliveries up.
    transaction.on_commit(partial(kick, sorted(endpoint_ids)), robust=True)


# --- replays -------------------------------------------------------------------------------------


def _check_enabled(endpoint: WebhookEndpoint) -> None:
    if not endpoint.is_active:
        raise EndpointDisabled()


@transaction.atomic
def endpoint_send_test(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.test` event to this endpoint alone."""
    _check_enabled(endpoint)
    now = timezone.now()
    data = {"endpoint_id": str(endpoint.pk), "message": "A test event from VOD."}
    message = WebhookMessage.objects.create(event_type=TEST_EVENT, body=_body(TEST_EVENT, now, data), created_at=now)
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, message=message, next_attempt_at=now, created_at=now)
    _kick_on_commit({endpoint.pk})
    return delivery


def _requeue(deliveries) -> int:
    now = timezone.now()
    return deliveries.update(
        status=Status.PENDING, next_attempt_at=now, leased_until=None, schedule_step=0, updated_at=now
    )


@transaction.atomic
def delivery_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Sends the same message again (same webhook-id) with a fresh retry schedule; one in flight
    is left alone."""
    _check_enabled(delivery.endpoint)
    now = timezone.now()
    in_flight = Q(status=Status.PENDING, leased_until__gt=now)
    _requeue(WebhookDelivery.objects.filter(pk=delivery.pk).exclude(in_flight))
    _kick_on_commit({delivery.endpoint_id})
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def endpoint_recover(*, endpoint: WebhookEndpoint, since: datetime) -> int:
    """Every delivery of this endpoint that failed, of events since `since`, is sent again."""
    _check_enabled(endpoint)
    if since > timezone.now():
        raise InvalidInput({"since": ["Must not be in the future."]})
    count = _requeue(WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.FAILED, created_at__gte=since))
    if count:
        _kick_on_commit({endpoint.pk})
    return count


def messages_purge(*, now: datetime | None = None) -> int:
    """Messages older than WEBHOOK_RETENTION with nothing left to send, and their logs."""
    cutoff = (now or timezone.now()) - settings.WEBHOOK_RETENTION
    old = WebhookMessage.objects.filter(created_at__lt=cutoff).exclude(deliveries__status=Status.PENDING)
    deleted, _ = WebhookMessage.objects.filter(pk__in=old.values("pk")).delete()
    return deleted
