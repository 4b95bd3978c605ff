"""Secrets at rest: Fernet keyed by a purpose-specific setting, or derived from SECRET_KEY (and
SECRET_KEY_FALLBACKS, so stored secrets stay readable while SECRET_KEY is rotated)."""

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac


def _fernet_key(secret: str, salt: str) -> bytes:
    digest = salted_hmac(salt, "", secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest)


def _fernet(*, key: str, salt: str) -> MultiFernet:
    keys = [key] if key else [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet([Fernet(_fernet_key(each, salt)) for each in keys])


def encrypt(value: str, *, key: str, salt: str) -> str:
    """`key`: the purpose's own setting (empty: derived from SECRET_KEY); `salt` separates purposes."""
    return _fernet(key=key, salt=salt).encrypt(value.encode()).decode()


def decrypt(encrypted: str, *, key: str, salt: str) -> str:
    """The plaintext, or "" when no key in use can read it (the key changed without a fallback)."""
    try:
        return _fernet(key=key, salt=salt).decrypt(encrypted.encode()).decode()
    except InvalidToken:
        return ""


def reencrypt(encrypted: str, *, key: str, salt: str) -> str | None:
    """The value encrypted again with the key in use (the purpose's own, else SECRET_KEY), or None
    when no key in use can read it: after this, the old key may leave SECRET_KEY_FALLBACKS."""
    try:
        return _fernet(key=key, salt=salt).rotate(encrypted.encode()).decode()
    except InvalidToken:
        return None
