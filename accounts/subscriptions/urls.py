from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.subscriptions.views import MySubscriptionViewSet, PlanViewSet, UserSubscriptionViewSet, billing_events

router = SimpleRouter(trailing_slash=False)
router.register("plans", PlanViewSet, basename="plan")

user_subscriptions = UserSubscriptionViewSet.as_view({"get": "list", "post": "create"})
urlpatterns = [
    *router.urls,
    path("me/subscriptions", MySubscriptionViewSet.as_view({"get": "list"}), name="my-subscriptions"),
    path("users/<uuid:user_id>/subscriptions", user_subscriptions, name="user-subscriptions"),
    path(
        "users/<uuid:user_id>/subscriptions/<uuid:pk>",
        UserSubscriptionViewSet.as_view({"delete": "destroy"}),
        name="user-subscription-detail",
    ),
    path("billing/events", billing_events, name="billing-events"),
]
