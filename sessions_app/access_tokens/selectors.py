"""Reads of access tokens: the owner's list, and finding the row a presented token belongs to."""

import hmac

from django.db.models import QuerySet

from sessions_app.access_tokens.models import PersonalAccessToken
from sessions_app.access_tokens.token_format import lookup_prefix, token_digest, token_well_formed


def tokens_of_user(*, user) -> QuerySet[PersonalAccessToken]:
    """Every token of the user, live or not (the list shows revoked and expired ones too)."""
    return PersonalAccessToken.objects.filter(user=user)


def token_matching(token: str) -> PersonalAccessToken | None:
    """The row whose keyed hash is the token's, compared in constant time; None for text that is
    malformed or fails its checksum (no query then) or matches no row. Revoked and expired rows
    are returned: the caller says which it is."""
    if not token_well_formed(token):
        return None
    digest = token_digest(token)
    candidates = PersonalAccessToken.objects.select_related("user").filter(prefix=lookup_prefix(token))
    for candidate in candidates:
        if hmac.compare_digest(candidate.secret_hash, digest):
            return candidate
    return None
