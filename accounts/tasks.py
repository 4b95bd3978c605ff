"""Background jobs of accounts: outbox email delivery and the periodic clean-up. Task names are
explicit and never change, so queued messages and beat's schedule keep routing when code moves."""

from celery import shared_task
from django.utils import timezone

from accounts.emails import TransientEmailError, deliver_email, emails_sweep
from accounts.lockout import unknown_names_purge
from accounts.one_time_codes import codes_purge
from accounts.services import password_reset_code_send, unverified_users_purge, verification_code_send
from accounts.subscriptions.services import subscriptions_expire, subscriptions_remind
from sessions_app.challenges import challenges_purge


@shared_task(name="accounts.tasks.send_email", bind=True, acks_late=True, max_retries=5)
def send_email(self, email_id: str) -> None:
    """Delivers one outbox row, retrying transport failures with backoff; duplicates are no-ops."""
    try:
        deliver_email(email_id=email_id)
    except TransientEmailError as exc:
        raise self.retry(exc=exc, countdown=min(600, 2**self.request.retries * 10)) from exc


# The two code tasks take the address as typed, not an id: looking it up is their job, so that the
# request that asks for a code does the same work whether or not the address has an account.


@shared_task(name="accounts.tasks.send_verification_code", acks_late=True)
def send_verification_code(email: str) -> None:
    verification_code_send(email=email)


@shared_task(name="accounts.tasks.send_password_reset_code", acks_late=True)
def send_password_reset_code(email: str) -> None:
    password_reset_code_send(email=email)


@shared_task(name="accounts.tasks.purge_expired")
def purge_expired() -> dict[str, int]:
    """Hourly (beat): drops dead codes, two-factor challenges, decayed sign-in counts and accounts
    that never verified, and repairs the email outbox (sessions purge their own)."""
    return {
        "codes_deleted": codes_purge(),
        "unknown_sign_in_names_deleted": unknown_names_purge(timezone.now()),
        "unverified_users_deleted": unverified_users_purge(),
        "challenges_deleted": challenges_purge(),
        **emails_sweep(),
    }


@shared_task(name="accounts.tasks.expire_subscriptions")
def expire_subscriptions() -> int:
    """Every 5 minutes (beat): live subscriptions past their end (and grace) become expired."""
    return subscriptions_expire()


@shared_task(name="accounts.tasks.remind_ending_subscriptions")
def remind_ending_subscriptions() -> int:
    """Hourly (beat): the ending-soon email for non-renewing subscriptions, once each."""
    return subscriptions_remind()
