"""Two-factor sign-in for accounts: enrol, confirm, disable, the second step of a sign-in, and the
staff's reset. The credentials themselves live in sessions_app (models, `totp`, `challenges`);
this module adds the account policy: wrong codes and passwords count toward the sign-in lockout,
and the owner is mailed whenever the second factor changes.

A wrong guess is recorded in its own transaction before the error is raised, so raising never
rolls the count back.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.emails import queue_email
from accounts.errors import InvalidCode
from accounts.lockout import failure_record, lockout_check
from accounts.models import User
from accounts.services import user_unlock
from sessions_app.challenges import challenge_fail, challenge_lock, challenge_use, challenges_end_for_user
from sessions_app.errors import InvalidChallenge, TwoFactorAlreadyEnabled, TwoFactorNotEnabled, TwoFactorNotSetUp
from sessions_app.models import TOTPDevice
from sessions_app.selectors import two_factor_device
from sessions_app.services import SignIn, session_start
from sessions_app.totp import (
    recovery_codes_issue,
    second_factor_accept,
    secret_encrypt,
    totp_accept,
    totp_new_secret,
    totp_uri,
)
from vod.exceptions import InvalidInput


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str


def _notify(user: User, change: str) -> None:
    queue_email(to=user.email, template="two_factor_changed", context={"name": user.get_full_name(), "change": change})


def _password_or_fail(*, user: User, password: str) -> None:
    lockout_check(user, timezone.now())
    if not user.check_password(password):
        failure_record(user, timezone.now())
        raise InvalidInput({"password": ["The password is not correct."]})


def two_factor_setup(*, user: User, password: str) -> Enrolment:
    """Starts (or restarts) enrolment with a new secret, shown this once; the old pending one dies.
    It needs the password, so a stolen access token cannot lock the owner out with its own
    authenticator."""
    _password_or_fail(user=user, password=password)
    secret = totp_new_secret()
    try:
        with transaction.atomic():
            device = TOTPDevice.objects.select_for_update().filter(user=user).first()
            if device is not None and device.confirmed_at is not None:
                raise TwoFactorAlreadyEnabled()
            if device is not None:
                device.delete()
            TOTPDevice.objects.create(user=user, encrypted_secret=secret_encrypt(secret))
    except IntegrityError:  # a concurrent setup created the row first
        raise TwoFactorAlreadyEnabled() from None  # a concurrent setup won
    return Enrolment(secret=secret, otpauth_uri=totp_uri(secret=secret, account_name=user.email))


def two_factor_confirm(*, user: User, code: str) -> list[str]:
    """Turns two-factor sign-in on with a first code from the authenticator; returns the recovery
    codes, shown this once."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user).first()
        if device is None:
            raise TwoFactorNotSetUp()
        if device.confirmed_at is not None:
            raise TwoFactorAlreadyEnabled()
        if not totp_accept(device=device, code=code.strip()):
            raise InvalidCode()
        device.confirmed_at = timezone.now()
        device.save(update_fields=["confirmed_at"])
        codes = recovery_codes_issue(device=device)
        _notify(user, "turned on")
    return codes


def _second_factor_or_fail(*, user: User, device: TOTPDevice, code: str) -> None:
    if not second_factor_accept(device=device, code=code):
        failure_record(user, timezone.now())
        raise InvalidCode()


def two_factor_disable(*, user: User, password: str, code: str) -> None:
    """Needs the password and a code (or a recovery code); wrong ones count toward the lockout."""
    device = two_factor_device(user=user)
    if device is None:
        raise TwoFactorNotEnabled()
    _password_or_fail(user=user, password=password)
    _second_factor_or_fail(user=user, device=device, code=code)
    _remove(user, "turned off")


def two_factor_reset_by_staff(*, user: User) -> bool:
    """For a user who lost their authenticator and recovery codes: sign-in needs the password only
    again (and they can enrol anew). False if they had not enrolled."""
    enrolled = two_factor_device(user=user) is not None
    if enrolled:
        _remove(user, "turned off by staff")
    return enrolled


@transaction.atomic
def _remove(user: User, change: str) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    challenges_end_for_user(user=user)
    _notify(user, change)


def second_factor_check(*, user: User, code: str) -> None:
    """The second step where no challenge is needed (the admin's one-page login): the lockout
    applies, a wrong code counts, a right one clears the count."""
    lockout_check(user, timezone.now())
    device = two_factor_device(user=user)
    if device is None:
        raise TwoFactorNotEnabled()
    _second_factor_or_fail(user=user, device=device, code=code)
    user_unlock(user=user)


def two_factor_verify(*, challenge: str, code: str, user_agent: str = "", ip_address: str | None = None) -> SignIn:
    """Finishes a sign-in: a live challenge and a right code (or recovery code) start the device
    session. The challenge row is locked, so of concurrent tries with one challenge one wins."""
    with transaction.atomic():
        pending = challenge_lock(token=challenge)
        if pending is None:
            raise InvalidChallenge()
        user = pending.user
        lockout_check(user, timezone.now())
        device = two_factor_device(user=user)
        if device is None or not user.is_active:  # turned off or disabled since the password step
            raise InvalidChallenge()
        accepted = second_factor_accept(device=device, code=code)
        if accepted:
            challenge_use(challenge=pending)
            sign_in = session_start(user=user, user_agent=user_agent, ip_address=ip_address)
        else:
            challenge_fail(challenge=pending)
    if not accepted:
        failure_record(user, timezone.now())
        raise InvalidCode()
    user_unlock(user=user)
    return sign_in
