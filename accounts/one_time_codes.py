"""6-digit one-time codes: drawn from a CSPRNG, stored as a keyed hash bound to user and purpose,
single use, short-lived, burnt after a few wrong guesses, and refused altogether once an account
has spent its daily budget of wrong guesses (however many fresh codes it was sent)."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import OneTimeCode

Purpose = OneTimeCode.Purpose
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
    Callers must not raise inside the same transaction after a False, or the recorded guess is
    rolled back."""
    with transaction.atomic():
        live = OneTimeCode.objects.select_for_update().filter(user=user, purpose=purpose, used_at__isnull=True).first()
        if live is None or live.expires_at <= timezone.now():
            return False
        if live.failed_attempts >= settings.ONE_TIME_CODE_MAX_ATTEMPTS:
            return False
        day = OneTimeCode.objects.filter(user=user, purpose=purpose, created_at__gt=timezone.now() - timedelta(days=1))
        if day.aggregate(n=Sum("failed_attempts"))["n"] >= settings.ONE_TIME_CODE_MAX_FAILURES_PER_DAY:
            return False
        if constant_time_compare(live.code_hash, _digest(user_id=user.pk, purpose=purpose, code=code)):
            live.used_at = timezone.now()
            live.save(update_fields=["used_at"])
            return True
        live.failed_attempts += 1
        live.save(update_fields=["failed_attempts"])
        return False


def codes_purge() -> int:
    """Deletes codes that expired more than a day ago (younger ones still count toward the daily cap)."""
    cutoff = timezone.now() - timedelta(days=1)
    deleted, _ = OneTimeCode.objects.filter(expires_at__lt=cutoff).delete()
    return deleted
