from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outgoing webhooks: endpoints, the outbox of event messages, deliveries and their attempts."""

    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"
