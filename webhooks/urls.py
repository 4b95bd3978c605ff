from django.urls import path
from rest_framework.routers import SimpleRouter

from webhooks.views import EventTypeView, WebhookEndpointViewSet

router = SimpleRouter(trailing_slash=False)
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")

urlpatterns = [
    path("webhooks/event-types", EventTypeView.as_view(), name="webhook-event-types"),
    *router.urls,
]
