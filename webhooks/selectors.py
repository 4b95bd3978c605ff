"""Reads of the webhooks app: only the caller's own endpoints and their deliveries."""

from django.db.models import QuerySet

from accounts.models import User
from vod.exceptions import NotFoundError
from webhooks.models import WebhookDelivery, WebhookEndpoint


def endpoints_of(*, user: User) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(owner=user).select_related("owner")


def deliveries_of(*, endpoint: WebhookEndpoint, status: str | None = None) -> QuerySet[WebhookDelivery]:
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("message")
    return deliveries.filter(status=status) if status else deliveries


def delivery_of(*, endpoint: WebhookEndpoint, delivery_id) -> WebhookDelivery:
    """One delivery of this endpoint; another endpoint's (or another user's) is not found."""
    delivery = deliveries_of(endpoint=endpoint).select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFoundError()
    return delivery
