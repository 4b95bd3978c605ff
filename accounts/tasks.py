"""Background jobs of accounts: outbox email delivery and the periodic clean-up."""

from celery import shared_task

from accounts.emails import TransientEmailError, deliver_email, emails_sweep
from accounts.one_time_codes import codes_purge
from sessions_app.challenges import challenges_purge
from sessions_app.services import sessions_purge


@shared_task(bind=True, acks_late=True, max_retries=5)
def send_email(self, email_id: str) -> None:
    """Delivers one outbox row, retrying transport failures with backoff; duplicates are no-ops."""
    try:
        deliver_email(email_id=email_id)
    except TransientEmailError as exc:
        raise self.retry(exc=exc, countdown=min(600, 2**self.request.retries * 10)) from exc


@shared_task
def purge_expired() -> dict:
    """Hourly (beat): drops dead codes, sessions and two-factor challenges, and repairs the email outbox."""
    return {
        "codes_deleted": codes_purge(),
        "sessions_deleted": sessions_purge(),
        "challenges_deleted": challenges_purge(),
        **emails_sweep(),
    }
