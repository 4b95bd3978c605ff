"""`Authorization: Bearer vod_pat_...`: the DRF authenticator for personal access tokens.

It runs before the JWT authenticator (which refuses any bearer that is not a JWT) and answers
None for every other credential. It is also where each request a token makes is held to the
scope its endpoint declares (see `scopes`): every token passes here, whatever the view's
permission classes. Only the header counts; a token in the query string is never read.
"""

from django.conf import settings
from django.core.cache import cache
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from sessions_app.access_tokens.models import PersonalAccessToken
from sessions_app.access_tokens.scopes import NO_TOKENS, Scope, Undeclared, declared_scope, scope_for_schema
from sessions_app.access_tokens.selectors import token_matching
from sessions_app.access_tokens.services import token_touch
from sessions_app.access_tokens.token_format import PREFIX
from sessions_app.errors import (
    TokenExpired,
    TokenInvalid,
    TokenNotAllowed,
    TokenOwnerInactive,
    TokenRevoked,
    TokenScopeMissing,
)
from vod.client_ip import client_ip
from vod.permissions import withhold_staff_powers

_FAILURES_KEY = "access-token-failures:{ip}"


def _failure_window() -> tuple[int, int]:
    """(attempts, seconds) of ACCESS_TOKEN_FAILURE_RATE, e.g. "20/min"."""
    count, period = settings.ACCESS_TOKEN_FAILURE_RATE.split("/")
    return int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


def _refuse_if_throttled(ip: str) -> None:
    limit, seconds = _failure_window()
    failures = cache.get(_FAILURES_KEY.format(ip=ip), 0)
    if failures >= limit:
        raise exceptions.Throttled(wait=seconds, detail="Too many failed access-token attempts from this address.")


def _count_failure(ip: str) -> None:
    key = _FAILURES_KEY.format(ip=ip)
    _, seconds = _failure_window()
    cache.add(key, 0, timeout=seconds)  # the window starts at the first failure
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds)


def _check_scope(request, token: PersonalAccessToken) -> None:
    view = request.parser_context.get("view") if request.parser_context else None
    try:
        scope = declared_scope(view, request.method)
    except Undeclared:
        raise TokenNotAllowed() from None
    if scope == NO_TOKENS:
        raise TokenNotAllowed()
    if scope is not None and scope not in token.scopes:
        raise TokenScopeMissing(scope)


class PersonalAccessTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].decode("latin-1") != self.keyword or not parts[1].startswith(PREFIX.encode()):
            return None
        ip = client_ip(request) or "unknown"
        _refuse_if_throttled(ip)
        token = token_matching(parts[1].decode("latin-1"))
        refusal = None
        if token is None:
            refusal = TokenInvalid()
        elif token.revoked_at is not None:
            refusal = TokenRevoked()
        elif not token.is_live:
            refusal = TokenExpired()
        elif not token.user.is_active:
            refusal = TokenOwnerInactive()
        if refusal is not None:
            _count_failure(ip)
            raise refusal
        _check_scope(request, token)
        user = token.user
        if Scope.STAFF not in token.scopes:
            withhold_staff_powers(user)
        token_touch(token=token, ip_address=client_ip(request))
        return user, token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class PersonalAccessTokenScheme(OpenApiAuthenticationExtension):
    """The schema's second security scheme; operations that refuse tokens do not list it."""

    target_class = PersonalAccessTokenAuthentication
    name = "personalAccessToken"

    def get_security_requirement(self, auto_schema):
        scope = scope_for_schema(auto_schema.view, auto_schema.method)
        if scope is None or scope == NO_TOKENS:
            return None
        return {self.name: []}

    def get_security_definition(self, auto_schema):
        scopes = ", ".join(f"`{scope}`" for scope in Scope.values)
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "vod_pat_...",
            "description": (
                "A personal access token (`POST /api/v1/me/tokens`). Each operation names the scope it "
                f"needs in `x-token-scope` and its description; scopes: {scopes}."
            ),
        }
