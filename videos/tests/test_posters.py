"""Uploaded posters: re-encoded to the ladder's widths, preferred over the generated poster in
playback and in video representations (signed for private videos), kept across a re-transcode,
deleted with DELETE; the same refusals as every image upload."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.tests.factories import UserFactory
from testing import images as test_images
from testing.clients import assert_error, signed_in_client
from videos import keys
from videos.models import Video
from videos.pipeline.jobs import transcode_here
from videos.tests.conftest import stored_bytes, stored_keys, transcoded_video
from videos.tests.test_captions import published_video

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return signed_in_client(UserFactory())


def _put(client, video, data: bytes, content_type="image/png"):
    return client.generic("PUT", f"/api/v1/videos/{video.pk}/poster", data, content_type=content_type)


def test_a_poster_is_stored_at_the_ladder_widths_and_shown_signed_for_a_private_video(owner, api_client):
    # given a private video
    video = published_video(owner.user, visibility=Video.Visibility.PRIVATE)

    # when its owner uploads a 1000 px wide poster, as multipart
    response = owner.put(
        f"/api/v1/videos/{video.pk}/poster",
        {"file": SimpleUploadedFile("poster.jpg", test_images.picture(1000, 562, fmt="JPEG"))},
        format="multipart",
    )

    # then it is kept at the ladder's widths it covers (640 and 854 of 640/854/1280/1920), as WebP
    assert response.status_code == 200, response.content
    video.refresh_from_db()
    assert video.custom_poster_widths == [640, 854]
    for width in (640, 854):
        image = Image.open(io.BytesIO(stored_bytes(keys.poster_key(video.pk, video.custom_poster_id, width))))
        assert (image.format, image.width) == ("WEBP", width)
    body = response.json()
    assert set(body["poster_urls"]) == {"640", "854"}
    assert body["poster_url"] == body["poster_urls"]["854"]
    assert "/api/v1/playback/" in body["poster_url"] and body["poster_url"].endswith("/poster/854.webp")
    # and the signed URL serves it, with nosniff, to a browser holding nothing else
    served = api_client.get(body["poster_url"])
    assert served.status_code == 200 and served["Content-Type"] == "image/webp"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert b"".join(served.streaming_content) == stored_bytes(keys.poster_key(video.pk, video.custom_poster_id, 854))
    # and playback and the detail agree
    playback = owner.get(f"/api/v1/videos/{video.pk}/playback").json()
    assert playback["poster_url"].endswith("/poster/854.webp") and set(playback["poster_urls"]) == {"640", "854"}
    assert owner.get(f"/api/v1/videos/{video.pk}").json()["poster_url"].endswith("/poster/854.webp")


def test_the_public_list_shows_the_generated_poster_until_one_is_uploaded(owner, api_client):
    video = published_video(owner.user, visibility=Video.Visibility.PUBLIC)
    listed = api_client.get("/api/v1/videos").json()["results"]
    entry = next(item for item in listed if item["id"] == str(video.pk))
    assert entry["poster_url"].endswith("/poster.jpg") and entry["poster_urls"] == {}
    assert _put(owner, video, test_images.picture(2000, 1125)).status_code == 200
    entry = next(item for item in api_client.get("/api/v1/videos").json()["results"] if item["id"] == str(video.pk))
    assert entry["poster_url"].endswith("/poster/1920.webp")
    assert set(entry["poster_urls"]) == {"640", "854", "1280", "1920"}


def test_replacing_and_deleting_a_poster_deletes_its_files(owner, django_capture_on_commit_callbacks):
    video = published_video(owner.user)
    with django_capture_on_commit_callbacks(execute=True):
        assert _put(owner, video, test_images.picture()).status_code == 200
    video.refresh_from_db()
    first = video.custom_poster_id
    with django_capture_on_commit_callbacks(execute=True):
        assert _put(owner, video, test_images.picture(fmt="WEBP")).status_code == 200
    video.refresh_from_db()
    assert video.custom_poster_id != first
    assert stored_keys(keys.poster_prefix(video.pk, first)) == []
    second = video.custom_poster_id
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.delete(f"/api/v1/videos/{video.pk}/poster")
    assert response.status_code == 204
    assert owner.get(f"/api/v1/videos/{video.pk}").json()["poster_url"].endswith("/poster.jpg")
    assert stored_keys(keys.poster_prefix(video.pk, second)) == []


@pytest.mark.parametrize("name", list(test_images.refused_images()))
def test_refused_posters_store_nothing(owner, name):
    video = published_video(owner.user)
    data, status, code = test_images.refused_images()[name]
    assert_error(_put(owner, video, data), status, code)
    video.refresh_from_db()
    assert video.custom_poster_id is None
    assert stored_keys(video.storage_prefix + "poster/") == []


def test_others_cannot_set_a_poster(owner):
    video = published_video(owner.user, visibility=Video.Visibility.PUBLIC)
    stranger = signed_in_client(UserFactory())
    assert_error(_put(stranger, video, test_images.picture()), 404, "not_found")
    assert_error(stranger.delete(f"/api/v1/videos/{video.pk}/poster"), 404, "not_found")


@pytest.mark.django_db(transaction=True)
def test_a_re_transcode_keeps_the_uploaded_poster(media_factory, django_capture_on_commit_callbacks):
    # given a really transcoded video with an uploaded poster
    owner = signed_in_client(UserFactory())
    video = transcoded_video(owner.user, media_factory("poster.mp4", seconds=2, width=320, height=180))
    assert _put(owner, video, test_images.picture(700, 394)).status_code == 200
    video.refresh_from_db()
    poster_id, generated = video.custom_poster_id, video.poster_key

    # when it is transcoded again
    job = transcode_here(video=video)

    # then the new version has its own generated poster, and the uploaded one is still shown
    video.refresh_from_db()
    assert job.status == "succeeded" and video.poster_key != generated
    assert video.custom_poster_id == poster_id
    assert stored_keys(keys.poster_prefix(video.pk, poster_id))
    answer = owner.get(f"/api/v1/videos/{video.pk}/playback").json()
    assert answer["poster_url"].endswith("/poster/640.webp")
