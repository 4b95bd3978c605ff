"""JSON log lines with ISO-8601 times (UTC, milliseconds): the app's (LOGGING) and gunicorn's
(vod/gunicorn_conf.py) alike, so one parser reads every line a container writes."""

import logging
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter

RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}


class IsoJsonFormatter(JsonFormatter):
    """python-json-logger's formatter with `time` as ISO 8601 (`2026-01-31T12:00:00.123+00:00`)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("rename_fields", RENAMED)
        super().__init__(*args, **kwargs)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")
