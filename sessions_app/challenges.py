"""Two-factor challenges: what a right password earns an enrolled account instead of tokens.

The token is 256 random bits handed to the client; only its SHA-256 is stored (it is not a
password, so a plain hash is enough to make a database leak useless)."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from sessions_app.models import TwoFactorChallenge
from sessions_app.selectors import two_factor_device
from sessions_app.services import SignIn, session_start


@dataclass(frozen=True)
class Challenge:
    token: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def challenge_issue(*, user) -> Challenge:
    token = secrets.token_urlsafe(32)
    expires_at = timezone.now() + settings.TWO_FACTOR_CHALLENGE_TTL
    TwoFactorChallenge.objects.create(user=user, token_hash=_digest(token), expires_at=expires_at)
    return Challenge(token=token, expires_at=expires_at)


def sign_in_or_challenge(*, user, user_agent: str = "", ip_address: str | None = None) -> SignIn | Challenge:
    """The end of a first-factor sign-in: a device session, or a challenge if the user enrolled."""
    if two_factor_device(user=user) is not None:
        return challenge_issue(user=user)
    return session_start(user=user, user_agent=user_agent, ip_address=ip_address)


def challenge_lock(*, token: str) -> TwoFactorChallenge | None:
    """The live challenge for `token`, locked for the caller's transaction; None if it is unknown,
    used, expired or out of tries."""
    challenge = (
        TwoFactorChallenge.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(token_hash=_digest(token), used_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if challenge is None or challenge.failed_attempts >= settings.TWO_FACTOR_CHALLENGE_MAX_ATTEMPTS:
        return None
    return challenge


def challenge_fail(*, challenge: TwoFactorChallenge) -> None:
    TwoFactorChallenge.objects.filter(pk=challenge.pk).update(failed_attempts=F("failed_attempts") + 1)


def challenge_use(*, challenge: TwoFactorChallenge) -> None:
    challenge.used_at = timezone.now()
    challenge.save(update_fields=["used_at"])


@transaction.atomic
def challenges_end_for_user(*, user) -> None:
    """No open challenge survives a change of the user's second factor."""
    TwoFactorChallenge.objects.filter(user=user, used_at__isnull=True).update(used_at=timezone.now())


def challenges_purge() -> int:
    """Deletes challenges that expired more than a day ago."""
    cutoff = timezone.now() - settings.TWO_FACTOR_CHALLENGE_TTL - timedelta(days=1)
    deleted, _ = TwoFactorChallenge.objects.filter(expires_at__lt=cutoff).delete()
    return deleted
