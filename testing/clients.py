"""API clients for tests, signed in the way real clients are, and the error shape their answers must have."""

from rest_framework.test import APIClient

from accounts.models import User
from sessions_app.access_tokens.models import PersonalAccessToken
from sessions_app.access_tokens.services import token_create
from sessions_app.models import DeviceSession
from sessions_app.services import session_start
from sessions_app.tokens import TokenPair


class SignedInClient(APIClient):
    user: User
    device_session: DeviceSession
    tokens: TokenPair


def signed_in_client(user: User, user_agent: str = "pytest") -> SignedInClient:
    """An API client with a real device session for `user` (`.user`, `.device_session`, `.tokens`)."""
    sign_in = session_start(user=user, user_agent=user_agent, ip_address="127.0.0.1")
    client = SignedInClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in.tokens.access}")
    client.user, client.device_session, client.tokens = user, sign_in.session, sign_in.tokens
    return client


def assert_error(response, status: int, code: str) -> dict:
    """The API's one error shape: this status and stable code, a message, and the request's id."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body["code"] == code, body
    assert body["message"], body
    assert body["request_id"] == response["X-Request-ID"], body
    return body


class TokenClient(APIClient):
    user: User
    access_token: PersonalAccessToken
    plaintext: str


def token_client(user: User, scopes, **options) -> TokenClient:
    """An API client that sends a real personal access token of `user` (`.user`, `.access_token`, `.plaintext`)."""
    issued = token_create(user=user, name=options.pop("name", "pytest"), scopes=list(scopes), **options)
    client = TokenClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.plaintext}")
    client.user, client.access_token, client.plaintext = user, issued.token, issued.plaintext
    return client
