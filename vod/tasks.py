"""Project-wide tasks."""

from celery import shared_task


@shared_task(name="vod.tasks.ping", ignore_result=False)
def ping(token: str) -> str:
    """Echoes its argument: proves that a task sent from Django ran in a worker."""
    return token
