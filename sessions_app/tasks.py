"""Background jobs of device sessions."""

from celery import shared_task

from sessions_app.services import sessions_purge


@shared_task(name="sessions_app.tasks.purge_expired_sessions")
def purge_expired_sessions() -> dict[str, int]:
    """Hourly (beat): deletes sessions that expired or were revoked long ago."""
    return {"sessions_deleted": sessions_purge()}
