"""Identity API: sign-up, verification, sign-in, tokens, passwords, the caller's profile, and
staff user management. Each action validates, calls one service, and serializes."""

from dataclasses import asdict

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action, api_view, authentication_classes, permission_classes
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.errors import AccountDisabled, AccountLocked, EmailNotVerified, InvalidCode, InvalidCredentials
from accounts.models import AVATAR_SIZES
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
from accounts.two_factor.serializers import TwoFactorChallengeSerializer
from sessions_app.access_tokens.scopes import NO_TOKENS, Scope
from sessions_app.authentication import current_session_id
from sessions_app.challenges import Challenge
from sessions_app.models import DeviceSession
from sessions_app.selectors import session_by_id
from sessions_app.serializers import RefreshInputSerializer, TokenPairSerializer
from sessions_app.services import SignIn, session_refresh, session_rename, session_revoke, sessions_revoke_for_user
from videos import keys
from vod import images
from vod.client_ip import client_ip
from vod.exceptions import NotFoundError
from vod.openapi import ErrorSerializer, error_responses
from vod.permissions import StaffModelPermissions
from vod.serializers import validated as _input
from vod.throttling import AccountThrottle, IPThrottle, UserThrottle
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


def _device(request) -> dict:
    return {"user_agent": request.headers.get("User-Agent", ""), "ip_address": client_ip(request)}


def _signed_in(sign_in: SignIn | Challenge, request, *, device_name: str | None = None) -> Response:
    """The tokens and session of a sign-in, or (202) the challenge an account enrolled in two-factor
    sign-in answers instead; `device_name`, when the client chose one, names the session."""
    if isinstance(sign_in, Challenge):
        return Response(TwoFactorChallengeSerializer(sign_in).data, status=status.HTTP_202_ACCEPTED)
    if device_name:
        session_rename(session=sign_in.session, device_name=device_name)
    body = {
        **asdict(sign_in.tokens),
        "session": sign_in.session,
        "user": sign_in.session.user,
    }
    context = {"request": request, "current_session_id": str(sign_in.session.pk)}
    return Response(AuthResultSerializer(body, context=context).data)


def _message(text: str, status_code=status.HTTP_202_ACCEPTED) -> Response:
    return Response({"message": text}, status=status_code)


