"""The token's text: `vod_pat_` + 32 random bytes in base62 + a CRC32 checksum in base62.

The checksum lets a mistyped or truncated token be refused before any query, and the fixed
prefix lets secret scanners recognise a leaked one. Tokens are stored as an HMAC-SHA256 keyed by
TOKEN_PEPPER: their 256 bits of entropy make a slow password hash pointless (and a DoS lever).
"""

import hashlib
import hmac
import secrets
import string
import zlib

from django.conf import settings

PREFIX = "vod_pat_"
ALPHABET = string.digits + string.ascii_letters  # base62: no characters that need escaping anywhere
SECRET_BYTES = 32
SECRET_CHARS = 43  # 62**43 > 2**256
CHECKSUM_CHARS = 6  # 62**6 > 2**32
LENGTH = len(PREFIX) + SECRET_CHARS + CHECKSUM_CHARS
LOOKUP_CHARS = len(PREFIX) + 8  # the indexed, displayable start of a token: 47 of its 256 bits


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, digit = divmod(number, 62)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits)).rjust(width, ALPHABET[0])


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_CHARS)


def token_generate() -> str:
    body = PREFIX + _base62(int.from_bytes(secrets.token_bytes(SECRET_BYTES), "big"), SECRET_CHARS)
    return body + _checksum(body)


def token_well_formed(token: str) -> bool:
    """Prefix, length, alphabet and checksum; true only for text token_generate could have made."""
    if len(token) != LENGTH or not token.startswith(PREFIX):
        return False
    body, checksum = token[:-CHECKSUM_CHARS], token[-CHECKSUM_CHARS:]
    if not all(char in ALPHABET for char in token[len(PREFIX) :]):
        return False
    return hmac.compare_digest(checksum, _checksum(body))


def lookup_prefix(token: str) -> str:
    return token[:LOOKUP_CHARS]


def token_digest(token: str) -> str:
    """The stored form: HMAC-SHA256 of the whole token keyed by TOKEN_PEPPER (hex)."""
    return hmac.new(settings.TOKEN_PEPPER.encode(), token.encode("ascii"), hashlib.sha256).hexdigest()
