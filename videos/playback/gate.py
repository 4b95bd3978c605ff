"""The entitlement gate, where playback URLs are minted and where every file under them is served.

A gated video (one that names plans) plays for its owner, for staff who may view videos, and for
viewers with an entitling subscription to one of its plans; their tokens expire no later than that
subscription's access ends (`ends_at`, plus grace when past due). The check runs again on every
playlist and media request under a token, so a canceled, expired or revoked subscription stops
playback at once, whatever the token's own expiry."""

from datetime import datetime

from accounts.models import User
from accounts.subscriptions.selectors import access_end
from videos.catalog.access import LOCKED, bypasses_plans, plans_of
from videos.errors import SubscriptionRequired
from videos.models import Video


def is_gated(video: Video) -> bool:
    return bool(plans_of(video))


def playable_until(*, video: Video, user: User | None) -> datetime | None:
    """Refuses a viewer without access (403 `subscription_required`, naming the plans); else the
    latest a token may live (None: no limit beyond the token lifetime). `video.access` comes
    from the catalog's selectors, computed at this request."""
    plans = plans_of(video)
    if not plans:
        return None
    if getattr(video, "access", None) == LOCKED or user is None:  # annotated by the catalog's selectors
        raise SubscriptionRequired(plans)
    if bypasses_plans(user, video):
        return None
    granted, until = access_end(user=user, plan_ids=[plan.pk for plan in plans])
    if not granted:  # ended between the two queries
        raise SubscriptionRequired(plans)
    return until
