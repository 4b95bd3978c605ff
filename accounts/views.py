"""Identity API: sign-up, verification, sign-in, tokens, passwords, the caller's profile, and
staff user management. Each action validates, calls one service, and serializes."""

from dataclasses import asdict

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts import selectors, services
from accounts.serializers import (
    AuthResultSerializer,
    EmailInputSerializer,
    LoginInputSerializer,
    MessageSerializer,
    PasswordChangeInputSerializer,
    PasswordConfirmInputSerializer,
    PasswordResetInputSerializer,
    ProfileUpdateInputSerializer,
    RegisterInputSerializer,
    StaffUserCreateInputSerializer,
    StaffUserSerializer,
    UserSerializer,
    VerifyEmailInputSerializer,
)
from sessions_app.access_tokens.scopes import NO_TOKENS, Scope
from sessions_app.models import DeviceSession
from sessions_app.serializers import RefreshInputSerializer, TokenPairSerializer
from sessions_app.services import SignIn, session_refresh, session_revoke, sessions_revoke_for_user
from sessions_app.views import current_session_id
from vod.client_ip import client_ip
from vod.permissions import StaffModelPermissions
from vod.throttling import AccountThrottle, IPThrottle
from vod.viewsets import UUIDLookupMixin

Reason = DeviceSession.RevokeReason


def public_action(*, scope: str, url_path: str | None = None, account_field: str | None = "email"):
    """A POST action open to anyone, throttled per IP and (when `account_field`) per account."""
    return action(
        detail=False,
        methods=["post"],
        url_path=url_path,
        permission_classes=[AllowAny],
        authentication_classes=[],
        throttle_classes=[IPThrottle, AccountThrottle] if account_field else [IPThrottle],
        throttle_scope=scope,
        throttle_account_field=account_field,
    )


REGISTERED = "If this address can receive mail, a 6-digit code is on its way."
CODE_SENT = "If an account needs it, a new code is on its way."
RESET_SENT = "If an account uses this address, a reset code is on its way."


