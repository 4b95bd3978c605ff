"""The storage as browsers reach it: presigned URLs made for S3_PUBLIC_ENDPOINT_URL (the proxy's
storage site) with SigV4, server-side calls on the internal endpoint, and the bucket's CORS rule."""

from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.management import call_command

from accounts.tests.factories import UserFactory
from testing.clients import signed_in_client
from videos import storage
from videos.models import Upload, Video
from videos.tests.factories import DraftVideoFactory, VideoFactory
from videos.tests.test_playback import SEGMENT, local, published

pytestmark = pytest.mark.django_db


@pytest.fixture
def public_endpoint(settings):
    """The same moto server under another name, as a proxy in front of the internal endpoint is."""
    internal = urlsplit(settings.STORAGES["default"]["OPTIONS"]["endpoint_url"])
    assert internal.hostname == "127.0.0.1"
    settings.S3_PUBLIC_ENDPOINT_URL = f"http://localhost:{internal.port}"
    return settings.S3_PUBLIC_ENDPOINT_URL


def assert_sigv4_for(url: str, endpoint: str) -> None:
    parts, query = urlsplit(url), parse_qs(urlsplit(url).query)
    assert f"{parts.scheme}://{parts.netloc}" == endpoint
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and "X-Amz-Signature" in query
    assert query["X-Amz-Credential"][0].endswith("/us-east-1/s3/aws4_request")
    assert "AWSAccessKeyId" not in query  # no SigV2


def test_playback_urls_are_signed_for_the_public_endpoint_with_sigv4(public_endpoint, api_client):
    # given a published private video and its owner
    owner = signed_in_client(UserFactory())
    video = published(VideoFactory(owner=owner.user, visibility=Video.Visibility.PRIVATE))
    master_url = owner.get(f"/api/v1/videos/{video.pk}/playback").json()["master_url"]
    # when a player reads the variant playlist
    variant = api_client.get(local(master_url.replace("master.m3u8", "360p/index.m3u8"))).content.decode()
    segments = [line for line in variant.splitlines() if line and not line.startswith("#")]
    # then each segment URL points at the public endpoint, signed with SigV4, and serves the bytes
    for url in segments:
        assert_sigv4_for(url, public_endpoint)
    assert requests.get(segments[0], timeout=10).content == SEGMENT
    # and so do the storyboard's sprites
    vtt = api_client.get(local(master_url.replace("master.m3u8", "storyboard/storyboard.vtt"))).content.decode()
    assert_sigv4_for(next(line for line in vtt.splitlines() if "sprite_001.jpg" in line), public_endpoint)


def test_upload_part_urls_are_signed_for_the_public_endpoint_and_accept_the_part(public_endpoint):
    # given a resumable upload started by a user
    client = signed_in_client(UserFactory())
    video = DraftVideoFactory(owner=client.user)
    data = b"x" * 1000
    answer = client.post(f"/api/v1/videos/{video.id}/uploads", {"size": len(data)}, format="json")
    assert answer.status_code == 201, answer.content
    part_url = answer.json()["parts_missing"][0]["url"]
    # then its part URL is for the public endpoint, with SigV4, and the storage takes the part
    assert_sigv4_for(part_url, public_endpoint)
    put = requests.put(part_url, data=data, timeout=10)
    assert put.status_code == 200 and put.headers["ETag"]
    # while server-side calls keep the internal endpoint
    upload = Upload.objects.get(video=video)
    assert storage.s3_client().meta.endpoint_url.startswith("http://127.0.0.1:")
    assert list(
        storage.s3_client().list_parts(Bucket=storage.s3_bucket(), Key=upload.key, UploadId=upload.s3_upload_id)[
            "Parts"
        ]
    )


def test_without_a_public_endpoint_urls_use_the_storage_endpoint_and_sigv4(settings):
    settings.S3_PUBLIC_ENDPOINT_URL = ""
    internal = settings.STORAGES["default"]["OPTIONS"]["endpoint_url"]
    assert storage.s3_client().meta.config.signature_version == "s3v4"
    url = storage.s3_public_client().generate_presigned_url(
        "get_object", Params={"Bucket": storage.s3_bucket(), "Key": "k"}, ExpiresIn=60
    )
    assert_sigv4_for(url, internal)


def test_configure_bucket_cors_puts_the_rule_playback_and_uploads_need(settings, s3_bucket):
    # given frontends on two origins and a bucket without CORS
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com", "https://admin.example.com"]
    origins = settings.CORS_ALLOWED_ORIGINS
    assert storage.bucket_cors_problems(origins)
    # when the operator runs the command
    out = StringIO()
    call_command("configure_bucket_cors", stdout=out)
    try:
        # then the bucket allows GET, HEAD and PUT from those origins and exposes ETag
        (rule,) = s3_bucket.get_bucket_cors(Bucket=settings.S3_BUCKET)["CORSRules"]
        assert sorted(rule["AllowedOrigins"]) == sorted(origins)
        assert set(rule["AllowedMethods"]) == {"GET", "HEAD", "PUT"} and "ETag" in rule["ExposeHeaders"]
        assert storage.bucket_cors_problems(origins) == []
        assert storage.bucket_cors_problems(["https://evil.example"]) != []
        assert "https://app.example.com" in out.getvalue()
    finally:
        s3_bucket.delete_bucket_cors(Bucket=settings.S3_BUCKET)


def test_configure_bucket_cors_without_origins_is_a_command_error(settings):
    from django.core.management.base import CommandError

    settings.CORS_ALLOWED_ORIGINS = []
    with pytest.raises(CommandError, match="CORS_ALLOWED_ORIGINS"):
        call_command("configure_bucket_cors", stdout=StringIO())
