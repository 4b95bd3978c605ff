"""Avatars: accepted by their bytes, re-encoded to three WebP squares under a UUID key, served
publicly with nosniff, replaced and deleted with their files; everything else refused, storing nothing."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import User
from accounts.tests.factories import TEST_PASSWORD, UserFactory
from testing import images as test_images
from testing.clients import assert_error
from videos import keys
from videos.tests.conftest import stored_bytes, stored_keys
from vod import images

URL = "/api/v1/users/me/avatar"


def _put_raw(client, data: bytes, content_type: str = "application/octet-stream"):
    return client.generic("PUT", URL, data, content_type=content_type)


def _put_file(client, data: bytes, name: str = "me.png", content_type: str = "image/png"):
    return client.put(URL, {"file": SimpleUploadedFile(name, data, content_type)}, format="multipart")


def _stored(user: User) -> dict[int, Image.Image]:
    user.refresh_from_db()
    return {
        size: Image.open(io.BytesIO(stored_bytes(keys.avatar_key(user.avatar_id, size)))) for size in (64, 256, 512)
    }


@pytest.mark.parametrize("send", ["raw", "multipart"])
def test_an_avatar_is_re_encoded_to_three_webp_squares_and_served_publicly(auth_client, api_client, send):
    # when
    data = test_images.picture(800, 600, fmt="JPEG")
    response = _put_raw(auth_client, data, "image/jpeg") if send == "raw" else _put_file(auth_client, data)

    # then
    assert response.status_code == 200, response.content
    urls = response.json()["avatar_urls"]
    assert set(urls) == {"64", "256", "512"}
    stored = _stored(auth_client.user)
    assert {size: (image.format, image.size) for size, image in stored.items()} == {
        size: ("WEBP", (size, size)) for size in (64, 256, 512)
    }
    assert stored_keys(keys.avatar_prefix(auth_client.user.avatar_id)) == sorted(
        keys.avatar_key(auth_client.user.avatar_id, size) for size in (64, 256, 512)
    )
    served = api_client.get(urls["256"])
    assert served.status_code == 200
    assert served["Content-Type"] == "image/webp"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert b"".join(served.streaming_content) == stored_bytes(keys.avatar_key(auth_client.user.avatar_id, 256))
    assert auth_client.get("/api/v1/users/me").json()["avatar_urls"] == urls


def test_replacing_and_deleting_an_avatar_deletes_the_old_files(auth_client, django_capture_on_commit_callbacks):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        assert _put_raw(auth_client, test_images.picture()).status_code == 200
    auth_client.user.refresh_from_db()
    first = auth_client.user.avatar_id

    # when replaced
    with django_capture_on_commit_callbacks(execute=True):
        assert _put_raw(auth_client, test_images.picture(fmt="WEBP")).status_code == 200
    auth_client.user.refresh_from_db()
    second = auth_client.user.avatar_id

    # then only the new files remain
    assert second != first
    assert stored_keys(keys.avatar_prefix(first)) == []
    assert len(stored_keys(keys.avatar_prefix(second))) == 3

    # and when deleted, none
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.delete(URL)
    assert response.status_code == 204
    assert auth_client.get("/api/v1/users/me").json()["avatar_urls"] is None
    assert stored_keys(keys.avatar_prefix(second)) == []
    assert User.objects.get(pk=auth_client.user.pk).avatar_id is None


@pytest.mark.parametrize("name", list(test_images.refused_images()))
@pytest.mark.parametrize("send", ["raw", "multipart"])
def test_refused_images_store_nothing(auth_client, name, send):
    # given anything but a JPEG, PNG or WebP, named and declared as a PNG
    data, status, code = test_images.refused_images()[name]
    before = stored_keys("avatars/")

    # when
    response = (
        _put_file(auth_client, data, "photo.png") if send == "multipart" else _put_raw(auth_client, data, "image/png")
    )

    # then
    assert_error(response, status, code)
    assert User.objects.get(pk=auth_client.user.pk).avatar_id is None
    assert stored_keys("avatars/") == before


@pytest.mark.parametrize("send", ["raw", "multipart"])
def test_one_byte_over_the_limit_is_413(auth_client, settings, send):
    settings.IMAGE_MAX_BYTES = 10 * 1024 * 1024
    png = test_images.picture()
    data = png + b"\x00" * (settings.IMAGE_MAX_BYTES + 1 - len(png))
    before = stored_keys("avatars/")
    response = _put_file(auth_client, data) if send == "multipart" else _put_raw(auth_client, data)
    assert_error(response, 413, "image_too_large")
    assert stored_keys("avatars/") == before


def test_exactly_the_limit_is_read(auth_client, settings):
    """The limit counts bytes read, not the declared length: a body of exactly the limit passes
    that check (and is then judged by its content: this one is a PNG with padding after IEND)."""
    png = test_images.picture()
    settings.IMAGE_MAX_BYTES = len(png) + 1000
    response = _put_raw(auth_client, png + b"\x00" * 1000)
    assert response.status_code == 200, response.content


def test_exif_gps_is_dropped_and_orientation_applied(auth_client):
    # given a landscape JPEG whose EXIF says "rotate 90° clockwise" (6) and where it was taken
    data = test_images.jpeg_with_exif(orientation=6, gps=True, width=400, height=200)

    # when
    assert _put_raw(auth_client, data).status_code == 200

    # then the stored squares carry no EXIF at all, and show the picture turned upright
    auth_client.user.refresh_from_db()
    raw = stored_bytes(keys.avatar_key(auth_client.user.avatar_id, 512))
    assert b"Exif" not in raw and b"SecretCam" not in raw and b"GPS" not in raw
    image = Image.open(io.BytesIO(raw))
    assert not image.getexif()
    rgb = image.convert("RGB")
    # red was on the left, blue on the right; after a clockwise turn red is on top, blue below
    top, bottom = rgb.getpixel((256, 20)), rgb.getpixel((256, 490))
    assert top[0] > 150 and top[2] < 100, top
    assert bottom[2] > 150 and bottom[0] < 100, bottom


def test_a_script_after_the_png_end_is_not_stored(auth_client):
    data = test_images.picture() + b"<script>alert(document.cookie)</script>"
    assert _put_raw(auth_client, data, "text/html").status_code == 200
    auth_client.user.refresh_from_db()
    for size in (64, 256, 512):
        assert b"<script>" not in stored_bytes(keys.avatar_key(auth_client.user.avatar_id, size))


def test_an_unknown_avatar_is_404(api_client, db):
    response = api_client.get("/api/v1/avatars/00000000-0000-0000-0000-000000000000/64.webp")
    assert_error(response, 404, "not_found")


def test_signed_out_callers_cannot_set_an_avatar(api_client, db):
    assert_error(_put_raw(api_client, test_images.picture()), 401, "not_authenticated")


def test_the_admin_user_page_previews_the_avatar(auth_client, client):
    assert _put_raw(auth_client, test_images.picture()).status_code == 200
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(f"/admin/accounts/user/{auth_client.user.pk}/change/").content.decode()
    auth_client.user.refresh_from_db()
    assert f'src="/api/v1/avatars/{auth_client.user.avatar_id}/256.webp"' in page


def test_reading_stops_one_byte_past_the_limit():
    """The stream is never read further than the limit plus one byte, whatever it holds."""

    class Endless(io.RawIOBase):
        def __init__(self):
            self.read_total = 0

        def read(self, size=-1):
            self.read_total += size
            return b"\0" * size

    stream = Endless()
    with pytest.raises(images.ImageTooLarge):
        images.read_limited(stream, limit=1000)
    assert stream.read_total == 1001


def test_deleting_the_account_deletes_the_avatar_files(auth_client, django_capture_on_commit_callbacks):
    assert _put_raw(auth_client, test_images.picture()).status_code == 200
    auth_client.user.refresh_from_db()
    prefix = keys.avatar_prefix(auth_client.user.avatar_id)
    assert len(stored_keys(prefix)) == 3
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.delete("/api/v1/users/me", {"password": TEST_PASSWORD}, format="json")
    assert response.status_code == 204, response.content
    assert stored_keys(prefix) == []
