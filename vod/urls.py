"""Top-level routes: the versioned API, its schema and docs, health probes, and the admin."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from vod import health
from vod.api_views import api_not_found

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("accounts.subscriptions.urls")),
    path("", include("sessions_app.urls")),
    path("", include("videos.urls")),
    path("", include("webhooks.urls")),
]

urlpatterns = [
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    # Anything else under /api/ is an unknown route: answer in the API's error format.
    re_path(r"^api/", api_not_found),
    path("health/live", health.LiveView.as_view(), name="health-live"),
    path("health/ready", health.ReadyView.as_view(), name="health-ready"),
    path("admin/", admin.site.urls),
]

if settings.DEBUG and settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "vod.exception_handlers.bad_request"
handler403 = "vod.exception_handlers.permission_denied"
handler404 = "vod.exception_handlers.page_not_found"
handler500 = "vod.exception_handlers.server_error"
