"""Gunicorn settings of the image (`gunicorn -c python:vod.gunicorn_conf vod.wsgi:application`).

Threaded workers (gthread): a long streamed PUT occupies one thread while the worker keeps
answering its heartbeat, so `timeout` only catches a hung worker, never a slow upload. Logs are
JSON lines like the app's, with ISO-8601 times. The app already logs one line per request
(vod.request_context), so gunicorn's access log stays off unless GUNICORN_ACCESS_LOG names a
destination, and then it redacts tokens and signatures from the URL."""

import logging
import os

from gunicorn.glogging import Logger

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))  # a silent (hung) worker, not a request
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "60"))  # in-flight uploads on redeploy
keepalive = 5
control_socket_disable = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

ISO_8601 = "%Y-%m-%dT%H:%M:%S%z"
_JSON = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
    "datefmt": ISO_8601,
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
}
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": _JSON},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
    "loggers": {
        "gunicorn.error": {"handlers": ["stdout"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["stdout"], "level": loglevel.upper()},
}


class JsonLogger(Logger):
    """Gunicorn's logger with an opt-in, redacted, structured access line."""

    def access(self, resp, req, environ, request_time) -> None:
        if not self.cfg.accesslog:
            return
        from vod.log_redaction import redact_url

        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        uri = redact_url(environ.get("RAW_URI", ""))
        self.access_log.log(
            logging.INFO,
            "%s %s %s",
            environ.get("REQUEST_METHOD"),
            uri,
            status,
            extra={
                "method": environ.get("REQUEST_METHOD"),
                "url": uri,
                "status": int(status),
                "duration_ms": round(request_time.total_seconds() * 1000, 1),
                "remote_addr": environ.get("REMOTE_ADDR", "-"),
            },
        )


logger_class = JsonLogger
