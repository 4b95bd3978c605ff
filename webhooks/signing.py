"""Endpoint secrets (`whsec_` + base64, encrypted at rest) and the Standard Webhooks headers."""

import base64
import secrets
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from standardwebhooks import Webhook

from vod import encryption
from webhooks.models import WebhookEndpoint

_SALT = "webhooks.endpoint-secret"
SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def seal(secret: str) -> str:
    """Keyed by WEBHOOK_SECRET_KEY if set, else derived from SECRET_KEY."""
    return encryption.encrypt(secret, key=settings.WEBHOOK_SECRET_KEY, salt=_SALT)


def unseal(sealed: str) -> str:
    return encryption.decrypt(sealed, key=settings.WEBHOOK_SECRET_KEY, salt=_SALT) if sealed else ""


def reseal(sealed: str) -> str | None:
    """`manage.py reencrypt_secrets`: the secret under the key in use (None: unreadable)."""
    return encryption.reencrypt(sealed, key=settings.WEBHOOK_SECRET_KEY, salt=_SALT)


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, then the previous one while its 24 hours after a rotation last."""
    found = [unseal(endpoint.encrypted_secret)]
    if endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        found.append(unseal(endpoint.encrypted_previous_secret))
    return [secret for secret in found if secret]


def headers(*, endpoint: WebhookEndpoint, webhook_id: str, body: str) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` (now) and `webhook-signature`: `v1,<signature>` per live
    secret, space separated, each over exactly `id.timestamp.body`."""
    now = timezone.now()
    signatures = [Webhook(secret).sign(webhook_id, now, body) for secret in signing_secrets(endpoint, now)]
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
