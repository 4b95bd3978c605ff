"""Staff powers in the API follow Django's model permissions, as the admin does: a member of
"Content editors" manages every video but cannot list or change users. Superusers hold every
permission; a user without `is_staff` never has staff powers (and costs no permission query)."""

from typing import TYPE_CHECKING, cast

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

if TYPE_CHECKING:
    from accounts.models import User

_WITHHELD = "_staff_powers_withheld"


def withhold_staff_powers(user) -> None:
    """For a credential that must not carry staff powers (an access token without the `staff`
    scope): this user object, the request's, answers False to staff_may. The row is untouched."""
    setattr(user, _WITHHELD, True)


def staff_may(user, permission: str) -> bool:
    """True for active staff who hold `permission` ("app_label.codename")."""
    if getattr(user, _WITHHELD, False):
        return False
    return bool(user and user.is_authenticated and user.is_active and user.is_staff and user.has_perm(permission))


class StaffModelPermissions(BasePermission):
    """Staff holding the permission the view names for the action (`staff_permissions`)."""

    def has_permission(self, request, view) -> bool:
        permission = view.staff_permissions.get(view.action)
        return permission is not None and staff_may(request.user, permission)


def request_user(request: Request) -> "User | None":
    """The signed-in user of an API request, or None (the API has no AnonymousUser:
    UNAUTHENTICATED_USER is None)."""
    return cast("User | None", request.user)


def signed_in_user(request: Request) -> "User":
    """The user of a request that IsAuthenticated let through."""
    return cast("User", request.user)
