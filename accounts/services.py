"""Writes for identity: registration, verification, sign-in with lockout, passwords, profiles.

Answers that could tell whether an account exists (register, resend, forgot, reset, login
failures) are the same for both cases, and both cases do the same work so they also take alike:
register and login pay for one password hash either way, resend and forgot only enqueue a task
that looks the address up in the worker.
"""

import uuid
from datetime import datetime
from typing import NoReturn

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.emails import queue_email
from accounts.errors import AccountDisabled, EmailNotVerified, InvalidCode, InvalidCredentials
from accounts.lockout import failure_record, failures_clear, lockout_check, unknown_name_state
from accounts.models import AVATAR_SIZES, OneTimeCode, User
from accounts.one_time_codes import code_consume, code_issue, code_ttl_minutes
from accounts.selectors import user_by_email, user_by_login, username_taken
from sessions_app.access_tokens.models import PersonalAccessToken
from sessions_app.access_tokens.services import tokens_revoke_for_user
from sessions_app.challenges import Challenge, sign_in_or_challenge
from sessions_app.models import DeviceSession
from sessions_app.selectors import two_factor_device
from sessions_app.services import SignIn, sessions_revoke_for_user
from videos import keys, storage
from videos.catalog.services import videos_delete_for_owner
from videos.library.services import library_delete_for_user
from vod import images
from vod.exceptions import InvalidInput, PermissionDeniedError
from webhooks.services import emit

Purpose = OneTimeCode.Purpose
Reason = DeviceSession.RevokeReason
CODE_EMAIL_COOLDOWN = 60  # seconds between two code emails to one account


# --- helpers ----------------------------------------------------------------------------------


