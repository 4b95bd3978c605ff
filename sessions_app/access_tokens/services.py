"""Writes on access tokens: create, rotate, revoke (one, or all of a user's), record use, and
the expiry reminder. The plaintext exists only in the value these return to the view."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.emails import queue_email
from sessions_app.access_tokens.models import PersonalAccessToken
from sessions_app.access_tokens.scopes import Scope
from sessions_app.access_tokens.token_format import lookup_prefix, token_digest, token_generate
from sessions_app.errors import TokenLimitReached, TokenNotRotatable
from vod.exceptions import InvalidInput

Reason = PersonalAccessToken.RevokeReason


@dataclass(frozen=True)
class IssuedToken:
    """A token row and its plaintext, which the API shows once and nothing stores."""

    token: PersonalAccessToken
    plaintext: str


def _issue(*, user, name: str, scopes: list[str], expires_at: datetime, rotated_from=None) -> IssuedToken:
    plaintext = token_generate()
    token = PersonalAccessToken.objects.create(
        user=user,
        name=name,
        prefix=lookup_prefix(plaintext),
        secret_hash=token_digest(plaintext),
        scopes=scopes,
        expires_at=expires_at,
        rotated_from=rotated_from,
    )
    return IssuedToken(token=token, plaintext=plaintext)


def _check_room(user) -> None:
    """Locks the owner's row, so two creations at once cannot both take the last free place."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if PersonalAccessToken.objects.live().filter(user=user).count() >= settings.ACCESS_TOKEN_MAX_LIVE:
        raise TokenLimitReached()


@transaction.atomic
def token_create(*, user, name: str, scopes: list[str], expires_at: datetime | None = None) -> IssuedToken:
    """A new token. `staff` is for staff only; with no `expires_at` it lives ACCESS_TOKEN_DEFAULT_LIFETIME."""
    if Scope.STAFF in scopes and not user.is_staff:
        raise InvalidInput({"scopes": ["Only staff can give a token the `staff` scope."]})
    _check_room(user)
    expires_at = expires_at or timezone.now() + settings.ACCESS_TOKEN_DEFAULT_LIFETIME
    return _issue(user=user, name=name, scopes=scopes, expires_at=expires_at)


@transaction.atomic
def token_rotate(*, token: PersonalAccessToken) -> IssuedToken:
    """A new secret with the same name, scopes and lifetime (counted from now); the old one dies.
    An expired token may be rotated (that is how one renews it), a revoked one may not. The row
    lock makes one of two concurrent rotations fail instead of leaving two heirs."""
    old = PersonalAccessToken.objects.select_for_update().get(pk=token.pk)
    if old.revoked_at is not None:
        raise TokenNotRotatable()
    now = timezone.now()
    if old.expires_at <= now:  # it held no live place; its heir needs one
        _check_room(old.user)
    lifetime = min(old.expires_at - old.created_at, settings.ACCESS_TOKEN_MAX_LIFETIME)
    _revoke(old, Reason.ROTATED, now)
    return _issue(user=old.user, name=old.name, scopes=old.scopes, expires_at=now + lifetime, rotated_from=old)


def _revoke(token: PersonalAccessToken, reason: str, now: datetime) -> None:
    token.revoked_at = now
    token.revoke_reason = reason
    token.save(update_fields=["revoked_at", "revoke_reason"])


@transaction.atomic
def token_revoke(*, token: PersonalAccessToken, reason: str = Reason.REVOKED_BY_USER) -> None:
    """Ends one token from the next request on; revoking a revoked token changes nothing."""
    locked = PersonalAccessToken.objects.select_for_update().get(pk=token.pk)
    if locked.revoked_at is None:
        _revoke(locked, reason, timezone.now())


def tokens_revoke_for_user(*, user, reason: str) -> int:
    """Ends every token of a user that is not revoked yet; returns how many."""
    return PersonalAccessToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoke_reason=reason
    )


def token_touch(*, token: PersonalAccessToken, ip_address: str | None) -> None:
    """Records when and from where a token was last used, at most once a minute per token."""
    if cache.add(f"access-token-touched:{token.pk}", 1, timeout=60):
        PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now(), last_used_ip=ip_address)


def tokens_remind_expiring(*, within: timedelta = timedelta(days=7)) -> int:
    """Mails each owner once per token that expires within `within`; returns how many mails.
    Claiming a token by a conditional update means two beats at once never mail twice."""
    now = timezone.now()
    due = PersonalAccessToken.objects.live().filter(expires_at__lte=now + within, expiry_notified_at__isnull=True)
    sent = 0
    for token_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            claimed = PersonalAccessToken.objects.filter(pk=token_id, expiry_notified_at__isnull=True).update(
                expiry_notified_at=now
            )
            if not claimed:
                continue
            token = PersonalAccessToken.objects.select_related("user").get(pk=token_id)
            if not token.user.is_active:
                continue
            queue_email(
                to=token.user.email,
                template="token_expiring",
                context={
                    "name": token.user.get_full_name(),
                    "token_name": token.name,
                    "prefix": token.prefix,
                    "expires_at": token.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
                },
            )
            sent += 1
    return sent
