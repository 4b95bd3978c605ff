"""Sending the outbox: claim a due delivery under a lease, POST it, record the answer, schedule
the retry.

A delivery is claimed with `SELECT ... FOR UPDATE SKIP LOCKED` under its endpoint's row lock (so
at most WEBHOOK_MAX_IN_FLIGHT requests go to one endpoint at once) and leased: a worker that dies
mid-request leaves the lease to expire, and the next claim sends the same message, with the same
`webhook-id`, again. Retries are a due time in the database, found by beat (`dispatch_due`), never
long Celery countdowns. Every claim bumps `attempts`, which is also the claim's token: a worker
whose lease was taken over records nothing.
"""

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from webhooks import network, services, signing
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

# Waits after the 1st, 2nd... failed attempt; after the last one the delivery fails.
RETRY_SCHEDULE = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
]
JITTER = 0.1  # each wait is moved by up to 10% either way
HONOURS_RETRY_AFTER = {429, 502, 503, 504}
KICK_TTL = 30  # seconds a queued drain task stands for its endpoint
DRAIN_BATCH = 100  # deliveries one task sends before it hands over ...
DRAIN_SECONDS = 120  # ... or after this long, well inside the task time limits
Status = WebhookDelivery.Status


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    excerpt: str = ""
    error: str = ""
    retry_after: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


# --- enqueueing ------------------------------------------------------------------------------


def _kick_key(endpoint_id) -> str:
    return f"webhooks:drain-queued:{endpoint_id}"


def kick(endpoint_ids, *, force: bool = False) -> None:
    """Queues a drain task per endpoint unless one is queued already (one cache write each).
    `force` (beat) queues one anyway: a queued task may have died with its worker."""
    from webhooks.tasks import deliver_endpoint

    for endpoint_id in endpoint_ids:
        if cache.add(_kick_key(endpoint_id), 1, timeout=KICK_TTL) or force:
            deliver_endpoint.apply_async((str(endpoint_id),), queue=settings.WEBHOOK_QUEUE)


def dispatch_due() -> int:
    """Beat: kicks every active endpoint with deliveries due (new, retries, or expired leases)."""
    now = timezone.now()
    due = (
        WebhookDelivery.objects.filter(_claimable(now), endpoint__is_active=True)
        .values_list("endpoint_id", flat=True)
        .distinct()
    )
    endpoint_ids = list(due)
    kick(endpoint_ids, force=True)
    return len(endpoint_ids)


# --- claiming --------------------------------------------------------------------------------


def _claimable(now: datetime) -> Q:
    return Q(status=Status.PENDING, next_attempt_at__lte=now) & (
        Q(leased_until__isnull=True) | Q(leased_until__lte=now)
    )


def claim(endpoint_id) -> WebhookDelivery | None:
    """The endpoint's next due delivery, leased to the caller; None when nothing is due, the
    endpoint is off, or it already has WEBHOOK_MAX_IN_FLIGHT requests going."""
    with transaction.atomic():
        now = timezone.now()
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id, is_active=True).first()
        if endpoint is None:
            return None
        counts = WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.PENDING).aggregate(
            in_flight=Count("pk", filter=Q(leased_until__gt=now))
        )
        if counts["in_flight"] >= settings.WEBHOOK_MAX_IN_FLIGHT:
            return None
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(_claimable(now), endpoint=endpoint)
            .select_related("message")
            .order_by("next_attempt_at", "created_at")
            .first()
        )
        if delivery is None:
            return None
        delivery.attempts += 1
        delivery.leased_until = now + timedelta(seconds=settings.WEBHOOK_DELIVERY_LEASE_SECONDS)
        delivery.last_attempt_at = now
        delivery.save(update_fields=["attempts", "leased_until", "last_attempt_at", "updated_at"])
        delivery.endpoint = endpoint
        return delivery


# --- sending ---------------------------------------------------------------------------------


def send(delivery: WebhookDelivery) -> Outcome:
    """One signed POST of the message; never raises for what the network or the receiver does."""
    started = time.monotonic()
    body = delivery.message.body
    headers = signing.headers(endpoint=delivery.endpoint, webhook_id=delivery.message.webhook_id, body=body)

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = network.check_url(delivery.endpoint.url)  # resolved again: DNS may have changed
        answer = network.post(target, body.encode(), headers)
    except network.UrlRefused as exc:
        return Outcome(None, elapsed(), error=str(exc)[:500])
    except (OSError, ValueError, network.http.client.HTTPException) as exc:
        return Outcome(None, elapsed(), error=(f"{type(exc).__name__}: {exc}")[:500])
    return Outcome(answer.status, elapsed(), excerpt=answer.excerpt, retry_after=answer.retry_after)


