"""Celery entry points of the webhooks app: explicit, never renamed task names; they take ids."""

from celery import shared_task

from webhooks import delivery, services


# No acks_late: the delivery's lease in the database, not the broker, brings back a lost attempt.
@shared_task(name="webhooks.tasks.deliver_endpoint", acks_late=False)
def deliver_endpoint(endpoint_id: str) -> int:
    """Sends what is due for one endpoint (queue WEBHOOK_QUEUE)."""
    return delivery.drain(endpoint_id)


@shared_task(name="webhooks.tasks.dispatch_due")
def dispatch_due() -> int:
    """Periodic (beat, every 5 s): endpoints with deliveries due, new or retried."""
    return delivery.dispatch_due()


@shared_task(name="webhooks.tasks.purge_old_messages")
def purge_old_messages() -> int:
    """Periodic (beat, hourly): the delivery log past WEBHOOK_RETENTION."""
    return services.messages_purge()