def _validate_password(password: str, *, user: User, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise InvalidInput({field: list(exc.messages)}) from exc


def _burn_password_hash(password: str) -> None:
    """The cost of one password hash, for paths that must take as long as their twin."""
    make_password(password)


def _password_confirm(user: User, password: str, *, field: str) -> None:
    """Checks a signed-in user's current password under the sign-in lockout: a locked account is
    refused, and a wrong password counts as a failed sign-in. Called outside any transaction, so
    the failure is kept when the caller's request fails."""
    now = timezone.now()
    lockout_check(user, now)
    if not user.check_password(password):
        failure_record(user, now)
        raise InvalidInput({field: ["The password is not correct."]})
    failures_clear(user)


@transaction.atomic
def _password_set_with_code(*, email: str, purpose: str, code: str, password: str, field: str) -> User | None:
    """The code proves the mailbox; only then is the new password validated (a rejected one keeps
    the code: the error rolls its use back) and set, the address marked verified and any lockout
    cleared. None for a wrong code or an unknown address, before any password rule is looked at."""
    user = user_by_email(email)
    if user is not None and not user.is_active:
        user = None
    # Run for unknown addresses too (against no row): the work must not tell them apart.
    if not code_consume(user=user, purpose=purpose, code=code) or user is None:
        return None
    _validate_password(password, user=user, field=field)
    user.set_password(password)
    verified_now, user.is_verified = not user.is_verified, True
    user.failed_login_count, user.locked_until, user.last_failed_login_at = 0, None, None
    lockout = ["failed_login_count", "locked_until", "last_failed_login_at"]
    user.save(update_fields=["password", "is_verified", *lockout, "updated_at"])
    if verified_now:
        emit("user.verified", user)
    return user


def _send_code(*, user: User, purpose: str, template: str) -> None:
    code = code_issue(user=user, purpose=purpose)
    queue_email(
        to=user.email,
        template=template,
        context={"name": user.get_full_name(), "code": code, "minutes": code_ttl_minutes(purpose), "email": user.email},
    )


def _cooldown_passed(user: User, purpose: str) -> bool:
    return cache.add(f"code-email:{purpose}:{user.pk}", 1, timeout=CODE_EMAIL_COOLDOWN)


# --- registration and verification --------------------------------------------------------------


def user_register(*, email: str, username: str, password: str) -> None:
    """Creates an unverified user and mails a code; for a taken email, mails its owner instead."""
    email = User.objects.normalize_email(email.strip())
    candidate = User(email=email, username=username)
    if username_taken(username):
        raise InvalidInput({"username": ["This username is taken."]})
    _validate_password(password, user=candidate)

    existing = user_by_email(email)
    if existing is None:
        try:
            with transaction.atomic():
                user = User.objects.create_user(email=email, username=username, password=password)
                emit("user.created", user)
                _send_code(user=user, purpose=Purpose.VERIFY_EMAIL, template="verify_email")
            return
        except IntegrityError:  # registered concurrently: from here on it is an existing account
            existing = user_by_email(email)
            if existing is None:
                raise InvalidInput({"username": ["This username is taken."]}) from None
    else:
        _burn_password_hash(password)
    _notify_existing_account(existing)


def _notify_existing_account(user: User) -> None:
    if not _cooldown_passed(user, "register"):
        return
    with transaction.atomic():
        if user.is_verified:
            queue_email(to=user.email, template="account_exists", context={"name": user.get_full_name()})
        else:  # never finished signing up: what they need is a fresh code
            _send_code(user=user, purpose=Purpose.VERIFY_EMAIL, template="verify_email")


def verification_resend(*, email: str) -> None:
    """Asks the worker to mail a new code (`verification_code_send`): the request does the same
    whether or not the address has an account."""
    from accounts.tasks import send_verification_code  # tasks imports this module

    transaction.on_commit(lambda: send_verification_code.delay(email), robust=True)


def verification_code_send(*, email: str) -> None:
    """Mails a new verification code to an unverified account; silently nothing otherwise."""
    user = user_by_email(email)
    if user is None or user.is_verified or not user.is_active or not _cooldown_passed(user, "verify"):
        return
    with transaction.atomic():
        _send_code(user=user, purpose=Purpose.VERIFY_EMAIL, template="verify_email")


def email_verify(
    *, email: str, code: str, password: str, user_agent: str = "", ip_address: str | None = None
) -> SignIn | Challenge:
    """Claims the account: the code proves the mailbox, `password` becomes its only password (so
    whoever registered the address first keeps nothing), the email is verified, and they are signed
    in (or challenged, if enrolled in two-factor sign-in)."""
    with transaction.atomic():
        user = _password_set_with_code(
            email=email, purpose=Purpose.VERIFY_EMAIL, code=code, password=password, field="password"
        )
        if user is not None:
            return sign_in_or_challenge(user=user, user_agent=user_agent, ip_address=ip_address)
    raise InvalidCode()


def unverified_users_purge() -> int:
    """Deletes accounts that never verified their address within UNVERIFIED_ACCOUNT_TTL: a squatted
    address is free again, and its owner registers afresh. Such an account never signed in."""
    cutoff = timezone.now() - settings.UNVERIFIED_ACCOUNT_TTL
    stale = User.objects.filter(is_verified=False, is_staff=False, last_login__isnull=True, created_at__lt=cutoff)
    deleted, _ = stale.delete()
    return deleted


# --- sign-in ------------------------------------------------------------------------------------


def _fail_unknown_login(identifier: str, password: str, now: datetime) -> NoReturn:
    """Counts and locks failures for a name with no account exactly as for an account (see
    accounts.lockout), so the answers never tell the two apart."""
    state = unknown_name_state(identifier)
    lockout_check(state, now)
    _burn_password_hash(password)
    failure_record(state, now)
    raise InvalidCredentials()


def user_authenticate(*, identifier: str, password: str) -> User:
    """The password step of every sign-in, the API's and the admin's: by email or username, with
    the lockout. Unknown names fail, and lock, exactly like wrong passwords."""
    now = timezone.now()
    user = user_by_login(identifier)
    if user is None:
        _fail_unknown_login(identifier, password, now)

    lockout_check(user, now)
    if not user.check_password(password):
        failure_record(user, now)
        raise InvalidCredentials()

    # An enrolled account's failures are cleared by its second factor only, or a known password
    # would restart the count of guessed codes.
    if two_factor_device(user=user) is None:
        failures_clear(user)
    if not user.is_active:
        raise AccountDisabled()
    if not user.is_verified:
        raise EmailNotVerified()
    return user


def login(*, identifier: str, password: str, user_agent: str = "", ip_address: str | None = None) -> SignIn | Challenge:
    """Signs in with a password; an account enrolled in two-factor sign-in gets a challenge instead."""
    user = user_authenticate(identifier=identifier, password=password)
    return sign_in_or_challenge(user=user, user_agent=user_agent, ip_address=ip_address)


# --- passwords ----------------------------------------------------------------------------------


def password_forgot(*, email: str) -> None:
    """Asks the worker to mail a reset code (`password_reset_code_send`): the request does the same
    whether or not the address has an account."""
    from accounts.tasks import send_password_reset_code  # tasks imports this module

    transaction.on_commit(lambda: send_password_reset_code.delay(email), robust=True)


def password_reset_code_send(*, email: str) -> None:
    """Mails a reset code to an active account; silently nothing otherwise."""
    user = user_by_email(email)
    if user is None or not user.is_active or not _cooldown_passed(user, "reset"):
        return
    with transaction.atomic():
        _send_code(user=user, purpose=Purpose.RESET_PASSWORD, template="password_reset")


def password_reset(*, email: str, code: str, new_password: str) -> None:
    """Sets a new password with a reset code, ends every session and clears any lockout. The code
    is checked first: a wrong one answers `invalid_code` whatever the password and the address."""
    with transaction.atomic():
        user = _password_set_with_code(
            email=email, purpose=Purpose.RESET_PASSWORD, code=code, password=new_password, field="new_password"
        )
        if user is not None:
            sessions_revoke_for_user(user=user, reason=Reason.PASSWORD_RESET)
            queue_email(to=user.email, template="password_changed", context={"name": user.get_full_name()})
            return
    raise InvalidCode()


def password_change(*, user: User, current_session_id, current_password: str, new_password: str) -> None:
    """Needs the current password (under the lockout); ends every other session."""
    _password_confirm(user, current_password, field="current_password")
    _validate_password(new_password, user=user, field="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        sessions_revoke_for_user(user=user, reason=Reason.PASSWORD_CHANGE, keep_session_id=current_session_id)
        queue_email(to=user.email, template="password_changed", context={"name": user.get_full_name()})


# --- profile and staff --------------------------------------------------------------------------


@transaction.atomic
def user_update_profile(*, user: User, **changes) -> User:
    """Updates `display_name` and/or `username`."""
    if "username" in changes and username_taken(changes["username"], exclude_user_id=user.pk):
        raise InvalidInput({"username": ["This username is taken."]})
    for field in ("display_name", "username"):
        if field in changes:
            setattr(user, field, changes[field])
    try:
        with transaction.atomic():
            user.save(update_fields=[*changes.keys(), "updated_at"])
    except IntegrityError:
        raise InvalidInput({"username": ["This username is taken."]}) from None
    return user


def user_delete(*, user: User, password: str) -> None:
    """Deletes the account after checking its password (under the lockout); its sessions end with
    it, its access tokens are deleted with it, and its videos go with their files (storage is cleaned up by a task)."""
    _password_confirm(user, password, field="password")
    user_delete_by_staff(user=user)


@transaction.atomic
def user_delete_by_staff(*, user: User) -> None:
    """The clean-up every account deletion needs (the admin's delete calls it too, so counters,
    playlists and files never depend on the nightly recount)."""
    sessions_revoke_for_user(user=user, reason=Reason.ACCOUNT_DELETED)
    library_delete_for_user(user=user)
    videos_delete_for_owner(owner=user)
    _avatar_files_delete_on_commit(user.avatar_id)
    user.delete()


def user_create_by_staff(*, by: User | None, email: str, username: str, password: str, is_staff: bool = False) -> User:
    """An account made by staff is verified from the start; only a superuser may make it staff.
    `by` is None for an operator's management command."""
    if is_staff and by is not None and not by.is_superuser:
        raise PermissionDeniedError("Only superusers can create staff accounts.")
    email = User.objects.normalize_email(email.strip())
    if user_by_email(email) is not None:
        raise InvalidInput({"email": ["An account with this email exists."]})
    if username_taken(username):
        raise InvalidInput({"username": ["This username is taken."]})
    _validate_password(password, user=User(email=email, username=username))
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email, username=username, password=password, is_staff=is_staff, is_verified=True
            )
            emit("user.created", user)
            return user
    except IntegrityError:
        raise InvalidInput({"email": ["An account with this email or username exists."]}) from None


@transaction.atomic
def password_set_by_staff(*, user: User, password: str | None) -> None:
    """Staff set a user's password in the admin, or with None turn password sign-in off: as with
    a reset, every session ends and the user is told. The admin's form has validated it."""
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save(update_fields=["password", "updated_at"])
    sessions_revoke_for_user(user=user, reason=Reason.STAFF)
    queue_email(to=user.email, template="password_changed", context={"name": user.get_full_name()})


@transaction.atomic
def user_deactivate(*, user: User) -> User:
    """Disables sign-in and ends every session and access token at once."""
    user.is_active = False
    user.save(update_fields=["is_active", "updated_at"])
    emit("user.deactivated", user)
    sessions_revoke_for_user(user=user, reason=Reason.ACCOUNT_DISABLED)
    tokens_revoke_for_user(user=user, reason=PersonalAccessToken.RevokeReason.ACCOUNT_DISABLED)
    return user


def user_unlock(*, user: User) -> None:
    failures_clear(user)


# --- avatars ----------------------------------------------------------------------------------


def _avatar_files_delete_on_commit(avatar_id) -> None:
    if avatar_id:
        keys_ = [keys.avatar_key(avatar_id, size) for size in AVATAR_SIZES]
        transaction.on_commit(lambda: storage.delete_keys(keys_))


def avatar_set(*, user: User, data: bytes) -> User:
    """Checks and re-encodes the image (`vod.images`), stores its squares under a new UUID, points
    the user at them, and deletes the previous avatar's files once that is committed. A refused
    image stores nothing."""
    variants = images.square_variants(images.decode(data), AVATAR_SIZES)
    avatar_id = uuid.uuid4()
    files = {keys.avatar_key(avatar_id, size): webp for size, webp in variants.items()}
    storage.save_all(files)
    try:
        with transaction.atomic():
            locked = User.objects.select_for_update().get(pk=user.pk)
            _avatar_files_delete_on_commit(locked.avatar_id)
            locked.avatar_id = avatar_id
            locked.save(update_fields=["avatar_id", "updated_at"])
    except BaseException:
        storage.delete_keys(files)
        raise
    user.avatar_id = avatar_id
    return user


@transaction.atomic
def avatar_delete(*, user: User) -> User:
    locked = User.objects.select_for_update().get(pk=user.pk)
    _avatar_files_delete_on_commit(locked.avatar_id)
    locked.avatar_id = None
    locked.save(update_fields=["avatar_id", "updated_at"])
    user.avatar_id = None
    return user
