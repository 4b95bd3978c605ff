"""The project's routes plus `bench/ping`: plain Django, the most any endpoint can do on this stack."""

from django.http import JsonResponse
from django.urls import include, path

from vod.urls import handler400, handler403, handler404, handler500  # noqa: F401 (same error pages)


def ping(request) -> JsonResponse:
    return JsonResponse({"pong": True})


urlpatterns = [path("bench/ping", ping), path("", include("vod.urls"))]
