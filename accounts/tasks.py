"""Background jobs of accounts: outbox email delivery and the periodic clean-up. Task names are
explicit and never change, so queued messages and beat's schedule keep routing when code moves."""

from celery import shared_task

from accounts.emails import TransientEmailError, deliver_email, emails_sweep
from accounts.one_time_codes import codes_purge
from accounts.subscriptions.services import subscriptions_expire, subscriptions_remind


@shared_task(name="accounts.tasks.send_email", bind=True, acks_late=True, max_retries=5)
def send_email(self, email_id: str) -> None:
    """Delivers one outbox row, retrying transport failures with backoff; duplicates are no-ops."""
    try:
        deliver_email(email_id=email_id)
    except TransientEmailError as exc:
        raise self.retry(exc=exc, countdown=min(600, 2**self.request.retries * 10)) from exc


@shared_task(name="accounts.tasks.purge_expired")
def purge_expired() -> dict[str, int]:
    """Hourly (beat): drops dead codes and repairs the email outbox (sessions purge their own)."""
    return {"codes_deleted": codes_purge(), **emails_sweep()}


@shared_task(name="accounts.tasks.expire_subscriptions")
def expire_subscriptions() -> int:
    """Every 5 minutes (beat): live subscriptions past their end (and grace) become expired."""
    return subscriptions_expire()


@shared_task(name="accounts.tasks.remind_ending_subscriptions")
def remind_ending_subscriptions() -> int:
    """Hourly (beat): the ending-soon email for non-renewing subscriptions, once each."""
    return subscriptions_remind()
