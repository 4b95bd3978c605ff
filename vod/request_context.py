"""Request ids: one per request, echoed in `X-Request-ID`, stamped on every log line and error;
and the log filter that keeps what a client sent wrong out of ERROR."""

import logging
import re
import time
import uuid
from contextvars import ContextVar

from vod.log_redaction import redact_url

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's id is kept only when it is short and plain, so it cannot forge log lines.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

logger = logging.getLogger("vod.request")


def current_request_id() -> str:
    return request_id_var.get()


class RequestIdMiddleware:
    """Takes the caller's `X-Request-ID` when valid, else makes one, and logs each request once."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            path = redact_url(request.path)  # playback tokens ride in the path
            logger.info(
                "%s %s %s",
                request.method,
                path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


def install_log_record_factory() -> None:
    """Stamps the current request id on every log record when it is created, whatever handler
    later formats it (console, test capture, Celery)."""
    make_record = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = make_record(*args, **kwargs)
        record.request_id = request_id_var.get()
        return record

    logging.setLogRecordFactory(factory)


class RequestIdLogFilter(logging.Filter):
    """Supplies `request_id` to records made before the factory above was installed."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class ClientErrorLogFilter(logging.Filter):
    """Logs a SuspiciousOperation (oversized body, bad Host) as a one-line warning: Django logs it
    at ERROR with a traceback, which would page someone for what a client sent."""

    def filter(self, record) -> bool:
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        record.exc_info = record.exc_text = None
        return True
