"""The caller's device sessions: list (current one marked), read, end one, end all others."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from sessions_app.access_tokens.scopes import NO_TOKENS
from sessions_app.authentication import current_session_id
from sessions_app.models import DeviceSession
from sessions_app.selectors import sessions_for_user
from sessions_app.serializers import SessionSerializer
from sessions_app.services import session_revoke, sessions_revoke_for_user

Reason = DeviceSession.RevokeReason


@extend_schema_view(
    list=extend_schema(
        summary="List my active sessions",
        description="One per signed-in device, most recently used first; `current` marks the one making the request.",
        tags=["sessions"],
    ),
    retrieve=extend_schema(summary="Read one of my sessions", tags=["sessions"]),
    destroy=extend_schema(
        summary="End one of my sessions",
        description="Its access and refresh tokens stop working at once. Another user's session is a 404.",
        tags=["sessions"],
    ),
)
class SessionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SessionSerializer
    pagination_class = None  # a user has a handful of sessions
    token_scopes = dict.fromkeys(["list", "retrieve", "destroy", "destroy_others"], NO_TOKENS)

    def get_queryset(self) -> QuerySet[DeviceSession]:
        # Another user's session is simply not found (404, not 403).
        return sessions_for_user(user=self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "current_session_id": current_session_id(self.request)}

    def destroy(self, request, *args, **kwargs) -> Response:
        session_revoke(session=self.get_object(), reason=Reason.REVOKED_BY_USER)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="End all my other sessions",
        description="Every session but the one making the request.",
        tags=["sessions"],
        operation_id="sessions_destroy_others",
        responses={204: None},
    )
    def destroy_others(self, request, *args, **kwargs) -> Response:
        sessions_revoke_for_user(
            user=request.user, reason=Reason.REVOKED_BY_USER, keep_session_id=current_session_id(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
