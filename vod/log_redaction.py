"""Secrets that travel in URLs (signed part and playback queries, presigned S3 queries) are kept
out of logs: `redact_url` blanks their values and leaves the rest of the URL readable."""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SECRET_QUERY_PARAMS = frozenset(
    name.lower() for name in ("token", "signature", "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token")
)
REDACTED = "[redacted]"


def redact_url(url: str) -> str:
    """The URL with the values of secret query parameters replaced by `[redacted]`."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    redacted = [(name, REDACTED if name.lower() in SECRET_QUERY_PARAMS else value) for name, value in pairs]
    return urlunsplit(parts._replace(query=urlencode(redacted, safe="[]")))
