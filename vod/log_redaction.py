"""Keeps credentials carried in URLs out of logs: playback tokens (a path segment), part-upload
tokens and presigned S3 signatures (query parameters). Used by the request log, a filter on every
log handler, and gunicorn's access-log formatter, so a log reader cannot replay a URL."""

import logging
import re

REDACTED = "[redacted]"
# Query parameters whose values are credentials (compared case-insensitively).
SENSITIVE_PARAMS = ("token", "signature", "x-amz-signature", "x-amz-credential", "x-amz-security-token")
_PARAM = re.compile(r"(?P<lead>[?&;])(?P<name>" + "|".join(map(re.escape, SENSITIVE_PARAMS)) + r")=[^&;#\s\"']*", re.I)
# `playback/{token}/...`: the token is a signed value, carried in the path so players need no query.
_PLAYBACK_TOKEN = re.compile(r"(?P<lead>/playback/)[^/?#\s\"']+(?=/)")


def redact_url(url: str) -> str:
    """The URL (or a path, or a log line holding URLs) with credential values replaced by
    `[redacted]`; everything else is left byte for byte."""
    url = _PLAYBACK_TOKEN.sub(lambda m: m["lead"] + REDACTED, url)
    return _PARAM.sub(lambda m: f"{m['lead']}{m['name']}={REDACTED}", url)


class RedactingLogFilter(logging.Filter):
    """Redacts the formatted message of every record (Django's own "Not Found: /path" lines too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_url(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
