"""Writes for identity: registration, verification, sign-in with lockout, passwords, profiles.

Answers that could tell whether an account exists (register, resend, forgot, login failures) are
the same for both cases, and both cases pay for one password hash so they also take alike.
"""

import hashlib
from datetime import datetime

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.emails import queue_email
from accounts.errors import AccountDisabled, AccountLocked, EmailNotVerified, InvalidCode, InvalidCredentials
from accounts.models import OneTimeCode, User
from accounts.one_time_codes import code_consume, code_issue, code_ttl_minutes
from accounts.selectors import user_by_email, user_by_login, username_taken
from sessions_app.access_tokens.models import PersonalAccessToken
from sessions_app.access_tokens.services import tokens_revoke_for_user
from sessions_app.models import DeviceSession
from sessions_app.services import SignIn, session_start, sessions_revoke_for_user
from videos.catalog.services import videos_delete_for_owner
from vod.exceptions import InvalidInput

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


def lockout_until(failures: int, now: datetime) -> datetime | None:
    """Locked after LOGIN_LOCKOUT_THRESHOLD failures, for a time that doubles with each more."""
    if failures < settings.LOGIN_LOCKOUT_THRESHOLD:
        return None
    doublings = min(failures - settings.LOGIN_LOCKOUT_THRESHOLD, 20)
    return now + min(settings.LOGIN_LOCKOUT_BASE * 2**doublings, settings.LOGIN_LOCKOUT_MAX)


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
    """Mails a new verification code to an unverified account; silently nothing otherwise."""
    user = user_by_email(email)
    if user is None or user.is_verified or not user.is_active or not _cooldown_passed(user, "verify"):
        return
    with transaction.atomic():
        _send_code(user=user, purpose=Purpose.VERIFY_EMAIL, template="verify_email")


def email_verify(*, email: str, code: str, user_agent: str = "", ip_address: str | None = None) -> SignIn:
    """Checks the code, marks the email verified and signs the user in."""
    user = user_by_email(email)
    sign_in = None
    if user is not None and user.is_active:
        with transaction.atomic():
            if code_consume(user=user, purpose=Purpose.VERIFY_EMAIL, code=code):
                user.is_verified = True
                user.save(update_fields=["is_verified", "updated_at"])
                sign_in = session_start(user=user, user_agent=user_agent, ip_address=ip_address)
    if sign_in is None:
        raise InvalidCode()
    return sign_in


# --- sign-in ------------------------------------------------------------------------------------


def _fail_unknown_login(identifier: str, password: str, now: datetime):
    """Counts and locks failures for a name with no account in the cache, on the same schedule as
    an account's, so the answers never tell the two apart."""
    key = "login-failures:" + hashlib.sha256(identifier.strip().lower().encode()).hexdigest()
    state = cache.get(key) or {"failures": 0, "until": None}
    if state["until"] and state["until"] > now.timestamp():
        raise AccountLocked(retry_after=state["until"] - now.timestamp())
    _burn_password_hash(password)
    failures = state["failures"] + 1
    until = lockout_until(failures, now)
    state = {"failures": failures, "until": until.timestamp() if until else None}
    cache.set(key, state, timeout=int(settings.LOGIN_LOCKOUT_MAX.total_seconds()))
    raise InvalidCredentials()


def login(*, identifier: str, password: str, user_agent: str = "", ip_address: str | None = None) -> SignIn:
    """Signs in by email or username. Unknown names fail, and lock, exactly like wrong passwords."""
    now = timezone.now()
    user = user_by_login(identifier)
    if user is None:
        _fail_unknown_login(identifier, password, now)

    if user.locked_until and user.locked_until > now:
        raise AccountLocked(retry_after=(user.locked_until - now).total_seconds())
    if not user.check_password(password):
        with transaction.atomic():
            locked_user = User.objects.select_for_update().get(pk=user.pk)
            locked_user.failed_login_count += 1
            locked_user.locked_until = lockout_until(locked_user.failed_login_count, now)
            locked_user.save(update_fields=["failed_login_count", "locked_until"])
        raise InvalidCredentials()

    if user.failed_login_count or user.locked_until:
        User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
    if not user.is_active:
        raise AccountDisabled()
    if not user.is_verified:
        raise EmailNotVerified()
    return session_start(user=user, user_agent=user_agent, ip_address=ip_address)


# --- passwords ----------------------------------------------------------------------------------


def password_forgot(*, email: str) -> None:
    """Mails a reset code to an active account; silently nothing otherwise."""
    user = user_by_email(email)
    if user is None or not user.is_active or not _cooldown_passed(user, "reset"):
        return
    with transaction.atomic():
        _send_code(user=user, purpose=Purpose.RESET_PASSWORD, template="password_reset")


def password_reset(*, email: str, code: str, new_password: str) -> None:
    """Sets a new password with a reset code, ends every session and clears any lockout."""
    user = user_by_email(email)
    if user is not None:
        _validate_password(new_password, user=user, field="new_password")
    done = False
    if user is not None and user.is_active:
        with transaction.atomic():
            if code_consume(user=user, purpose=Purpose.RESET_PASSWORD, code=code):
                user.set_password(new_password)
                user.is_verified = True  # the code proved they own the address
                user.failed_login_count = 0
                user.locked_until = None
                user.save()
                sessions_revoke_for_user(user=user, reason=Reason.PASSWORD_RESET)
                queue_email(to=user.email, template="password_changed", context={"name": user.get_full_name()})
                done = True
    if not done:
        raise InvalidCode()


@transaction.atomic
def password_change(*, user: User, current_session_id, current_password: str, new_password: str) -> None:
    """Needs the current password; ends every other session."""
    if not user.check_password(current_password):
        raise InvalidInput({"current_password": ["The current password is not correct."]})
    _validate_password(new_password, user=user, field="new_password")
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


@transaction.atomic
def user_delete(*, user: User, password: str) -> None:
    """Deletes the account after checking its password; its sessions end with it, its access
    tokens are deleted with it, and its videos go with their files (storage is cleaned up by a task)."""
    if not user.check_password(password):
        raise InvalidInput({"password": ["The password is not correct."]})
    sessions_revoke_for_user(user=user, reason=Reason.ACCOUNT_DELETED)
    videos_delete_for_owner(owner=user)
    user.delete()


def user_create_by_staff(*, email: str, username: str, password: str, is_staff: bool = False) -> User:
    """An account made by staff is verified from the start."""
    email = User.objects.normalize_email(email.strip())
    if user_by_email(email) is not None:
        raise InvalidInput({"email": ["An account with this email exists."]})
    if username_taken(username):
        raise InvalidInput({"username": ["This username is taken."]})
    _validate_password(password, user=User(email=email, username=username))
    try:
        with transaction.atomic():
            return User.objects.create_user(
                email=email, username=username, password=password, is_staff=is_staff, is_verified=True
            )
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
    sessions_revoke_for_user(user=user, reason=Reason.ACCOUNT_DISABLED)
    tokens_revoke_for_user(user=user, reason=PersonalAccessToken.RevokeReason.ACCOUNT_DISABLED)
    return user


def user_unlock(*, user: User) -> None:
    User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
