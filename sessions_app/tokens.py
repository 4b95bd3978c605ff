"""JWTs for a device session: both tokens carry the session id (`sid`); the refresh token's
`jti` is recorded on the session so a rotated token can be recognised when it comes back."""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

SESSION_CLAIM = "sid"


class RotatingTokenBackend(TokenBackend):
    """Signs with the current key (SIMPLE_JWT["SIGNING_KEY"]); verifies with it, then with each of
    JWT_SIGNING_KEY_FALLBACKS, so rotating the key does not sign out every user (their next refresh
    gets current-key tokens). Keys are read from Django's settings at each use, not at import as
    simplejwt's own backend does."""

    def __init__(self, signing_key: str | None = None):
        super().__init__(
            api_settings.ALGORITHM,
            signing_key or settings.SIMPLE_JWT["SIGNING_KEY"],
            api_settings.VERIFYING_KEY,
            api_settings.AUDIENCE,
            api_settings.ISSUER,
            None,
            api_settings.LEEWAY,
            api_settings.JSON_ENCODER,
        )

    def decode(self, token, verify: bool = True) -> dict:
        try:
            return super().decode(token, verify=verify)
        except TokenBackendExpiredToken:
            raise
        except TokenBackendError:
            for key in settings.JWT_SIGNING_KEY_FALLBACKS:
                try:
                    return TokenBackend.decode(RotatingTokenBackend(key), token, verify=verify)
                except TokenBackendExpiredToken:
                    raise
                except TokenBackendError:
                    continue
            raise


class SessionAccessToken(AccessToken):
    """The access token the API accepts (SIMPLE_JWT["AUTH_TOKEN_CLASSES"]), verified with fallbacks."""

    @property
    def token_backend(self) -> TokenBackend:
        return RotatingTokenBackend()


class SessionRefreshToken(RefreshToken):
    """The refresh token of a device session, verified with fallbacks; its access tokens are ours."""

    access_token_class = SessionAccessToken

    @property
    def token_backend(self) -> TokenBackend:
        return RotatingTokenBackend()


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    access_expires_at: datetime
    refresh_expires_at: datetime
    refresh_jti: str


def _expiry(token) -> datetime:
    return datetime.fromtimestamp(token["exp"], tz=UTC)


def mint_token_pair(*, user_id, session_id, session_expires_at: datetime) -> TokenPair:
    refresh = SessionRefreshToken()
    refresh[api_settings.USER_ID_CLAIM] = str(user_id)
    refresh[SESSION_CLAIM] = str(session_id)
    # A refresh token never outlives its session's absolute expiry.
    refresh["exp"] = min(refresh["exp"], int(session_expires_at.timestamp()))
    access = refresh.access_token
    return TokenPair(
        access=str(access),
        refresh=str(refresh),
        access_expires_at=_expiry(access),
        refresh_expires_at=_expiry(refresh),
        refresh_jti=refresh[api_settings.JTI_CLAIM],
    )


def read_refresh_token(raw: str) -> RefreshToken:
    """Verifies signature (current key or a fallback), algorithm, type and expiry; raises
    simplejwt's TokenError otherwise."""
    return SessionRefreshToken(raw)  # type: ignore[arg-type]  # simplejwt's hints say Token; it takes the encoded str
