"""Every error code the application raises, one class per code, each in its app's errors module."""

import importlib

from vod.exceptions import ApplicationError

ERROR_MODULES = [
    "vod.exceptions",
    "accounts.errors",
    "accounts.subscriptions.errors",
    "sessions_app.errors",
    "videos.errors",
    "webhooks.errors",
]
CODES = {
    # vod
    "validation_error",
    "not_found",
    "idempotency_key_reused",
    "bad_request",
    "permission_denied",
    "request_too_large",
    "service_unavailable",
    "server_error",
    "image_too_large",
    "unsupported_image",
    "invalid_image",
    "image_too_many_pixels",
    # accounts
    "invalid_credentials",
    "account_locked",
    "email_not_verified",
    "account_disabled",
    "invalid_code",
    # accounts.subscriptions
    "plan_code_taken",
    "plan_inactive",
    "subscription_not_active",
    "unknown_plan",
    "unknown_user",
    "event_too_large",
    "webhook_verification_failed",
    # sessions_app
    "token_not_valid",
    "session_revoked",
    "refresh_token_rotated",
    "invalid_challenge",
    "two_factor_already_enabled",
    "two_factor_not_enabled",
    "two_factor_not_set_up",
    "token_limit_reached",
    "token_not_rotatable",
    # videos
    "upload_too_large",
    "quota_exceeded",
    "length_required",
    "source_not_accepted",
    "upload_not_active",
    "upload_incomplete",
    "bad_part",
    "invalid_part_url",
    "no_source",
    "transcode_in_progress",
    "video_not_ready",
    "playback_token_invalid",
    "invalid_caption",
    "caption_too_large",
    "caption_exists",
    "caption_limit_reached",
    # webhooks
    "webhook_url_not_allowed",
    "webhook_url_unresolvable",
    "webhook_events_not_allowed",
    "webhook_endpoint_limit",
    "webhook_endpoint_disabled",
    "playback_token_expired",
    "range_not_satisfiable",
    "subscription_required",
    # videos (library)
    "playlist_full",
    "playlist_limit_reached",
    "position_out_of_range",
    "watch_later_fixed",
    "cannot_follow_self",
    "followers_private",
}
# The two that answer a server-side failure; every other code is the client's to act on.
SERVER_CODES = {"server_error", "service_unavailable"}


def _code_classes() -> list[type[ApplicationError]]:
    """The classes that define a code of their own (a base such as RefreshRejected defines none)."""
    for module in ERROR_MODULES:
        importlib.import_module(module)
    found, frontier = [], [ApplicationError]
    while frontier:
        cls = frontier.pop()
        frontier += cls.__subclasses__()
        if cls is not ApplicationError and "code" in vars(cls) and not cls.__module__.endswith(".tests.error_views"):
            found.append(cls)
    return found


def test_each_code_has_one_class_in_an_errors_module():
    classes = _code_classes()
    codes = [cls.code for cls in classes]
    assert sorted(codes) == sorted(set(codes)), "a code is defined by two classes"
    assert set(codes) == CODES
    assert {cls.__module__ for cls in classes} <= set(ERROR_MODULES)


def test_each_code_class_has_a_message_and_a_client_error_status():
    for cls in _code_classes():
        assert cls.message and cls.message != ApplicationError.message, cls
        assert (500 <= cls.status_code < 600) if cls.code in SERVER_CODES else (400 <= cls.status_code < 500), cls
