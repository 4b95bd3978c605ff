"""The outbox service: requests queue emails as rows, a worker delivers each row at most once."""

import logging
import smtplib
from datetime import timedelta

from anymail.exceptions import AnymailError
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import OutboundEmail

logger = logging.getLogger(__name__)

TEMPLATES = frozenset(
    {
        "verify_email",
        "account_exists",
        "password_reset",
        "password_changed",
        "two_factor_changed",
        "token_expiring",
        "subscription_ending",
        "subscription_ended",
        "webhook_disabled",
    }
)
MAX_ATTEMPTS = 6  # the first try plus send_email's 5 retries
TRANSPORT_ERRORS = (smtplib.SMTPException, OSError, AnymailError)


class TransientEmailError(Exception):
    """The transport failed; the row was put back to pending (or failed) so the task can retry."""


def queue_email(*, to: str, template: str, context: dict) -> OutboundEmail:
    """Stores the email and enqueues its delivery only once the caller's transaction commits."""
    from accounts.tasks import send_email  # tasks imports this module

    if template not in TEMPLATES:
        raise ValueError(f"Unknown email template: {template!r}")
    email = OutboundEmail.objects.create(to=to, template=template, context=context)
    # robust: a broker outage must not fail the request that already committed; the row stays pending.
    transaction.on_commit(lambda: send_email.delay(str(email.id)), robust=True)
    return email


def deliver_email(*, email_id) -> bool:
    """Sends one pending row; False when another delivery already claimed it, so nothing goes out twice."""
    claimed = OutboundEmail.objects.filter(id=email_id, status=OutboundEmail.Status.PENDING).update(
        status=OutboundEmail.Status.SENDING, attempts=F("attempts") + 1
    )
    if not claimed:
        return False
    email = OutboundEmail.objects.get(id=email_id)
    try:
        message = _build_message(email)
    except Exception as exc:
        _record_failure(email, exc, final=True)  # a rendering bug will not fix itself on retry
        raise
    try:
        message.send()
    except TRANSPORT_ERRORS as exc:
        _record_failure(email, exc, final=email.attempts >= MAX_ATTEMPTS)
        raise TransientEmailError(f"{email.template} email {email.id}: {exc}") from exc
    email.status = OutboundEmail.Status.SENT
    email.sent_at = timezone.now()
    email.context = {}  # it may hold a one-time code
    email.last_error = ""
    email.save(update_fields=["status", "sent_at", "context", "last_error"])
    return True


def _build_message(email: OutboundEmail) -> EmailMultiAlternatives:
    """Renders the three template parts; links come from FRONTEND_URL, which the stored context cannot override."""
    context = {**email.context, "frontend_url": settings.FRONTEND_URL.rstrip("/"), "site_name": "VOD"}
    name = f"emails/{email.template}"
    subject = " ".join(render_to_string(f"{name}.subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject, render_to_string(f"{name}.txt", context), settings.DEFAULT_FROM_EMAIL, [email.to]
    )
    message.attach_alternative(render_to_string(f"{name}.html", context), "text/html")
    return message


def _record_failure(email: OutboundEmail, exc: Exception, *, final: bool) -> None:
    """Releases the claim so a retry can send it, or gives up for good."""
    email.status = OutboundEmail.Status.FAILED if final else OutboundEmail.Status.PENDING
    email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    email.save(update_fields=["status", "last_error"])
    logger.warning("email %s (%s) attempt %d failed: %s", email.id, email.template, email.attempts, email.last_error)


def emails_sweep(*, stale_after: timedelta = timedelta(minutes=5), keep_sent: timedelta = timedelta(days=30)) -> dict:
    """Periodic repair of the outbox: re-enqueues rows left `pending` (the broker was down at
    commit) and rows stuck in `sending` (a worker died mid-send; this may send that one twice),
    and deletes sent rows older than `keep_sent`."""
    from accounts.tasks import send_email

    now = timezone.now()
    Status = OutboundEmail.Status
    OutboundEmail.objects.filter(status=Status.SENDING, created_at__lt=now - 3 * stale_after).update(
        status=Status.PENDING
    )
    stale = list(
        OutboundEmail.objects.filter(status=Status.PENDING, created_at__lt=now - stale_after).values_list(
            "id", flat=True
        )
    )
    for email_id in stale:
        send_email.delay(str(email_id))
    deleted, _ = OutboundEmail.objects.filter(status=Status.SENT, sent_at__lt=now - keep_sent).delete()
    return {"emails_requeued": len(stale), "emails_deleted": deleted}
