"""Credentials in URLs (playback tokens, part-upload tokens, presigned S3 signatures) never reach logs."""

import logging

import pytest

from accounts.tests.factories import UserFactory
from testing.clients import signed_in_client
from videos.models import Video
from videos.tests.factories import VideoFactory
from videos.tests.test_playback import local, published
from vod.log_redaction import RedactingLogFilter, redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "/api/v1/playback/eyJ2IjoiMSJ9:1t2:abc/360p/index.m3u8",
            "/api/v1/playback/[redacted]/360p/index.m3u8",
        ),
        (
            "/api/v1/uploads/5/parts/2?token=abc.def:ghi&x=1",
            "/api/v1/uploads/5/parts/2?token=[redacted]&x=1",
        ),
        (
            "https://s3.example/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F2026&"
            "X-Amz-Signature=deadbeef&X-Amz-Security-Token=zz&partNumber=3",
            "https://s3.example/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[redacted]&"
            "X-Amz-Signature=[redacted]&X-Amz-Security-Token=[redacted]&partNumber=3",
        ),
        ("https://s3.example/k?Signature=abc&Expires=1", "https://s3.example/k?Signature=[redacted]&Expires=1"),
        ('GET /api/v1/videos?tokenish=1&q=token HTTP/1.1" 200', 'GET /api/v1/videos?tokenish=1&q=token HTTP/1.1" 200'),
        ("/api/v1/playback", "/api/v1/playback"),
    ],
)
def test_redact_url_replaces_credential_values_only(url, expected):
    assert redact_url(url) == expected


def test_the_filter_redacts_formatted_messages():
    record = logging.LogRecord(
        "django.request",
        logging.ERROR,
        __file__,
        1,
        "Internal Server Error: %s",
        ("/api/v1/playback/tok/360p/a.m4s",),
        None,
    )
    assert RedactingLogFilter().filter(record) is True
    assert record.getMessage() == "Internal Server Error: /api/v1/playback/[redacted]/360p/a.m4s"


@pytest.mark.django_db
def test_the_request_log_never_holds_a_playback_token(caplog, api_client):
    # given a signed-in viewer's playback token
    owner = signed_in_client(UserFactory())
    video = published(VideoFactory(owner=owner.user, visibility=Video.Visibility.PRIVATE))
    master = local(owner.get(f"/api/v1/videos/{video.pk}/playback").json()["master_url"])
    token = master.split("/playback/")[1].split("/")[0]

    # when a player fetches it
    with caplog.at_level(logging.INFO, logger="vod.request"):
        assert api_client.get(master).status_code == 200

    # then the request log line has the path without the token
    lines = [r for r in caplog.records if r.name == "vod.request"]
    assert lines and all(token not in r.getMessage() and token not in r.path for r in lines)
    assert "/playback/[redacted]/master.m3u8" in lines[-1].getMessage()
