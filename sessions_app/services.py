"""Writes on device sessions: sign-in, refresh-token rotation with reuse detection, revocation."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from sessions_app.devices import device_name
from sessions_app.errors import RefreshTokenInvalid, RefreshTokenRotated, SessionRevoked
from sessions_app.models import DeviceSession
from sessions_app.selectors import REVOKED, session_cache_key
from sessions_app.tokens import SESSION_CLAIM, TokenPair, mint_token_pair, read_refresh_token

logger = logging.getLogger(__name__)
Reason = DeviceSession.RevokeReason


@dataclass(frozen=True)
class SignIn:
    session: DeviceSession
    tokens: TokenPair


def _forget_sessions_on_commit(session_ids) -> None:
    """After the revoking transaction commits, every cached "active" verdict is overwritten."""
    ids = [str(session_id) for session_id in session_ids]
    if ids:
        transaction.on_commit(lambda: cache.set_many({session_cache_key(sid): REVOKED for sid in ids}, timeout=3600))


@transaction.atomic
def session_start(*, user, user_agent: str = "", ip_address: str | None = None) -> SignIn:
    """A new device session for a sign-in, with its first token pair."""
    now = timezone.now()
    session = DeviceSession(
        user=user,
        user_agent=user_agent[:512],
        device_name=device_name(user_agent),
        ip_address=ip_address,
        last_used_at=now,
        expires_at=now + settings.DEVICE_SESSION_LIFETIME,
    )
    tokens = mint_token_pair(user_id=user.pk, session_id=session.id, session_expires_at=session.expires_at)
    session.refresh_jti = tokens.refresh_jti
    session.save()
    user.last_login = now
    user.save(update_fields=["last_login"])
    return SignIn(session=session, tokens=tokens)


def session_rename(*, session: DeviceSession, device_name: str) -> DeviceSession:
    """The name the client chose for its session, shown in the session list instead of the parsed one."""
    session.device_name = device_name[:128]
    session.save(update_fields=["device_name"])
    return session


def session_refresh(*, refresh_token: str, ip_address: str | None = None) -> SignIn:
    """Rotates a refresh token. The session row is locked, so of concurrent refreshes with one
    token exactly one wins. Presenting a token that was already rotated revokes the session
    (reuse detection), except for the token rotated moments ago (REFRESH_REUSE_GRACE): that one
    is refused without revoking, so a client racing itself is not signed out."""
    try:
        token = read_refresh_token(refresh_token)
    except TokenError as exc:
        raise RefreshTokenInvalid() from exc
    session_id = token.get(SESSION_CLAIM)
    jti = token.get(jwt_settings.JTI_CLAIM)
    user_id = token.get(jwt_settings.USER_ID_CLAIM)
    if not session_id or not jti:
        raise RefreshTokenInvalid()

    rejection = None
    with transaction.atomic():
        session = (
            DeviceSession.objects.select_for_update(of=("self",)).select_related("user").filter(pk=session_id).first()
        )
        if session is None or str(session.user_id) != str(user_id):
            raise RefreshTokenInvalid()
        now = timezone.now()
        if not session.is_active or not session.user.is_active:
            raise SessionRevoked()
        if jti != session.refresh_jti:
            in_grace = (
                jti == session.previous_refresh_jti
                and session.rotated_at is not None
                and now - session.rotated_at <= settings.REFRESH_REUSE_GRACE
            )
            if in_grace:
                raise RefreshTokenRotated()
            _revoke(session, Reason.REFRESH_REUSE, now)
            logger.warning("refresh token reuse: session %s revoked", session.pk)
            # Commit the revocation, then refuse: raising inside the block would roll it back.
            rejection = SessionRevoked()
        else:
            tokens = mint_token_pair(
                user_id=session.user_id, session_id=session.pk, session_expires_at=session.expires_at
            )
            session.previous_refresh_jti = session.refresh_jti
            session.refresh_jti = tokens.refresh_jti
            session.rotated_at = now
            session.last_used_at = now
            update = ["previous_refresh_jti", "refresh_jti", "rotated_at", "last_used_at"]
            if ip_address:
                session.ip_address = ip_address
                update.append("ip_address")
            session.save(update_fields=update)
    if rejection:
        raise rejection
    return SignIn(session=session, tokens=tokens)


def _revoke(session: DeviceSession, reason: str, now) -> None:
    session.revoked_at = now
    session.revoke_reason = reason
    session.save(update_fields=["revoked_at", "revoke_reason"])
    _forget_sessions_on_commit([session.pk])


@transaction.atomic
def session_revoke(*, session: DeviceSession, reason: str) -> None:
    """Ends one session; its access tokens fail from the next request on."""
    locked = DeviceSession.objects.select_for_update().get(pk=session.pk)
    if locked.revoked_at is None:
        _revoke(locked, reason, timezone.now())


@transaction.atomic
def sessions_revoke_for_user(*, user, reason: str, keep_session_id=None) -> int:
    """Ends every live session of a user (but `keep_session_id`); returns how many."""
    sessions = DeviceSession.objects.filter(user=user, revoked_at__isnull=True)
    if keep_session_id:
        sessions = sessions.exclude(pk=keep_session_id)
    # Lock in pk order so two revocations (or one and a refresh) never wait on each other in a cycle.
    ids = list(sessions.select_for_update().order_by("pk").values_list("pk", flat=True))
    count = DeviceSession.objects.filter(pk__in=ids).update(revoked_at=timezone.now(), revoke_reason=reason)
    _forget_sessions_on_commit(ids)
    return count


def session_touch(*, session_id) -> None:
    """Records use of a session, at most once a minute per session."""
    if cache.add(f"session-touched:{session_id}", 1, timeout=60):
        DeviceSession.objects.filter(pk=session_id).update(last_used_at=timezone.now())


def sessions_purge(*, older_than: timedelta = timedelta(days=30)) -> int:
    """Deletes sessions that expired or were revoked more than `older_than` ago."""
    cutoff = timezone.now() - older_than
    expired = DeviceSession.objects.filter(expires_at__lt=cutoff)
    revoked = DeviceSession.objects.filter(revoked_at__lt=cutoff)
    deleted, _ = (expired | revoked).delete()
    return deleted
