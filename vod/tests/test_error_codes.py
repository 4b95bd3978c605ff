"""Every error code the application raises, one class per code, each in its app's errors module."""

import importlib

from vod.exceptions import ApplicationError

ERROR_MODULES = ["vod.exceptions", "accounts.errors", "sessions_app.errors", "videos.errors"]
CODES = {
    # vod
    "validation_error",
    "not_found",
    "idempotency_key_reused",
    # accounts
    "invalid_credentials",
    "account_locked",
    "email_not_verified",
    "account_disabled",
    "invalid_code",
    # sessions_app
    "token_not_valid",
    "session_revoked",
    "refresh_token_rotated",
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
    "playback_token_expired",
    "range_not_satisfiable",
}


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
        assert 400 <= cls.status_code < 500, cls
