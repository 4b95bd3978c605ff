"""JWTs for a device session: both tokens carry the session id (`sid`); the refresh token's
`jti` is recorded on the session so a rotated token can be recognised when it comes back."""

from dataclasses import dataclass
from datetime import UTC, datetime

from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken

SESSION_CLAIM = "sid"


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
    refresh = RefreshToken()
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
    """Verifies signature, algorithm, type and expiry; raises simplejwt's TokenError otherwise."""
    return RefreshToken(raw)  # type: ignore[arg-type]  # simplejwt's hints say Token; it takes the encoded str
