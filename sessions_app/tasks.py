"""Background jobs of device sessions and access tokens."""

from celery import shared_task

from sessions_app.access_tokens.services import tokens_remind_expiring
from sessions_app.services import sessions_purge


@shared_task(name="sessions_app.tasks.purge_expired_sessions")
def purge_expired_sessions() -> dict[str, int]:
    """Hourly (beat): deletes sessions that expired or were revoked long ago."""
    return {"sessions_deleted": sessions_purge()}


@shared_task(name="sessions_app.tasks.remind_expiring_tokens")
def remind_expiring_tokens() -> dict[str, int]:
    """Hourly (beat): mails owners whose access tokens expire within 7 days, once per token."""
    return {"token_reminders_queued": tokens_remind_expiring()}
