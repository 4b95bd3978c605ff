"""Shared ViewSet settings."""

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class UUIDLookupMixin:
    """Routes only UUID-shaped ids to the view; anything else is an unknown route (404)."""

    lookup_value_regex = UUID_PATTERN
