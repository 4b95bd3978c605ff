"""6-digit one-time codes: drawn from a CSPRNG, stored as a keyed hash bound to user and purpose,
single use, short-lived, burnt after a few wrong guesses, and refused altogether once an account
has spent its daily budget of wrong guesses (however many fresh codes it was sent)."""

import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import OneTimeCode

Purpose = OneTimeCode.Purpose
_NO_ROW = uuid.UUID(int=0)  # an id no user or code has: the same statements, matching nothing
TTL: dict[str, str] = {Purpose.VERIFY_EMAIL: "VERIFICATION_CODE_TTL", Purpose.RESET_PASSWORD: "PASSWORD_RESET_CODE_TTL"}


def _digest(*, user_id, purpose: str, code: str) -> str:
    value = f"{purpose}:{user_id}:{code}"
    return salted_hmac("accounts.one_time_code", value, algorithm="sha256").hexdigest()


def code_ttl_minutes(purpose: str) -> int:
    return int(getattr(settings, TTL[purpose]).total_seconds() // 60)


@transaction.atomic
def code_issue(*, user, purpose: str) -> str:
    """Retires the user's live code for `purpose` and returns a fresh one (only its hash is kept)."""
    now = timezone.now()
    OneTimeCode.objects.filter(user=user, purpose=purpose, used_at__isnull=True).update(used_at=now)
    code = f"{secrets.randbelow(1_000_000):06d}"
    OneTimeCode.objects.create(
        user=user,
        purpose=purpose,
        code_hash=_digest(user_id=user.pk, purpose=purpose, code=code),
        expires_at=now + getattr(settings, TTL[purpose]),
    )
    return code


def code_consume(*, user, purpose: str, code: str) -> bool:
    """True, and the code is used up, when `code` is the user's live code for `purpose`.

    A wrong guess is recorded; the code dies at ONE_TIME_CODE_MAX_ATTEMPTS, and every code of the
    user and purpose at ONE_TIME_CODE_MAX_FAILURES_PER_DAY over the codes of the last 24 hours.
    `user=None` (an unknown or inactive address) runs the very same statements against no row and
    answers False, so a wrong code costs the same work whether or not the address has an account.
    Callers must not raise inside the same transaction after a False, or the recorded guess is
    rolled back."""
    user_id = user.pk if user is not None else _NO_ROW
    now = timezone.now()
    with transaction.atomic():
        live = (
            OneTimeCode.objects.select_for_update()
            .filter(user_id=user_id, purpose=purpose, used_at__isnull=True)
            .first()
        )
        day = OneTimeCode.objects.filter(user_id=user_id, purpose=purpose, created_at__gt=now - timedelta(days=1))
        failures = day.aggregate(n=Coalesce(Sum("failed_attempts"), 0))["n"]
        usable = (
            live is not None
            and live.expires_at > now
            and live.failed_attempts < settings.ONE_TIME_CODE_MAX_ATTEMPTS
            and failures < settings.ONE_TIME_CODE_MAX_FAILURES_PER_DAY
        )
        expected = live.code_hash if live is not None else ""
        matches = constant_time_compare(expected, _digest(user_id=user_id, purpose=purpose, code=code))
        target = OneTimeCode.objects.filter(pk=live.pk if usable and live is not None else _NO_ROW)
        if usable and matches:
            target.update(used_at=now)
            return True
        target.update(failed_attempts=F("failed_attempts") + 1)  # no row unless a live code was guessed wrong
        return False


def codes_purge() -> int:
    """Deletes codes that expired more than a day ago (younger ones still count toward the daily cap)."""
    cutoff = timezone.now() - timedelta(days=1)
    deleted, _ = OneTimeCode.objects.filter(expires_at__lt=cutoff).delete()
    return deleted
