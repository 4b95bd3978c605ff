"""Liveness and readiness probes for load balancers and orchestrators.

`ready` checks every backing service the API needs and answers 503 naming the parts that are
down; details go to the log, not the response, since the probe is public.
"""

import logging
import os
from pathlib import Path

from django.core.cache import cache
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from vod.celery import app as celery_app
from vod.exception_handlers import error_body
from vod.exceptions import ServiceUnavailable
from vod.openapi import ErrorSerializer

logger = logging.getLogger(__name__)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_cache() -> None:
    cache.set("health:ready", "1", timeout=10)
    if cache.get("health:ready") != "1":
        raise RuntimeError("cache did not return the value just written")


def check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.5, timeout=3)


def check_storage() -> None:
    """The bucket (or media folder) answers. A media folder that does not exist yet is fine when
    it can be created: the storage makes it on the first save."""
    try:
        default_storage.listdir("")
    except FileNotFoundError:
        if not isinstance(default_storage, FileSystemStorage):
            raise
        parent = Path(default_storage.location).parent
        while not parent.exists():
            parent = parent.parent
        if not (parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)):
            raise


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "storage": check_storage,
}

CHECK_STATUSES = ["ok", "unavailable"]
_ChecksSerializer = inline_serializer(
    "HealthChecks", {name: serializers.ChoiceField(CHECK_STATUSES) for name in CHECKS}
)


class LiveView(APIView):
    """The process is up and answering."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        tags=["health"],
        responses=inline_serializer("Live", {"status": serializers.CharField()}),
    )
    def get(self, request) -> Response:
        return Response({"status": "ok"})


class ReadyView(APIView):
    """Database, cache, broker and storage all reachable."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        tags=["health"],
        responses={
            200: inline_serializer("Ready", {"status": serializers.CharField(), "checks": _ChecksSerializer}),
            503: inline_serializer(
                "NotReady",
                {
                    **ErrorSerializer().get_fields(),
                    "checks": _ChecksSerializer,
                },
            ),
        },
    )
    def get(self, request) -> Response:
        results = {}
        for name, check in CHECKS.items():
            try:
                check()
            except Exception as exc:  # one line per failed check: probes repeat, tracebacks would flood the log
                logger.warning("readiness check failed: %s: %s: %s", name, type(exc).__name__, exc)
                results[name] = "unavailable"
            else:
                results[name] = "ok"
        down = [name for name, result in results.items() if result != "ok"]
        if down:
            body = error_body(ServiceUnavailable.code, f"Not ready: {', '.join(down)} unavailable.")
            response = Response({**body, "checks": results}, status=ServiceUnavailable.status_code)
            response._has_been_logged = True  # type: ignore[attr-defined]  # logged above; not again by django.request
            return response
        return Response({"status": "ok", "checks": results})


class HealthProbeMiddleware:
    """Answers the probes before host validation and the rest of the stack: an orchestrator calls
    them by container address or `localhost`, which ALLOWED_HOSTS rightly does not list, and
    plain http is fine for them. Goes right after the request-id middleware."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.views = {"/health/live": LiveView.as_view(), "/health/ready": ReadyView.as_view()}

    def __call__(self, request):
        view = self.views.get(request.path_info.rstrip("/"))
        if view is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        response = view(request)
        return response.render() if hasattr(response, "render") else response
