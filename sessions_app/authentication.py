"""Bearer JWT authentication that also requires the token's device session to be alive, and the
session a request authenticated with."""

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.tokens import Token

from sessions_app.selectors import session_is_active
from sessions_app.services import session_touch
from sessions_app.tokens import SESSION_CLAIM


class SessionJWTAuthentication(JWTAuthentication):
    """An access token is refused as soon as its session is revoked or expired, not at `exp`."""

    def authenticate(self, request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        session_id = token.payload.get(SESSION_CLAIM)
        if not session_id or not session_is_active(session_id=session_id, user_id=user.pk):
            raise AuthenticationFailed("This session has ended; sign in again.", code="session_revoked")
        session_touch(session_id=session_id)
        return user, token


class SessionJWTScheme(SimpleJWTScheme):
    """Documents SessionJWTAuthentication in the schema as the bearer JWT it is."""

    target_class = "sessions_app.authentication.SessionJWTAuthentication"


def current_session_id(request: Request) -> str | None:
    """The id of the device session whose access token authenticated the request (None if none did,
    e.g. a personal access token)."""
    token: Any = request.auth  # the AccessToken SessionJWTAuthentication accepted, a PAT, or None
    return token.get(SESSION_CLAIM) if isinstance(token, Token) else None
