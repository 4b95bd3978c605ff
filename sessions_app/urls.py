from django.urls import path
from rest_framework.routers import SimpleRouter

from sessions_app.access_tokens.views import AccessTokenViewSet
from sessions_app.views import SessionViewSet

router = SimpleRouter(trailing_slash=False)
router.register("me/tokens", AccessTokenViewSet, basename="access-token")

urlpatterns = [
    path("sessions", SessionViewSet.as_view({"get": "list", "delete": "destroy_others"}), name="session-list"),
    path(
        "sessions/<uuid:pk>",
        SessionViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
        name="session-detail",
    ),
    *router.urls,
]
