"""The second factor's mechanics: TOTP secrets (encrypted at rest), codes accepted once, and
hashed single-use recovery codes. No HTTP and no lockout policy here (accounts.two_factor)."""

import re
import secrets
import time

import pyotp
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from sessions_app.models import RecoveryCode, TOTPDevice
from vod import encryption

RECOVERY_CODE_COUNT = 10
# Clock drift tolerated between the server and the authenticator, in 30-second steps each way.
VALID_WINDOW = 1
_TOTP_CODE = re.compile(r"^[0-9]{6}$")
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i look-alikes


_SALT = "sessions_app.totp.secret-encryption"


def secret_encrypt(secret: str) -> str:
    """Keyed by TOTP_ENCRYPTION_KEY if set, else derived from SECRET_KEY (vod.encryption)."""
    return encryption.encrypt(secret, key=settings.TOTP_ENCRYPTION_KEY, salt=_SALT)


def secret_decrypt(encrypted: str) -> str:
    return encryption.decrypt(encrypted, key=settings.TOTP_ENCRYPTION_KEY, salt=_SALT)


def secret_reencrypt(encrypted: str) -> str | None:
    """`manage.py reencrypt_secrets`: the secret under the key in use (None: unreadable)."""
    return encryption.reencrypt(encrypted, key=settings.TOTP_ENCRYPTION_KEY, salt=_SALT)


def totp_new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def totp_uri(*, secret: str, account_name: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=settings.TOTP_ISSUER)


def totp_accept(*, device: TOTPDevice, code: str) -> bool:
    """True when `code` is right for the current time step (give or take VALID_WINDOW) and that step
    is later than the last one accepted; the step is then recorded with a conditional update, so a
    code works once even when two requests race with it."""
    if not _TOTP_CODE.match(code):
        return False
    secret = secret_decrypt(device.encrypted_secret)
    if not secret:
        return False
    totp = pyotp.TOTP(secret)
    current = totp.timecode(time.time())
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if device.last_used_step is not None and step <= device.last_used_step:
            continue
        if constant_time_compare(totp.generate_otp(step), code):
            unused = Q(last_used_step__isnull=True) | Q(last_used_step__lt=step)
            won = TOTPDevice.objects.filter(unused, pk=device.pk).update(last_used_step=step)
            if won:
                device.last_used_step = step
            return bool(won)
    return False


# --- recovery codes -------------------------------------------------------------------------------


def _normalize_recovery_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()


def _recovery_digest(*, device_id, code: str) -> str:
    value = f"{device_id}:{_normalize_recovery_code(code)}"
    return salted_hmac("sessions_app.recovery_code", value, algorithm="sha256").hexdigest()


def recovery_codes_issue(*, device: TOTPDevice) -> list[str]:
    """Replaces the device's recovery codes with RECOVERY_CODE_COUNT new ones, returned once."""
    codes: list[str] = []
    while len(codes) < RECOVERY_CODE_COUNT:
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))  # ~49 bits each
        code = f"{raw[:5]}-{raw[5:]}"
        if code not in codes:
            codes.append(code)
    device.recovery_codes.all().delete()
    RecoveryCode.objects.bulk_create(
        RecoveryCode(device=device, code_hash=_recovery_digest(device_id=device.pk, code=code)) for code in codes
    )
    return codes


def recovery_code_accept(*, device: TOTPDevice, code: str) -> bool:
    """True, and the code is used up, when `code` is one of the device's unused recovery codes."""
    digest = _recovery_digest(device_id=device.pk, code=code)
    return bool(
        RecoveryCode.objects.filter(device=device, code_hash=digest, used_at__isnull=True).update(
            used_at=timezone.now()
        )
    )


def second_factor_accept(*, device: TOTPDevice, code: str) -> bool:
    """A 6-digit code is checked as TOTP, anything else as a recovery code."""
    code = code.strip()
    if _TOTP_CODE.match(code):
        return totp_accept(device=device, code=code)
    return recovery_code_accept(device=device, code=code)
