"""`me/tokens`: the caller's personal access tokens. Managed only from a password sign-in: a token
can never create, list, rotate or revoke tokens (NO_TOKENS below)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from sessions_app.access_tokens import services
from sessions_app.access_tokens.scopes import NO_TOKENS
from sessions_app.access_tokens.selectors import tokens_of_user
from sessions_app.access_tokens.serializers import TokenCreatedSerializer, TokenInputSerializer, TokenSerializer
from sessions_app.access_tokens.services import IssuedToken
from vod.serializers import validated
from vod.viewsets import UUIDLookupMixin

TAGS = ["access tokens"]


def _issued(issued: IssuedToken, status_code: int) -> Response:
    serializer = TokenCreatedSerializer(issued.token, context={"plaintext": issued.plaintext})
    # The plaintext must not linger in any cache between here and the client.
    return Response(serializer.data, status=status_code, headers={"Cache-Control": "no-store"})


@extend_schema_view(
    list=extend_schema(summary="My access tokens (live, expired and revoked; never their secrets)", tags=TAGS),
    retrieve=extend_schema(summary="One of my access tokens", tags=TAGS),
)
class AccessTokenViewSet(UUIDLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = TokenSerializer
    token_scopes = dict.fromkeys(["list", "create", "retrieve", "destroy", "rotate"], NO_TOKENS)

    def get_queryset(self):
        # Another user's token is simply not found (404, not 403).
        return tokens_of_user(user=self.request.user)

    @extend_schema(
        summary="Create an access token (its plaintext is in this answer only)",
        tags=TAGS,
        request=TokenInputSerializer,
        responses={201: TokenCreatedSerializer},
    )
    def create(self, request: Request) -> Response:
        issued = services.token_create(user=request.user, **validated(TokenInputSerializer, request))
        return _issued(issued, status.HTTP_201_CREATED)

    @extend_schema(summary="Revoke one of my access tokens", tags=TAGS, responses={204: None})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.token_revoke(token=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Rotate: a new secret with the same name, scopes and lifetime; the old one stops working",
        tags=TAGS,
        request=None,
        responses={201: TokenCreatedSerializer},
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request: Request, pk: str | None = None) -> Response:
        return _issued(services.token_rotate(token=self.get_object()), status.HTTP_201_CREATED)
