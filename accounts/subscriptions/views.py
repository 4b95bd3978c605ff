"""Plans and subscriptions API: the plans on offer (staff manage them), my subscriptions, staff
grants and revocations per user, and the signed billing inlet. Each action validates, calls one
service or selector, and serializes."""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.subscriptions import billing, selectors, services
from accounts.subscriptions.errors import EventTooLarge
from accounts.subscriptions.models import Plan, Subscription
from accounts.subscriptions.serializers import (
    BillingEventInputSerializer,
    BillingEventResultSerializer,
    PlanInputSerializer,
    PlanSerializer,
    PlanUpdateInputSerializer,
    SubscriptionGrantInputSerializer,
    SubscriptionSerializer,
)
from sessions_app.access_tokens.scopes import Scope
from vod.permissions import StaffModelPermissions
from vod.serializers import validated

PLAN_CODE_PATTERN = r"[a-z0-9]+(?:[-_][a-z0-9]+)*"
MAX_EVENT_BYTES = 64 * 1024
WEBHOOK_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class PlanViewSet(viewsets.GenericViewSet):
    """`plans`: the active plans for anyone; create, edit and delete for staff with the plan permissions."""

    queryset = Plan.objects.all()  # names the path parameter's model in the schema; reads use the selectors
    lookup_field = "code"
    lookup_value_regex = PLAN_CODE_PATTERN
    pagination_class = None  # a service offers a handful of plans
    serializer_class = PlanSerializer
    staff_permissions = {
        "create": "accounts.add_plan",
        "partial_update": "accounts.change_plan",
        "destroy": "accounts.delete_plan",
    }
    # Reading the offer is catalog reading; managing plans is a staff power.
    token_scopes = {
        "list": Scope.VIDEOS_READ,
        "create": Scope.STAFF,
        "partial_update": Scope.STAFF,
        "destroy": Scope.STAFF,
    }

    def get_permissions(self) -> list[BasePermission]:
        return [AllowAny()] if self.action == "list" else [StaffModelPermissions()]

    @extend_schema(tags=["plans"], summary="The plans on offer (staff who may view plans: every plan)")
    def list(self, request: Request) -> Response:
        return Response(PlanSerializer(selectors.plans_visible_to(request.user), many=True).data)

    @extend_schema(
        tags=["plans"], summary="Create a plan (staff)", request=PlanInputSerializer, responses={201: PlanSerializer}
    )
    def create(self, request: Request) -> Response:
        plan = services.plan_create(**validated(PlanInputSerializer, request))
        return Response(PlanSerializer(plan).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["plans"],
        summary="Edit a plan (staff); its code never changes",
        request=PlanUpdateInputSerializer(partial=True),
        responses=PlanSerializer,
    )
    def partial_update(self, request: Request, code: str | None = None) -> Response:
        changes = validated(PlanUpdateInputSerializer, request, partial=True)
        return Response(PlanSerializer(services.plan_update(plan=selectors.plan_by_code(code), **changes)).data)

    @extend_schema(
        tags=["plans"],
        summary="Delete an unused plan (staff); one in use is deactivated instead",
        responses={
            204: OpenApiResponse(description="Deleted."),
            200: OpenApiResponse(PlanSerializer, description="In use by subscriptions or videos: deactivated."),
        },
    )
    def destroy(self, request: Request, code: str | None = None) -> Response:
        plan = selectors.plan_by_code(code)
        if services.plan_delete(plan=plan):
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(PlanSerializer(plan).data)


class MySubscriptionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """`me/subscriptions`: mine, every status, newest first."""

    serializer_class = SubscriptionSerializer
    token_scopes = {"list": Scope.ACCOUNT_READ}

    def get_queryset(self):
        return selectors.subscriptions_of(user=self.request.user)

    @extend_schema(tags=["plans"], summary="My subscriptions: status, dates, and whether each unlocks its plan now")
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)


class UserSubscriptionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """`users/{id}/subscriptions`: a user's subscriptions for staff; grant one, or revoke one."""

    serializer_class = SubscriptionSerializer
    permission_classes = [StaffModelPermissions]
    staff_permissions = {
        "list": "accounts.view_subscription",
        "create": "accounts.add_subscription",
        "destroy": "accounts.change_subscription",
    }
    token_scopes = dict.fromkeys(["list", "create", "destroy"], Scope.STAFF)

    def _user(self) -> User:
        return get_object_or_404(User, pk=self.kwargs["user_id"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user id
            return Subscription.objects.none()
        return selectors.subscriptions_of(user=self._user())

    @extend_schema(tags=["plans"], summary="A user's subscriptions (staff)")
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        tags=["plans"],
        summary="Grant a user a subscription (staff)",
        request=SubscriptionGrantInputSerializer,
        responses={201: SubscriptionSerializer},
    )
    def create(self, request: Request, user_id: str | None = None) -> Response:
        user = self._user()
        data = validated(SubscriptionGrantInputSerializer, request)
        subscription = services.subscription_grant(
            user=user,
            plan=data["plan"],
            ends_at=data.get("ends_at"),
            staff_user=request.user,
            reason=data.get("reason", ""),
        )
        answer = selectors.subscriptions_of(user=user).get(pk=subscription.pk)
        return Response(SubscriptionSerializer(answer).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["plans"],
        summary="Revoke a user's subscription at once (staff); it stays, canceled, in the history",
        responses={204: None},
    )
    def destroy(self, request: Request, user_id: str | None = None, pk: str | None = None) -> Response:
        subscription = get_object_or_404(Subscription, pk=pk, user=self._user())
        services.subscription_cancel(
            subscription=subscription, staff_user=request.user, reason="revoked through the API"
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=["billing"],
    summary="The billing inlet: subscription events signed as Standard Webhooks",
    description="Verified with BILLING_WEBHOOK_SECRET (`webhook-id`, `webhook-timestamp` within 5 minutes, "
    "`webhook-signature`). Applied once per `webhook-id` (a redelivery answers the first result); an event "
    "older than the last one applied to its subscription is stored as `stale` and changes nothing.",
    request=BillingEventInputSerializer,
    parameters=[OpenApiParameter(name, str, OpenApiParameter.HEADER, required=True) for name in WEBHOOK_HEADERS],
    responses={200: BillingEventResultSerializer},
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def billing_events(request: Request) -> Response:
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = MAX_EVENT_BYTES + 1
    if length > MAX_EVENT_BYTES:
        raise EventTooLarge()
    headers = {name: request.headers.get(name, "") for name in WEBHOOK_HEADERS}
    event = billing.billing_event_receive(body=request.body, headers=headers)
    return Response(BillingEventResultSerializer(event).data)
