"""Reads of users."""

from django.db.models import Q, QuerySet

from accounts.lockout import canonical_name
from accounts.models import User


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
