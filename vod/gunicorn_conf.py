"""Gunicorn settings of the image (`gunicorn -c python:vod.gunicorn_conf vod.wsgi:application`).

Threaded workers (gthread): a long streamed PUT occupies one thread while the worker's main loop
keeps answering the arbiter, so `timeout` only catches a hung worker, never a slow upload. If a
worker is aborted all the same, the upload service deletes the partial object
(videos/uploads/services.py). The single PUT is for small files; large ones go as resumable
uploads straight to storage.

Logs are JSON lines like the app's, with ISO-8601 times (vod/log_format.py). The app already logs
one line per request (vod/request_context.py), so gunicorn's access log is off: that line is the
one access log. GUNICORN_ACCESS_LOG=- turns gunicorn's on (e.g. to see requests the app never
answered); its URLs then pass through vod.log_redaction.redact_url."""

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

_HANDLER = {
    "class": "logging.StreamHandler",
    "formatter": "json",
    "filters": ["redact"],
    "stream": "ext://sys.stdout",
}
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "vod.log_redaction.RedactingLogFilter"}},
    "formatters": {
        "json": {"()": "vod.log_format.IsoJsonFormatter", "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"stdout": _HANDLER},
    "loggers": {
        "gunicorn.error": {"handlers": ["stdout"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["stdout"], "level": loglevel.upper()},
}


class JsonLogger(Logger):
    """Gunicorn's logger with an opt-in, redacted, structured access line."""

    def access(self, resp, req, environ, request_time) -> None:
        # Gunicorn writes access lines whenever a logging config is given; only when asked, here.
        if not self.cfg.accesslog:
            return
        from vod.log_redaction import redact_url

        status = str(resp.status).split(None, 1)[0]
        url = redact_url(environ.get("RAW_URI", ""))
        self.access_log.log(
            logging.INFO,
            "%s %s %s",
            environ.get("REQUEST_METHOD"),
            url,
            status,
            extra={
                "method": environ.get("REQUEST_METHOD"),
                "url": url,
                "status": int(status),
                "duration_ms": round(request_time.total_seconds() * 1000, 1),
                "remote_addr": environ.get("REMOTE_ADDR", "-"),
            },
        )


logger_class = JsonLogger
