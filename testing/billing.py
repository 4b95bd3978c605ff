"""Billing events signed as a billing system signs them, with the real `standardwebhooks` library."""

import json
import uuid
from datetime import UTC, datetime

from standardwebhooks import Webhook

from accounts.subscriptions.billing import webhook_secret

BILLING_EVENTS = "/api/v1/billing/events"


def billing_event(type_: str, *, occurred_at: datetime, **data) -> str:
    return json.dumps({"type": type_, "timestamp": occurred_at.isoformat(), "data": data})


def post_signed(client, body: str, *, webhook_id: str | None = None, sent_at: datetime | None = None, secret=None):
    """POSTs `body` signed for `webhook_id` at `sent_at` (default: now) with the inlet's secret."""
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    sent_at = sent_at or datetime.now(tz=UTC)
    signature = Webhook(secret or webhook_secret()).sign(webhook_id, sent_at, body)
    return client.generic(
        "POST",
        BILLING_EVENTS,
        body,
        content_type="application/json",
        HTTP_WEBHOOK_ID=webhook_id,
        HTTP_WEBHOOK_TIMESTAMP=str(int(sent_at.timestamp())),
        HTTP_WEBHOOK_SIGNATURE=signature,
    )
