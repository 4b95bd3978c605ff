"""Reads of users."""

from collections.abc import Callable

from django.conf import settings
from django.db.models import Q, QuerySet
from django.urls import reverse

from accounts.lockout import canonical_name
from accounts.models import AVATAR_SIZES, User
from videos import keys


def user_by_email(email: str) -> User | None:
    if "\x00" in email:  # unvalidated input (throttles look up first); PostgreSQL text holds no NUL
        return None
    return User.objects.filter(email__iexact=email.strip()).first()


def user_by_login(identifier: str) -> User | None:
    """An email when it has an @ (usernames cannot), else a username; both case-insensitive."""
    identifier = identifier.strip()
    if "\x00" in identifier:
        return None
    if "@" in identifier:
        return user_by_email(identifier)
    return User.objects.filter(username__iexact=identifier).first()


def username_taken(username: str, *, exclude_user_id=None) -> bool:
    users = User.objects.filter(username__iexact=username.strip())
    if exclude_user_id:
        users = users.exclude(pk=exclude_user_id)
    return users.exists()


def users_search(*, query: str = "") -> QuerySet[User]:
    users = User.objects.order_by("-created_at")
    if query:
        users = users.filter(
            Q(email__icontains=query) | Q(username__icontains=query) | Q(display_name__icontains=query)
        )
    return users


def account_key(identifier: str) -> str:
    """One key for every spelling that reaches one account: the account's id when the login lookup
    finds it (so case and Unicode look-alikes the database matches share it), else the name's
    canonical form."""
    user = user_by_login(identifier)
    return f"user:{user.pk}" if user is not None else f"name:{canonical_name(identifier)}"


def avatar_exists(avatar_id) -> bool:
    return User.objects.filter(avatar_id=avatar_id, is_active=True).exists()


def avatar_urls(user: User, *, build_absolute_uri: Callable[[str], str] | None = None) -> dict[str, str] | None:
    """The user's avatar by size ("64", "256", "512"), or None without one: public URLs, under
    PLAYBACK_PUBLIC_BASE_URL when set, else the API's (absolute with `build_absolute_uri`). For any
    representation that shows a user (profile, channel)."""
    if not user.avatar_id:
        return None
    urls = {}
    for size in AVATAR_SIZES:
        if settings.PLAYBACK_PUBLIC_BASE_URL:
            url = settings.PLAYBACK_PUBLIC_BASE_URL.rstrip("/") + "/" + keys.avatar_key(user.avatar_id, size)
        else:
            url = reverse("v1:avatar-file", kwargs={"avatar_id": user.avatar_id, "size": size})
            url = build_absolute_uri(url) if build_absolute_uri else url
        urls[str(size)] = url
    return urls
