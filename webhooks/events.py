"""The event catalogue: every type an endpoint may receive, whom it concerns, and its `data`
(the API's own representation of the object, as its endpoints answer it)."""

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TEST_EVENT = "webhook.test"


def _video(video) -> dict:
    from videos.catalog.serializers import MyVideoSerializer

    return MyVideoSerializer(video).data


def _caption(caption) -> dict:
    from videos.captions.serializers import CaptionSerializer

    return {**CaptionSerializer(caption).data, "video_id": str(caption.video_id)}


def _user(user) -> dict:
    from accounts.serializers import StaffUserSerializer

    return StaffUserSerializer(user).data


def _subscription(subscription) -> dict:
    from accounts.subscriptions.selectors import subscriptions_of
    from accounts.subscriptions.serializers import SubscriptionSerializer

    annotated = subscriptions_of(user=subscription.user).get(pk=subscription.pk)
    return SubscriptionSerializer(annotated).data


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    # The user whose endpoints receive it ("owner_id", "video.owner_id"...); None: staff endpoints only.
    concerns: str | None
    # Builds `data`.
    represent: Callable[[Any], dict]
    staff_only: bool = False

    def owner_id(self, instance) -> Any:
        return operator.attrgetter(self.concerns)(instance) if self.concerns else None


_TYPES = [
    EventType("video.created", "A video was created (metadata only, no source yet).", "owner_id", _video),
    EventType("video.upload.completed", "A video's source finished uploading; probing starts.", "owner_id", _video),
    EventType("video.ready", "A video finished transcoding and plays.", "owner_id", _video),
    EventType("video.failed", "A video's source was refused or its transcoding failed.", "owner_id", _video),
    EventType("video.updated", "A video's metadata changed (title, visibility, tags...).", "owner_id", _video),
    EventType("video.deleted", "A video was deleted; `data` is its last state.", "owner_id", _video),
    EventType(
        "caption.ready", "A caption track was validated and is served with the video.", "video.owner_id", _caption
    ),
    EventType("subscription.created", "A subscription started (staff grant or billing).", "user_id", _subscription),
    EventType(
        "subscription.updated", "A subscription changed (extended, renewed, past due).", "user_id", _subscription
    ),
    EventType("subscription.canceled", "A subscription was canceled.", "user_id", _subscription),
    EventType("subscription.expired", "A subscription ended.", "user_id", _subscription),
    EventType("user.created", "An account was created.", None, _user, staff_only=True),
    EventType("user.verified", "An account verified its email address.", None, _user, staff_only=True),
    EventType("user.deactivated", "An account was deactivated.", None, _user, staff_only=True),
]
CATALOGUE: dict[str, EventType] = {event.name: event for event in _TYPES}
STAFF_ONLY = frozenset(event.name for event in _TYPES if event.staff_only)


def subscription_event(action: str, *, before: dict) -> str:
    """The event type of a subscription change recorded with `action` (the audit trail's word)."""
    if not before:
        return "subscription.created"
    if action in ("canceled", "expired"):
        return f"subscription.{action}"
    return "subscription.updated"
