"""Sign-in lockout: failed password checks counted per account, or per canonical name when there
is no account, with one storage (the database) and one decay for both, so neither the answers nor
how long a count lasts tell a real account from an unknown name."""

import hashlib
import unicodedata
from datetime import datetime

from django.conf import settings
from django.db import transaction

from accounts.errors import AccountLocked
from accounts.models import SignInFailures, UnknownSignInName, User


def canonical_name(identifier: str) -> str:
    """One form for every spelling of a name: NFKC folds compatibility look-alikes (long s, the
    Kelvin sign, full-width letters), casefold folds case beyond lower()."""
    return unicodedata.normalize("NFKC", identifier.strip()).casefold()


def name_key(identifier: str) -> str:
    return hashlib.sha256(canonical_name(identifier).encode()).hexdigest()


def lockout_until(failures: int, now: datetime) -> datetime | None:
    """Locked after LOGIN_LOCKOUT_THRESHOLD failures, for a time that doubles with each more."""
    if failures < settings.LOGIN_LOCKOUT_THRESHOLD:
        return None
    doublings = min(failures - settings.LOGIN_LOCKOUT_THRESHOLD, 20)
    return now + min(settings.LOGIN_LOCKOUT_BASE * 2**doublings, settings.LOGIN_LOCKOUT_MAX)


def lockout_check(state: SignInFailures, now: datetime) -> None:
    if state.locked_until and state.locked_until > now:
        raise AccountLocked(retry_after=(state.locked_until - now).total_seconds())


@transaction.atomic
def failure_record(state: SignInFailures, now: datetime) -> None:
    """Counts one failure on the row (locked, so concurrent failures all count). A count whose
    last failure is LOGIN_LOCKOUT_MAX old starts again: the same decay for accounts and names."""
    # an account's or a name's; __class__, not type(): `state` may be request.user, a lazy proxy
    row = state.__class__._default_manager.select_for_update().get(pk=state.pk)
    if row.last_failed_login_at and now - row.last_failed_login_at >= settings.LOGIN_LOCKOUT_MAX:
        row.failed_login_count = 0
    row.failed_login_count += 1
    row.last_failed_login_at = now
    row.locked_until = lockout_until(row.failed_login_count, now)
    row.save(update_fields=["failed_login_count", "locked_until", "last_failed_login_at"])


def failures_clear(user: User) -> None:
    if user.failed_login_count or user.locked_until:
        User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None, last_failed_login_at=None)


def unknown_name_state(identifier: str) -> UnknownSignInName:
    state, _ = UnknownSignInName.objects.get_or_create(key=name_key(identifier))
    return state


def unknown_names_purge(now: datetime) -> int:
    """Drops counts that have decayed (their last failure is LOGIN_LOCKOUT_MAX old)."""
    deleted, _ = UnknownSignInName.objects.filter(last_failed_login_at__lt=now - settings.LOGIN_LOCKOUT_MAX).delete()
    return deleted