def _retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header (seconds or an HTTP date), capped at WEBHOOK_RETRY_AFTER_MAX."""
    if not value:
        return None
    value = value.strip()
    try:
        wait = timedelta(seconds=int(value)) if value.isdigit() else parsedate_to_datetime(value) - now
    except (TypeError, ValueError, OverflowError):
        return None
    return max(timedelta(0), min(wait, settings.WEBHOOK_RETRY_AFTER_MAX))


def _next_wait(step: int, outcome: Outcome, now: datetime) -> timedelta:
    if outcome.status_code in HONOURS_RETRY_AFTER:
        asked = _retry_after(outcome.retry_after, now)
        if asked is not None:
            return asked
    return RETRY_SCHEDULE[step] * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 (jitter, not a secret)


def record(delivery: WebhookDelivery, outcome: Outcome) -> None:
    """Logs the attempt and moves the delivery on: done, retry at a due time, or failed; 410
    disables the endpoint, and so do WEBHOOK_DISABLE_AFTER days of failures in a row."""
    with transaction.atomic():
        now = timezone.now()
        current = (
            WebhookDelivery.objects.select_for_update()
            .filter(pk=delivery.pk, attempts=delivery.attempts, status=Status.PENDING)
            .first()
        )
        if current is None:  # the lease was taken over, or the endpoint was disabled meanwhile
            return
        WebhookAttempt.objects.create(
            delivery=current,
            number=current.attempts,
            started_at=current.last_attempt_at or now,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            response_excerpt=outcome.excerpt,
            error=outcome.error,
            succeeded=outcome.succeeded,
        )
        current.last_status_code, current.last_duration_ms = outcome.status_code, outcome.duration_ms
        current.last_response_excerpt, current.last_error = outcome.excerpt, outcome.error
        current.leased_until = None
        endpoint = delivery.endpoint
        if outcome.succeeded:
            current.status, current.next_attempt_at = Status.SUCCEEDED, None
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(failing_since=None)
        elif current.schedule_step < len(RETRY_SCHEDULE) and outcome.status_code != 410:
            current.next_attempt_at = now + _next_wait(current.schedule_step, outcome, now)
            current.schedule_step += 1
        else:
            current.status, current.next_attempt_at = Status.FAILED, None
        current.save(
            update_fields=[
                "status",
                "next_attempt_at",
                "schedule_step",
                "leased_until",
                "last_status_code",
                "last_duration_ms",
                "last_response_excerpt",
                "last_error",
                "updated_at",
            ]
        )
        if outcome.succeeded:
            return
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
        endpoint.refresh_from_db(fields=["failing_since", "is_active"])
        if outcome.status_code == 410:
            services.endpoint_disable(endpoint=endpoint, reason=WebhookEndpoint.DisabledReason.GONE)
        elif endpoint.failing_since and endpoint.failing_since <= now - settings.WEBHOOK_DISABLE_AFTER:
            services.endpoint_disable(endpoint=endpoint, reason=WebhookEndpoint.DisabledReason.FAILING)


def deliver_next(endpoint_id) -> bool:
    """Claims, sends and records one delivery of the endpoint; False when there was none to claim."""
    delivery = claim(endpoint_id)
    if delivery is None:
        return False
    kick([endpoint_id])  # another worker may send the next one beside this (up to the cap)
    outcome = send(delivery)
    record(delivery, outcome)
    if not outcome.succeeded:
        logger.info(
            "webhook %s to endpoint %s failed (attempt %s): %s",
            delivery.message.webhook_id,
            endpoint_id,
            delivery.attempts,
            outcome.error or outcome.status_code,
        )
    return True


def drain(endpoint_id) -> int:
    """Sends the endpoint's due deliveries one after another (a batch, then hands over)."""
    cache.delete(_kick_key(endpoint_id))
    sent, stop_at = 0, time.monotonic() + DRAIN_SECONDS
    while deliver_next(endpoint_id):
        sent += 1
        if sent >= DRAIN_BATCH or time.monotonic() >= stop_at:
            kick([endpoint_id])
            break
    return sent
