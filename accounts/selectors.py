"""Reads of users."""

from django.db.models import Q, QuerySet

from accounts.models import User


def user_by_email(email: str) -> User | None:
    return User.objects.filter(email__iexact=email.strip()).first()


def user_by_login(identifier: str) -> User | None:
    """An email when it has an @ (usernames cannot), else a username; both case-insensitive."""
    identifier = identifier.strip()
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
