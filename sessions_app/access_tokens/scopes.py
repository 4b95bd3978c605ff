"""Token scopes, and the one rule that reads the scope each endpoint declares.

A view declares its scopes in one place, `token_scopes`: action (or, for a plain APIView, the
lowercase HTTP method) -> a Scope, NO_TOKENS, or {HTTP method: either} where one action answers
several methods with different needs. The token authenticator enforces it on every request a
token makes, so no view can forget it: a view that replaces `permission_classes` (AllowAny, staff
permissions) still cannot take a token past its scope, and an action nobody declared refuses
tokens (`token_not_allowed`). `test_token_scopes` walks the URL conf so an undeclared endpoint
fails the suite, naming the view and action.
"""

from django.db import models


class Scope(models.TextChoices):
    VIDEOS_READ = "videos:read", "Read the catalog and my videos"
    VIDEOS_WRITE = "videos:write", "Create, edit, upload, transcode and delete my videos"
    PLAYBACK = "playback", "Play videos, report views and progress, read and clear my history"
    LIBRARY_WRITE = "library:write", "Playlists, ratings and follows"
    ACCOUNT_READ = "account:read", "Read my profile"
    WEBHOOKS_MANAGE = "webhooks:manage", "Manage webhook endpoints"
    STAFF = "staff", "Staff: my model permissions in the API (staff only)"


# Credentials and the account itself (tokens, sessions, passwords, email, 2FA, deletion) are
# managed only with a password sign-in, never with a token.
NO_TOKENS = "no-tokens"

# Actions that run nothing a scope could guard: OPTIONS metadata, and a method the view does not
# route (DRF answers 405 after authentication).
_UNGUARDED = {"metadata", None}


class Undeclared(LookupError):
    """The view says nothing about tokens for this action."""


def declared_scope(view, method: str) -> str | None:
    """The Scope or NO_TOKENS the view declares for its current action and `method`; None for an
    action that runs nothing; raises Undeclared when the view did not say."""
    action = getattr(view, "action", None) if hasattr(view, "action_map") else method.lower()
    if action in _UNGUARDED:
        return None
    declared = getattr(view, "token_scopes", {}).get(action)
    if isinstance(declared, dict):
        declared = declared.get(method.upper())
    if declared is None:
        raise Undeclared(f"{type(view).__name__}.{action} ({method.upper()})")
    return declared


def scope_for_schema(view, method: str) -> str | None:
    """What the schema shows: the scope, NO_TOKENS, or None (undeclared or unguarded)."""
    try:
        return declared_scope(view, method)
    except Undeclared:
        return None