def _input(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _device(request) -> dict:
    return {"user_agent": request.headers.get("User-Agent", ""), "ip_address": client_ip(request)}


def _signed_in(sign_in: SignIn, request, status_code=status.HTTP_200_OK) -> Response:
    body = {
        **asdict(sign_in.tokens),
        "session": sign_in.session,
        "user": sign_in.session.user,
    }
    context = {"request": request, "current_session_id": str(sign_in.session.pk)}
    return Response(AuthResultSerializer(body, context=context).data, status=status_code)


def _message(text: str, status_code=status.HTTP_202_ACCEPTED) -> Response:
    return Response({"message": text}, status=status_code)


class AuthViewSet(viewsets.GenericViewSet):
    """`auth/...`: everything that happens before, or instead of, a signed-in request."""

    throttle_scope = None
    throttle_account_field = "email"
    serializer_class = MessageSerializer
    # The public actions take no credentials at all; the rest manage sessions and passwords.
    token_scopes = dict.fromkeys(["logout", "logout_all", "password_change"], NO_TOKENS)

    @extend_schema(
        tags=["auth"],
        request=RegisterInputSerializer,
        responses={201: MessageSerializer},
        examples=[
            OpenApiExample(
                "Register",
                value={"email": "ada@example.com", "username": "ada", "password": "analytical-engine-1843"},
                request_only=True,
            )
        ],
        description="Creates an unverified account and emails a 6-digit code. An address that already has "
        "an account gets the same answer; its owner is told by email instead.",
    )
    @public_action(scope="register")
    def register(self, request):
        services.user_register(**_input(RegisterInputSerializer, request))
        return _message(REGISTERED, status.HTTP_201_CREATED)

    @extend_schema(
        tags=["auth"],
        request=VerifyEmailInputSerializer,
        responses={200: AuthResultSerializer},
        examples=[OpenApiExample("Verify", value={"email": "ada@example.com", "code": "042917"}, request_only=True)],
        description="Marks the email verified and signs in. Wrong, expired or used codes: `invalid_code`; "
        "a code dies after 5 wrong tries.",
    )
    @public_action(scope="verify", url_path="verify-email")
    def verify_email(self, request):
        data = _input(VerifyEmailInputSerializer, request)
        return _signed_in(services.email_verify(**data, **_device(request)), request)

    @extend_schema(tags=["auth"], request=EmailInputSerializer, responses={202: MessageSerializer})
    @public_action(scope="resend", url_path="verify-email/resend")
    def verify_email_resend(self, request):
        services.verification_resend(**_input(EmailInputSerializer, request))
        return _message(CODE_SENT)

    @extend_schema(
        tags=["auth"],
        request=LoginInputSerializer,
        responses={200: AuthResultSerializer},
        examples=[
            OpenApiExample(
                "Login", value={"email_or_username": "ada", "password": "analytical-engine-1843"}, request_only=True
            )
        ],
        description="Wrong password and unknown account both answer `invalid_credentials`; after 5 failures "
        "the account answers `account_locked` (429, Retry-After) for a time that grows. A correct password "
        "on an unverified account answers `email_not_verified` (403).",
    )
    @public_action(scope="login", account_field="email_or_username")
    def login(self, request):
        data = _input(LoginInputSerializer, request)
        sign_in = services.login(identifier=data["email_or_username"], password=data["password"], **_device(request))
        return _signed_in(sign_in, request)

    @extend_schema(
        tags=["auth"],
        request=RefreshInputSerializer,
        responses={200: TokenPairSerializer},
        description="Rotates the refresh token. A refresh token that was already rotated ends its session "
        "(`session_revoked`), except within a few seconds of its rotation (`refresh_token_rotated`).",
    )
    @public_action(scope="refresh", account_field=None)
    def refresh(self, request):
        data = _input(RefreshInputSerializer, request)
        sign_in = session_refresh(refresh_token=data["refresh"], ip_address=client_ip(request))
        return Response(TokenPairSerializer(asdict(sign_in.tokens)).data)

    @extend_schema(tags=["auth"], request=None, responses={204: None})
    @action(detail=False, methods=["post"], permission_classes=[IsAuthenticated])
    def logout(self, request):
        session = DeviceSession.objects.get(pk=current_session_id(request))
        session_revoke(session=session, reason=Reason.LOGOUT)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(tags=["auth"], request=None, responses={204: None})
    @action(detail=False, methods=["post"], url_path="logout-all", permission_classes=[IsAuthenticated])
    def logout_all(self, request):
        sessions_revoke_for_user(user=request.user, reason=Reason.LOGOUT_ALL)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(tags=["auth"], request=EmailInputSerializer, responses={202: MessageSerializer})
    @public_action(scope="password_forgot", url_path="password/forgot")
    def password_forgot(self, request):
        services.password_forgot(**_input(EmailInputSerializer, request))
        return _message(RESET_SENT)

    @extend_schema(
        tags=["auth"],
        request=PasswordResetInputSerializer,
        responses={200: MessageSerializer},
        description="Sets a new password with the emailed code and ends every session.",
    )
    @public_action(scope="password_reset", url_path="password/reset")
    def password_reset(self, request):
        services.password_reset(**_input(PasswordResetInputSerializer, request))
        return _message("Your password is changed; sign in with it.", status.HTTP_200_OK)

    @extend_schema(
        tags=["auth"],
        request=PasswordChangeInputSerializer,
        responses={200: MessageSerializer},
        description="Needs the current password; ends every other session.",
    )
    @action(detail=False, methods=["post"], url_path="password/change", permission_classes=[IsAuthenticated])
    def password_change(self, request):
        data = _input(PasswordChangeInputSerializer, request)
        services.password_change(user=request.user, current_session_id=current_session_id(request), **data)
        return _message("Your password is changed; your other sessions are signed out.", status.HTTP_200_OK)


class UserViewSet(UUIDLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """`users/me` for everyone signed in; the rest of `users/` for staff with the user permissions."""

    permission_classes = [StaffModelPermissions]
    staff_permissions = {
        "list": "accounts.view_user",
        "retrieve": "accounts.view_user",
        "create": "accounts.add_user",
        "deactivate": "accounts.change_user",
    }
    token_scopes = {
        **dict.fromkeys(["list", "retrieve", "create", "deactivate"], Scope.STAFF),
        "me": {"GET": Scope.ACCOUNT_READ, "PATCH": NO_TOKENS, "DELETE": NO_TOKENS},
    }
    serializer_class = StaffUserSerializer

    def get_queryset(self):
        return selectors.users_search(query=self.request.query_params.get("q", "")[:100])

    @extend_schema(
        tags=["users"],
        summary="List or search users (staff)",
        parameters=[OpenApiParameter("q", str, description="Matches email, username or display name.")],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(tags=["users"], summary="Read a user (staff)")
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        tags=["users"],
        summary="Create a verified user (staff)",
        request=StaffUserCreateInputSerializer,
        responses={201: StaffUserSerializer},
    )
    def create(self, request):
        user = services.user_create_by_staff(**_input(StaffUserCreateInputSerializer, request))
        return Response(StaffUserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(tags=["users"], summary="Deactivate a user and end their sessions (staff)", request=None)
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        return Response(StaffUserSerializer(services.user_deactivate(user=self.get_object())).data)

    @extend_schema(tags=["users"], summary="My profile", methods=["GET"], responses=UserSerializer)
    @extend_schema(
        tags=["users"],
        summary="Update my profile",
        methods=["PATCH"],
        request=ProfileUpdateInputSerializer,
        responses=UserSerializer,
    )
    @extend_schema(
        tags=["users"],
        summary="Delete my account (needs the password)",
        methods=["DELETE"],
        request=PasswordConfirmInputSerializer,
        responses={204: None},
    )
    @action(detail=False, methods=["get", "patch", "delete"], permission_classes=[IsAuthenticated])
    def me(self, request):
        if request.method == "PATCH":
            changes = _input(ProfileUpdateInputSerializer, request)
            services.user_update_profile(user=request.user, **changes)
        elif request.method == "DELETE":
            services.user_delete(user=request.user, **_input(PasswordConfirmInputSerializer, request))
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(UserSerializer(request.user).data)
