"""Scope enforcement, table-driven from the URL conf: every endpoint that accepts access tokens
declares a scope (or refuses tokens), and a real request proves each declaration is the gate.

A new endpoint without a declaration fails `test_every_endpoint_taking_tokens_declares_its_scope`
with its method, path, view and action; add it to the view's `token_scopes`.
"""

import re
import uuid

import pytest
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.schemas.generators import EndpointEnumerator
from rest_framework.test import APIRequestFactory
from rest_framework.viewsets import GenericViewSet

from accounts.tests.factories import UserFactory
from sessions_app.access_tokens.authentication import PersonalAccessTokenAuthentication
from sessions_app.access_tokens.scopes import NO_TOKENS, Scope, Undeclared, declared_scope
from testing.clients import assert_error, token_client

pytestmark = pytest.mark.django_db


def _view_for(callback, method: str):
    """The view instance DRF would build for this route and method (with the route's own
    `authentication_classes`, which @action arguments may change)."""
    view = callback.cls(**getattr(callback, "initkwargs", {}))
    actions = getattr(callback, "actions", None)
    if actions is not None:
        view.action_map = actions
        view.action = actions.get(method.lower())
    return view


def _token_endpoints():
    """(method, path, view) for every route and method that an access token can authenticate."""
    for path, method, callback in EndpointEnumerator().get_api_endpoints():
        if not path.startswith("/api/"):
            continue
        view = _view_for(callback, method)
        if any(isinstance(auth, PersonalAccessTokenAuthentication) for auth in view.get_authenticators()):
            yield method, path, view


def _name(view) -> str:
    return f"{type(view).__name__}.{getattr(view, 'action', None) or '-'}"


def _scope(view, method):
    try:
        return declared_scope(view, method)
    except Undeclared:
        return None


ENDPOINTS = sorted((method, path, _scope(view, method), _name(view)) for method, path, view in _token_endpoints())
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _url(path: str) -> str:
    fixed = {"number": "1", "item": "1", "username": "nobody"}  # not UUIDs in their routes
    return re.sub(r"\{(\w+)\}", lambda m: fixed.get(m.group(1)) or str(uuid.uuid4()), path)


def _call(client, method: str, path: str):
    return getattr(client, method.lower())(_url(path), {}, format="json")


def test_the_table_covers_the_api():
    # then: the walk found the endpoints (it must not pass by finding nothing)
    paths = {path for _, path, _, _ in ENDPOINTS}
    assert {"/api/v1/videos", "/api/v1/me/tokens", "/api/v1/sessions", "/api/v1/users/me"} <= paths
    assert sum(method in WRITE_METHODS for method, *_ in ENDPOINTS) >= 15


def test_every_endpoint_taking_tokens_declares_its_scope():
    # when
    missing = [f"{method} {path} -> {name}" for method, path, scope, name in ENDPOINTS if scope is None]

    # then
    assert not missing, (
        "These endpoints accept personal access tokens but declare no scope; add the action to the "
        "view's `token_scopes` (a Scope, or NO_TOKENS for credential management):\n  " + "\n  ".join(missing)
    )


@pytest.fixture
def owner():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.mark.parametrize(
    ("method", "path", "scope", "name"),
    [row for row in ENDPOINTS if row[2] not in (None, NO_TOKENS)],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_token_without_the_declared_scope_is_refused_and_with_it_passes(owner, method, path, scope, name):
    # given
    without = token_client(owner, [s for s in Scope.values if s != scope])
    only = token_client(owner, [scope])

    # when
    refused = _call(without, method, path)
    allowed = _call(only, method, path)

    # then
    body = assert_error(refused, 403, "token_scope_missing")
    assert f"`{scope}`" in body["message"], (name, body)
    assert allowed.status_code < 500, (name, allowed.content)
    if allowed.status_code == 403:
        assert allowed.json()["code"] not in ("token_scope_missing", "token_not_allowed"), (name, allowed.content)


@pytest.mark.parametrize(
    ("method", "path", "scope", "name"),
    [row for row in ENDPOINTS if row[2] == NO_TOKENS],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_credential_management_refuses_every_token(owner, method, path, scope, name):
    # given: a token with every scope there is
    client = token_client(owner, Scope.values)

    # when
    response = _call(client, method, path)

    # then
    assert_error(response, 403, "token_not_allowed")


def test_tokens_never_manage_tokens_sessions_passwords_email_or_the_account():
    # then: the credential endpoints are in the NO_TOKENS part of the table
    refused = {(method, path) for method, path, scope, _ in ENDPOINTS if scope == NO_TOKENS}
    assert {
        ("GET", "/api/v1/me/tokens"),
        ("POST", "/api/v1/me/tokens"),
        ("DELETE", "/api/v1/me/tokens/{pk}"),
        ("POST", "/api/v1/me/tokens/{pk}/rotate"),
        ("GET", "/api/v1/sessions"),
        ("DELETE", "/api/v1/sessions"),
        ("DELETE", "/api/v1/sessions/{pk}"),
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/auth/logout-all"),
        ("POST", "/api/v1/auth/password/change"),
        ("PATCH", "/api/v1/users/me"),
        ("DELETE", "/api/v1/users/me"),
    } <= refused


class NewFeatureViewSet(GenericViewSet):
    """An endpoint someone adds without declaring a scope."""

    @action(detail=False, methods=["post"])
    def publish(self, request):
        return Response({"published": True})


def test_an_undeclared_action_names_itself_and_refuses_tokens_at_run_time(owner):
    # given
    client = token_client(owner, Scope.values)
    view = NewFeatureViewSet.as_view({"post": "publish"})
    request = APIRequestFactory().post("/x", {}, format="json", HTTP_AUTHORIZATION=f"Bearer {client.plaintext}")

    # when
    response = view(request)

    # then
    assert response.status_code == 403
    assert response.data["code"] == "token_not_allowed"
    with pytest.raises(Undeclared, match=r"NewFeatureViewSet\.publish \(POST\)"):
        declared_scope(_view_for(view, "POST"), "POST")
