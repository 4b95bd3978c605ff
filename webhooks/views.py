"""`webhooks`: the caller's endpoints, their delivery log and replays, and the event catalogue.
Another user's endpoint (or delivery) is simply not found."""

import uuid

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sessions_app.access_tokens.scopes import Scope
from vod.exceptions import InvalidInput
from vod.permissions import signed_in_user
from vod.serializers import validated
from vod.viewsets import UUID_PATTERN, UUIDLookupMixin
from webhooks import selectors, services
from webhooks.events import CATALOGUE
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.serializers import (
    DeliverySerializer,
    EndpointInputSerializer,
    EndpointSerializer,
    EndpointUpdateInputSerializer,
    EndpointWithSecretSerializer,
    EventTypeSerializer,
    RecoverInputSerializer,
    RecoverResultSerializer,
)
from webhooks.services import EndpointWithSecret

TAGS = ["webhooks"]
ACTIONS = [
    "list",
    "create",
    "retrieve",
    "partial_update",
    "destroy",
    "rotate_secret",
    "test",
    "deliveries",
    "resend",
    "recover",
]


def _with_secret(issued: EndpointWithSecret, status_code: int) -> Response:
    serializer = EndpointWithSecretSerializer(issued.endpoint, context={"secret": issued.secret})
    return Response(serializer.data, status=status_code, headers={"Cache-Control": "no-store"})


@extend_schema_view(
    list=extend_schema(summary="My webhook endpoints", tags=TAGS),
    retrieve=extend_schema(summary="One of my webhook endpoints", tags=TAGS),
)
class WebhookEndpointViewSet(
    UUIDLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = EndpointSerializer
    token_scopes = dict.fromkeys(ACTIONS, Scope.WEBHOOKS_MANAGE)

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return selectors.endpoints_of(user=signed_in_user(self.request))

    @extend_schema(
        summary="Register a webhook endpoint (its signing secret is in this answer only)",
        tags=TAGS,
        request=EndpointInputSerializer,
        responses={201: EndpointWithSecretSerializer},
    )
    def create(self, request: Request) -> Response:
        data = validated(EndpointInputSerializer, request)
        issued = services.endpoint_create(owner=signed_in_user(request), **data)
        return _with_secret(issued, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change an endpoint (url, description, event types, on/off)",
        tags=TAGS,
        request=EndpointUpdateInputSerializer,
        responses={200: EndpointSerializer},
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        changes = validated(EndpointUpdateInputSerializer, request)
        endpoint = services.endpoint_update(endpoint=self.get_object(), **changes)
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(summary="Delete an endpoint and its delivery log", tags=TAGS, responses={204: None})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.endpoint_delete(endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="A new signing secret; the old one keeps signing beside it for 24 hours",
        tags=TAGS,
        request=None,
        responses={200: EndpointWithSecretSerializer},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        return _with_secret(services.endpoint_rotate_secret(endpoint=self.get_object()), status.HTTP_200_OK)

    @extend_schema(
        summary="Send a `webhook.test` event to this endpoint",
        tags=TAGS,
        request=None,
        responses={202: DeliverySerializer},
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        delivery = services.endpoint_send_test(endpoint=self.get_object())
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="The endpoint's deliveries, newest first: status, attempts, last answer, next try",
        tags=TAGS,
        parameters=[
            OpenApiParameter("status", str, enum=WebhookDelivery.Status.values, description="Only these."),
            OpenApiParameter("cursor", str, description="From `next_cursor` / `previous_cursor`."),
            OpenApiParameter("limit", int, description="Page size, at most 100."),
        ],
        responses={200: DeliverySerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        wanted = request.query_params.get("status")
        if wanted is not None and wanted not in WebhookDelivery.Status.values:
            raise InvalidInput({"status": [f"One of {', '.join(WebhookDelivery.Status.values)}."]})
        page = self.paginate_queryset(selectors.deliveries_of(endpoint=self.get_object(), status=wanted))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        summary="Send a delivery again (same webhook-id, a fresh retry schedule)",
        tags=TAGS,
        request=None,
        parameters=[OpenApiParameter("delivery_id", uuid.UUID, OpenApiParameter.PATH)],
        responses={202: DeliverySerializer},
    )
    @action(detail=True, methods=["post"], url_path=rf"deliveries/(?P<delivery_id>{UUID_PATTERN})/resend")
    def resend(self, request: Request, pk: str | None = None, delivery_id: str | None = None) -> Response:
        delivery = selectors.delivery_of(endpoint=self.get_object(), delivery_id=delivery_id)
        delivery = services.delivery_resend(delivery=delivery)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Send again every delivery that failed, of events since `since`",
        tags=TAGS,
        request=RecoverInputSerializer,
        responses={202: RecoverResultSerializer},
    )
    @action(detail=True, methods=["post"])
    def recover(self, request: Request, pk: str | None = None) -> Response:
        since = validated(RecoverInputSerializer, request)["since"]
        count = services.endpoint_recover(endpoint=self.get_object(), since=since)
        return Response({"requeued": count}, status=status.HTTP_202_ACCEPTED)


class EventTypeView(APIView):
    """The machine-readable event catalogue."""

    token_scopes = {"get": Scope.WEBHOOKS_MANAGE}

    @extend_schema(
        summary="Every event type a webhook endpoint may receive",
        tags=TAGS,
        responses={200: EventTypeSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return Response(EventTypeSerializer(CATALOGUE.values(), many=True).data)
