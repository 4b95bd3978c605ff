"""Reads of device sessions, including the per-request "is this session still alive" check."""

import uuid

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from sessions_app.models import DeviceSession, TOTPDevice

# Cached verdicts per session id. A revocation writes REVOKED over whatever is cached (after its
# transaction commits); a request fills the cache only with `add`, so it can never overwrite a
# revocation with a stale "active".
_CACHE_KEY = "session-state:{sid}"
_ACTIVE_TTL = 300
REVOKED = "revoked"


def session_cache_key(session_id) -> str:
    return _CACHE_KEY.format(sid=session_id)


def session_is_active(*, session_id, user_id) -> bool:
    key = session_cache_key(session_id)
    cached = cache.get(key)
    if cached is not None:
        return cached != REVOKED and cached == str(user_id)
    session = DeviceSession.objects.filter(pk=session_id).only("user_id", "revoked_at", "expires_at").first()
    if session is None or not session.is_active:
        cache.set(key, REVOKED, timeout=_ACTIVE_TTL)
        return False
    seconds_left = int((session.expires_at - timezone.now()).total_seconds())
    cache.add(key, str(session.user_id), timeout=max(min(_ACTIVE_TTL, seconds_left), 1))
    return str(session.user_id) == str(user_id)


def sessions_for_user(*, user) -> QuerySet[DeviceSession]:
    return DeviceSession.objects.active().filter(user=user).order_by("-last_used_at")


def session_by_id(*, session_id: uuid.UUID | str) -> DeviceSession:
    return DeviceSession.objects.get(pk=session_id)


def two_factor_device(*, user) -> TOTPDevice | None:
    """The user's confirmed authenticator, or None when sign-in needs only the password."""
    return TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
