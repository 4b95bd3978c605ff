"""`auth/2fa/...`: enrol in two-factor sign-in, turn it off, and finish a sign-in with a code."""

from collections.abc import Callable

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.serializers import AuthResultSerializer, MessageSerializer
from accounts.two_factor import services
from accounts.two_factor.serializers import (
    RecoveryCodesSerializer,
    TwoFactorConfirmInputSerializer,
    TwoFactorDisableInputSerializer,
    TwoFactorEnrolmentSerializer,
    TwoFactorSetupInputSerializer,
    TwoFactorVerifyInputSerializer,
)
from accounts.views import _device, _input, _signed_in, public_action
from sessions_app.access_tokens.scopes import NO_TOKENS
from vod.openapi import ErrorSerializer
from vod.throttling import IPThrottle


def _error(codes: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=codes)


LOCKED = _error("`account_locked` (Retry-After): too many wrong passwords or codes.")


def signed_in_action(url_path: str) -> Callable:
    return action(
        detail=False,
        methods=["post"],
        url_path=url_path,
        permission_classes=[IsAuthenticated],
        throttle_classes=[IPThrottle],
        throttle_scope="two_factor",
    )


class TwoFactorViewSet(viewsets.GenericViewSet):
    throttle_scope = None
    throttle_account_field = None
    serializer_class = MessageSerializer
    # A second factor is a credential: managed with a password sign-in only, never by a token.
    token_scopes = dict.fromkeys(["setup", "confirm", "disable"], NO_TOKENS)

    @extend_schema(
        tags=["auth"],
        summary="Start enrolling an authenticator app",
        request=TwoFactorSetupInputSerializer,
        responses={
            200: TwoFactorEnrolmentSerializer,
            400: _error("`validation_error`: the password is not correct (counts toward the lockout)."),
            409: _error("`two_factor_already_enabled`: turn it off first."),
            429: LOCKED,
        },
        description="Needs the password. Returns a new TOTP secret and its otpauth URI, shown only in this "
        "answer; nothing is on until auth/2fa/confirm. Calling it again replaces a pending secret.",
    )
    @signed_in_action("setup")
    def setup(self, request) -> Response:
        enrolment = services.two_factor_setup(user=request.user, **_input(TwoFactorSetupInputSerializer, request))
        return Response(TwoFactorEnrolmentSerializer(enrolment).data)

    @extend_schema(
        tags=["auth"],
        summary="Turn two-factor sign-in on with a first code",
        request=TwoFactorConfirmInputSerializer,
        responses={
            200: RecoveryCodesSerializer,
            400: _error("`invalid_code`, or `validation_error`."),
            409: _error("`two_factor_not_set_up` (call setup first) or `two_factor_already_enabled`."),
        },
        description="From now on sign-in asks for a code. The 10 recovery codes are shown only in this answer.",
    )
    @signed_in_action("confirm")
    def confirm(self, request) -> Response:
        codes = services.two_factor_confirm(user=request.user, **_input(TwoFactorConfirmInputSerializer, request))
        return Response(RecoveryCodesSerializer({"recovery_codes": codes}).data)

    @extend_schema(
        tags=["auth"],
        summary="Turn two-factor sign-in off",
        request=TwoFactorDisableInputSerializer,
        responses={
            204: None,
            400: _error("`validation_error` (wrong password) or `invalid_code`; both count toward the lockout."),
            409: _error("`two_factor_not_enabled`."),
            429: LOCKED,
        },
        description="Needs the password and a code (or a recovery code). The owner is mailed.",
    )
    @signed_in_action("disable")
    def disable(self, request) -> Response:
        services.two_factor_disable(user=request.user, **_input(TwoFactorDisableInputSerializer, request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=["auth"],
        summary="Finish a sign-in with a code",
        request=TwoFactorVerifyInputSerializer,
        responses={
            200: AuthResultSerializer,
            400: _error("`invalid_code`: wrong, reused or used-up code; counts toward the lockout."),
            401: _error("`invalid_challenge`: unknown, used, expired (5 minutes) or out of tries (5)."),
            429: LOCKED,
        },
        description="`challenge` comes from auth/login (or auth/verify-email) of an enrolled account. A code "
        "is accepted once; each recovery code works once. Starts the device session as login does.",
    )
    @public_action(scope="two_factor", url_path="verify", account_field=None)
    def verify(self, request) -> Response:
        data = _input(TwoFactorVerifyInputSerializer, request)
        return _signed_in(services.two_factor_verify(**data, **_device(request)), request)
