from django.urls import path

from sessions_app.views import SessionViewSet

urlpatterns = [
    path("sessions", SessionViewSet.as_view({"get": "list", "delete": "destroy_others"}), name="session-list"),
    path(
        "sessions/<uuid:pk>",
        SessionViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
        name="session-detail",
    ),
]