class AuthViewSet(viewsets.GenericViewSet):
    """`auth/...`: everything that happens before, or instead of, a signed-in request."""

    throttle_scope = None
    throttle_account_field = "email"
    throttle_account_key = staticmethod(selectors.account_key)
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
        responses={200: AuthResultSerializer, 202: TwoFactorChallengeSerializer, **error_responses(InvalidCode)},
        examples=[
            OpenApiExample(
                "Verify",
                value={"email": "ada@example.com", "code": "042917", "password": "analytical-engine-1843"},
                request_only=True,
            )
        ],
        description="Claims the account: marks the email verified, makes `password` its password (whatever "
        "was given at registration, possibly by someone else) and signs in. The code is checked first: wrong, "
        "expired or used codes answer `invalid_code` whatever the password; a weak password with a right code "
        "is a `validation_error` that keeps the code. A code dies after 5 wrong tries.",
    )
    @public_action(scope="verify", url_path="verify-email")
    def verify_email(self, request):
        data = _input(VerifyEmailInputSerializer, request)
        device_name = data.pop("device_name", None)
        return _signed_in(services.email_verify(**data, **_device(request)), request, device_name=device_name)

    @extend_schema(
        tags=["auth"],
        request=EmailInputSerializer,
        responses={202: MessageSerializer},
        description="Emails a new 6-digit code to an unverified account (at most one a minute). The answer "
        "is the same whether or not the address has an account.",
    )
    @public_action(scope="resend", url_path="verify-email/resend")
    def verify_email_resend(self, request):
        services.verification_resend(**_input(EmailInputSerializer, request))
        return _message(CODE_SENT)

    @extend_schema(
        tags=["auth"],
        request=LoginInputSerializer,
        responses={
            200: AuthResultSerializer,
            202: TwoFactorChallengeSerializer,
            **error_responses(InvalidCredentials, EmailNotVerified, AccountDisabled, AccountLocked),
        },
        examples=[
            OpenApiExample(
                "Login", value={"email_or_username": "ada", "password": "analytical-engine-1843"}, request_only=True
            )
        ],
        description="Wrong password and unknown account both answer `invalid_credentials`; after 5 failures "
        "the account answers `account_locked` (429, Retry-After) for a time that grows. A correct password "
        "on an unverified account answers `email_not_verified` (403). An account enrolled in two-factor sign-in "
        "answers 202 with a `challenge` for auth/2fa/verify instead of tokens.",
    )
    @public_action(scope="login", account_field="email_or_username")
    def login(self, request):
        data = _input(LoginInputSerializer, request)
        sign_in = services.login(identifier=data["email_or_username"], password=data["password"], **_device(request))
        return _signed_in(sign_in, request, device_name=data.get("device_name"))

    @extend_schema(
        tags=["auth"],
        request=RefreshInputSerializer,
        responses={
            200: TokenPairSerializer,
            401: OpenApiResponse(
                ErrorSerializer, description="`token_not_valid`, `session_revoked` or `refresh_token_rotated`."
            ),
        },
        description="Rotates the refresh token. A refresh token that was already rotated ends its session "
        "(`session_revoked`), except within a few seconds of its rotation (`refresh_token_rotated`).",
    )
    @public_action(scope="refresh", account_field=None)
    def refresh(self, request):
        data = _input(RefreshInputSerializer, request)
        sign_in = session_refresh(refresh_token=data["refresh"], ip_address=client_ip(request))
        return Response(TokenPairSerializer(asdict(sign_in.tokens)).data)

    @extend_schema(
        tags=["auth"],
        request=None,
        responses={204: None},
        description="Ends the session of this access token; its refresh token stops working too.",
    )
    @action(detail=False, methods=["post"], permission_classes=[IsAuthenticated])
    def logout(self, request):
        session_revoke(session=session_by_id(session_id=current_session_id(request)), reason=Reason.LOGOUT)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=["auth"],
        request=None,
        responses={204: None},
        description="Ends every session of the account, this one included.",
    )
    @action(detail=False, methods=["post"], url_path="logout-all", permission_classes=[IsAuthenticated])
    def logout_all(self, request):
        sessions_revoke_for_user(user=request.user, reason=Reason.LOGOUT_ALL)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=["auth"],
        request=EmailInputSerializer,
        responses={202: MessageSerializer},
        description="Emails a reset code for `password/reset`. The answer is the same whether or not the "
        "address has an account.",
    )
    @public_action(scope="password_forgot", url_path="password/forgot")
    def password_forgot(self, request):
        services.password_forgot(**_input(EmailInputSerializer, request))
        return _message(RESET_SENT)

    @extend_schema(
        tags=["auth"],
        request=PasswordResetInputSerializer,
        responses={200: MessageSerializer, **error_responses(InvalidCode)},
        description="Sets a new password with the emailed code and ends every session. The code is checked "
        "first: a wrong one answers `invalid_code` whatever the password and the address; a weak password with "
        "a right code is a `validation_error` that keeps the code.",
    )
    @public_action(scope="password_reset", url_path="password/reset")
    def password_reset(self, request):
        services.password_reset(**_input(PasswordResetInputSerializer, request))
        return _message("Your password is changed; sign in with it.", status.HTTP_200_OK)

    @extend_schema(
        tags=["auth"],
        request=PasswordChangeInputSerializer,
        responses={200: MessageSerializer},
        description="Needs the current password; ends every other session. Wrong current passwords count "
        "toward the sign-in lockout (`account_locked`), and checks are throttled per user.",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="password/change",
        permission_classes=[IsAuthenticated],
        throttle_classes=[UserThrottle],
        throttle_scope="password_confirm",
    )
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

    def get_throttles(self):
        """Deleting my account checks my password: that shares password change's per-user budget."""
        if self.action == "me" and self.request.method == "DELETE":
            self.throttle_scope = "password_confirm"
            return [UserThrottle()]
        return super().get_throttles()

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
        user = services.user_create_by_staff(by=request.user, **_input(StaffUserCreateInputSerializer, request))
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
        summary="Delete my account (needs the password; wrong ones count toward the lockout)",
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
        return Response(UserSerializer(request.user, context={"request": request}).data)


class AvatarView(APIView):
    """`users/me/avatar`: set or remove my avatar (a profile change: password sign-ins only)."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]
    token_scopes = {"put": NO_TOKENS, "delete": NO_TOKENS}

    @extend_schema(
        tags=["users"],
        summary="Set my avatar (JPEG, PNG or WebP up to IMAGE_MAX_BYTES; re-encoded to 64/256/512 squares)",
        description="The body is the image itself, whatever its Content-Type, or multipart/form-data with the "
        "image in `file`. The format is read from the bytes, never the name or declared type.",
        request=images.SCHEMA_BODY,
        responses=UserSerializer,
        operation_id="users_me_avatar_update",
    )
    def put(self, request):
        services.avatar_set(user=request.user, data=images.uploaded_bytes(request))
        return Response(UserSerializer(request.user, context={"request": request}).data)

    @extend_schema(
        tags=["users"],
        summary="Remove my avatar",
        request=None,
        responses={204: None},
        operation_id="users_me_avatar_destroy",
    )
    def delete(self, request):
        services.avatar_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=["users"],
    summary="An avatar at one size (public)",
    responses={(200, "image/webp"): OpenApiResponse(description="The avatar (WebP).")},
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def avatar_file(request, avatar_id, size: int):
    """Avatars are public, and their URLs change with every new image, so they may be cached long."""
    if size not in AVATAR_SIZES or not selectors.avatar_exists(avatar_id):
        raise NotFoundError()
    return images.image_response(keys.avatar_key(avatar_id, size), "public, max-age=31536000, immutable")
