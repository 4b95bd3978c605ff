"""Uploads of a video's source: one streamed request, and resumable multipart uploads on S3 (moto,
presigned part URLs) and on the filesystem (parts through the API); validation, permissions,
idempotency, clean-up. Storage is inspected with our own S3 client or straight from the disk."""

import hashlib
import io
import os
import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.core.files.storage import default_storage
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from testing.clients import assert_error, signed_in_client
from videos import keys, storage
from videos.catalog.services import delete_storage
from videos.models import Upload, Video
from videos.tests.conftest import (
    MiB,
    pending_multipart_uploads,
    put_part,
    raw_put,
    stored_bytes,
    stored_keys,
)
from videos.tests.factories import DraftVideoFactory, VideoFactory
from videos.uploads import parts as upload_parts
from videos.uploads.services import uploads_abort_stale
from vod.models import IdempotencyRecord

pytestmark = pytest.mark.django_db

Status = Video.Status


# --- helpers --------------------------------------------------------------------------------------


def put_source(client, video, data: bytes, **extra):
    return client.put(f"/api/v1/videos/{video.id}/source", data=data, content_type="application/octet-stream", **extra)


def start(client, video, size, **fields):
    return client.post(f"/api/v1/videos/{video.id}/uploads", {"size": size, **fields}, format="json")


def started(client, video, size, **fields) -> dict:
    response = start(client, video, size, **fields)
    assert response.status_code == 201, response.content
    return response.json()


def chunk_of(data: bytes, part_size: int, number: int) -> bytes:
    return data[(number - 1) * part_size : number * part_size]


def send_parts(upload: dict, data: bytes, *, skip=()) -> dict[int, str]:
    """PUTs every missing part listed by the upload (but `skip`); returns number -> ETag."""
    etags = {}
    for target in upload["parts_missing"]:
        number = target["number"]
        if number in skip:
            continue
        answer = put_part(target["url"], chunk_of(data, upload["part_size"], number))
        assert answer.status == 200, answer.body
        assert answer.etag
        etags[number] = answer.etag
    return etags


def complete(client, upload_id, etags: dict[int, str] | list[tuple[int, str]]):
    items = sorted(etags.items()) if isinstance(etags, dict) else etags
    parts = [{"number": number, "etag": etag} for number, etag in items]
    return client.post(f"/api/v1/uploads/{upload_id}/complete", {"parts": parts}, format="json")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_keys(video) -> list[str]:
    return stored_keys(f"{video.storage_prefix}source/")


@pytest.fixture
def small_parts(settings):
    """1000-byte parts: a 2500-byte upload has parts of 1000, 1000 and 500 bytes. S3 refuses to
    assemble parts under 5 MiB, so tests with these parts never expect a successful S3 complete."""
    settings.UPLOAD_PART_SIZE = 1000
    return 1000


@pytest.fixture
def owner_video(auth_client):
    return DraftVideoFactory(owner=auth_client.user)


# --- resumable uploads: the whole flow ------------------------------------------------------------


def test_a_20_mb_upload_in_parts_resumes_after_a_dropped_part_and_stores_identical_bytes(
    backend, settings, auth_client, owner_video, queued, django_capture_on_commit_callbacks
):
    # given: 5 MiB parts (S3's minimum but the last) and a file whose last part is short
    settings.UPLOAD_PART_SIZE = 5 * MiB
    data = os.urandom(20 * MiB + 12_345)
    upload = started(auth_client, owner_video, len(data), filename="holiday.mp4", content_type="video/mp4")
    assert (upload["part_size"], upload["part_count"], upload["status"]) == (5 * MiB, 5, "active")
    assert [(t["number"], t["size"]) for t in upload["parts_missing"]] == [
        (1, 5 * MiB),
        (2, 5 * MiB),
        (3, 5 * MiB),
        (4, 5 * MiB),
        (5, 12_345),
    ]
    host = urlsplit(upload["parts_missing"][0]["url"]).netloc
    assert (host == "testserver") == (backend == "filesystem")  # API parts vs presigned S3 URLs
    etags = send_parts(upload, data, skip={3})  # part 3 is lost on the way

    # when: the client resumes
    resumed = auth_client.get(f"/api/v1/uploads/{upload['id']}")

    # then: part 3 is missing, with a URL that works; the others are received with their ETags
    assert resumed.status_code == 200, resumed.content
    body = resumed.json()
    assert [(p["number"], p["size"]) for p in body["parts_missing"]] == [(3, 5 * MiB)]
    assert {p["number"]: p["etag"].strip('"') for p in body["parts_received"]} == {
        n: etag.strip('"') for n, etag in etags.items()
    }
    etags |= send_parts(body, data)
    assert set(etags) == {1, 2, 3, 4, 5}

    # when: it completes
    with django_capture_on_commit_callbacks(execute=True):
        completed = complete(auth_client, upload["id"], etags)

    # then: the source is stored byte for byte, the video is uploaded and its probe queued
    assert completed.status_code == 200, completed.content
    assert (completed.json()["status"], completed.json()["source_size"]) == ("uploaded", len(data))
    owner_video.refresh_from_db()
    assert owner_video.status == Status.UPLOADED
    with default_storage.open(owner_video.source_key, "rb") as stored:
        content = stored.read()
    assert (len(content), sha(content)) == (len(data), sha(data))
    assert stored_keys(owner_video.storage_prefix) == [owner_video.source_key]  # no parts left over
    assert pending_multipart_uploads(owner_video.storage_prefix) == []
    assert Upload.objects.get(pk=upload["id"]).status == Upload.Status.COMPLETED
    assert queued == [("probe_source", str(owner_video.id))]


def test_an_aborted_upload_leaves_no_object_behind(backend, small_parts, auth_client, owner_video):
    # given: two of three parts received
    data = os.urandom(2500)
    upload = started(auth_client, owner_video, len(data))
    send_parts(upload, data, skip={3})
    late_part_url = upload["parts_missing"][2]["url"]

    # when
    response = auth_client.delete(f"/api/v1/uploads/{upload['id']}")

    # then
    assert response.status_code == 204, response.content
    assert stored_keys(owner_video.storage_prefix) == []
    assert pending_multipart_uploads(owner_video.storage_prefix) == []
    shown = auth_client.get(f"/api/v1/uploads/{upload['id']}").json()
    assert (shown["status"], shown["parts_missing"]) == ("aborted", [])
    assert_error(complete(auth_client, upload["id"], {1: "x"}), 409, "upload_not_active")
    late = put_part(late_part_url, chunk_of(data, small_parts, 3))
    if backend == "filesystem":
        assert (late.status, late.body["code"]) == (409, "upload_not_active")
    else:  # S3 answers NoSuchUpload (404); moto answers it with a 500 of its own
        assert late.status >= 400
    assert stored_keys(owner_video.storage_prefix) == []
    assert auth_client.delete(f"/api/v1/uploads/{upload['id']}").status_code == 204  # aborting twice is fine
    owner_video.refresh_from_db()
    assert (owner_video.status, owner_video.source_key) == (Status.DRAFT, "")
    assert start(auth_client, owner_video, 2500).status_code == 201  # the video takes a new upload


def test_starting_a_new_upload_abandons_the_earlier_one(backend, small_parts, auth_client, owner_video):
    # given
    data = os.urandom(2500)
    first = started(auth_client, owner_video, len(data))
    send_parts(first, data, skip={3})

    # when
    second = started(auth_client, owner_video, len(data))

    # then
    assert Upload.objects.get(pk=first["id"]).status == Upload.Status.ABORTED
    assert stored_keys(f"{owner_video.storage_prefix}uploads/{first['id']}/") == []
    assert [u["UploadId"] for u in pending_multipart_uploads(owner_video.storage_prefix)] == (
        [Upload.objects.get(pk=second["id"]).s3_upload_id] if backend == "s3" else []
    )
    assert_error(complete(auth_client, first["id"], {1: "x"}), 409, "upload_not_active")


def test_a_complete_that_failed_can_be_retried_once_fixed(
    backend, auth_client, owner_video, queued, django_capture_on_commit_callbacks
):
    # given: a one-part upload, received
    data = os.urandom(3000)
    upload = started(auth_client, owner_video, len(data))
    etags = send_parts(upload, data)

    # when: the client sends a wrong ETag, then the right one
    wrong = complete(auth_client, upload["id"], {1: "0" * 32})
    with django_capture_on_commit_callbacks(execute=True):
        right = complete(auth_client, upload["id"], etags)

    # then
    assert_error(wrong, 400, "upload_incomplete")
    assert right.status_code == 200, right.content
    owner_video.refresh_from_db()
    assert stored_bytes(owner_video.source_key) == data
    assert queued == [("probe_source", str(owner_video.id))]
    assert_error(complete(auth_client, upload["id"], etags), 409, "upload_not_active")  # only once


# --- resumable uploads: bad input at complete -----------------------------------------------------


def _assert_still_open(client, upload: dict, video, received: set[int]) -> None:
    """A refused complete changes nothing: the upload is active with its parts, no source."""
    shown = client.get(f"/api/v1/uploads/{upload['id']}")
    assert shown.status_code == 200, shown.content
    assert shown.json()["status"] == "active"
    assert {p["number"] for p in shown.json()["parts_received"]} == received
    assert source_keys(video) == []
    video.refresh_from_db()
    assert (video.status, video.source_key) == (Status.DRAFT, "")
    if storage.uses_s3():
        assert len(pending_multipart_uploads(video.storage_prefix)) == 1


def test_complete_before_every_part_arrived_is_refused(backend, small_parts, auth_client, owner_video):
    # given: parts 1 and 2 of 3
    data = os.urandom(2500)
    upload = started(auth_client, owner_video, len(data))
    etags = send_parts(upload, data, skip={3})

    # when: once listing what was sent, once claiming part 3 too
    listed_sent = complete(auth_client, upload["id"], etags)
    claimed_all = complete(auth_client, upload["id"], {**etags, 3: "0" * 32})

    # then
    assert "3" in str(assert_error(listed_sent, 400, "upload_incomplete")["fields"]["parts"])
    assert "Part 3" in str(assert_error(claimed_all, 400, "upload_incomplete")["fields"]["parts"])
    _assert_still_open(auth_client, upload, owner_video, {1, 2})


def test_complete_with_an_etag_that_does_not_match_is_refused(backend, small_parts, auth_client, owner_video):
    # given: every part received
    data = os.urandom(2500)
    upload = started(auth_client, owner_video, len(data))
    etags = send_parts(upload, data)

    # when: parts 1 and 2 carry each other's ETag
    response = complete(auth_client, upload["id"], {**etags, 1: etags[2], 2: etags[1]})

    # then
    body = assert_error(response, 400, "upload_incomplete")
    assert "Part 1" in str(body["fields"]["parts"])
    _assert_still_open(auth_client, upload, owner_video, {1, 2, 3})


@pytest.mark.parametrize(
    "numbers",
    [[1, 2], [2, 3], [1, 3, 2], [1, 2, 2, 3], [1, 2, 3, 4], [3, 2, 1]],
    ids=["short", "no-first", "unordered", "duplicate", "extra", "reversed"],
)
def test_complete_with_wrong_part_numbers_is_refused(backend, small_parts, auth_client, owner_video, numbers):
    # given: every part received
    data = os.urandom(2500)
    upload = started(auth_client, owner_video, len(data))
    etags = send_parts(upload, data)

    # when
    response = complete(auth_client, upload["id"], [(n, etags.get(n, "0" * 32)) for n in numbers])

    # then
    assert_error(response, 400, "upload_incomplete")
    _assert_still_open(auth_client, upload, owner_video, {1, 2, 3})


@pytest.mark.parametrize("parts", [[{"number": 0, "etag": "x"}], [{"number": 1}], [], "nope"])
def test_complete_with_a_malformed_part_list_is_refused(auth_client, owner_video, small_parts, parts):
    # given
    upload = started(auth_client, owner_video, 2500)

    # when
    response = auth_client.post(f"/api/v1/uploads/{upload['id']}/complete", {"parts": parts}, format="json")

    # then: [] is a list like any other, but it does not list the parts
    assert response.status_code == 400, response.content
    assert response.json()["code"] == ("upload_incomplete" if parts == [] else "validation_error")
    _assert_still_open(auth_client, upload, owner_video, set())


def test_a_part_of_the_wrong_size_sent_to_s3_is_caught_at_complete(small_parts, auth_client, owner_video):
    # given: S3 takes whatever is PUT to a presigned URL: part 1 comes short
    data = os.urandom(2500)
    upload = started(auth_client, owner_video, len(data))
    short = put_part(upload["parts_missing"][0]["url"], data[:999])
    etags = {1: short.etag, **send_parts(upload, data, skip={1})}

    # when
    response = complete(auth_client, upload["id"], etags)

    # then
    body = assert_error(response, 400, "upload_incomplete")
    assert "999" in str(body["fields"]["parts"])
    _assert_still_open(auth_client, upload, owner_video, {1, 2, 3})


def test_s3_part_urls_are_sigv4_and_sign_each_parts_length(small_parts, auth_client, owner_video, settings):
    # given an upload of three parts, the last one short
    upload = started(auth_client, owner_video, 2500)

    # then each part URL is SigV4 and signs the Content-Length the part must have
    assert settings.STORAGES["default"]["OPTIONS"]["signature_version"] == "s3v4"
    for part in upload["parts_missing"]:
        query = parse_qs(urlsplit(part["url"]).query)
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
        assert "content-length" in query["X-Amz-SignedHeaders"][0].split(";")
        assert part["size"] == (1000 if part["number"] < 3 else 500)
    # (moto checks no signatures; S3 refuses a body whose length differs from the signed one, and
    # a part of the wrong size that reached storage anyway is refused at complete, as above)


def test_an_upload_past_its_expiry_no_longer_completes(small_parts, auth_client, owner_video, filesystem):
    # given
    data = os.urandom(2500)
    upload = started(auth_client, owner_video, len(data))
    etags = send_parts(upload, data, skip={3})
    Upload.objects.filter(pk=upload["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    # when
    late_part = put_part(upload["parts_missing"][2]["url"], chunk_of(data, small_parts, 3))
    late_complete = complete(auth_client, upload["id"], etags)

    # then
    assert (late_part.status, late_part.body["code"]) == (409, "upload_not_active")
    assert_error(late_complete, 409, "upload_not_active")
    assert source_keys(owner_video) == []


# --- resumable uploads: checks again at complete, and nothing half-written -------------------------


def test_complete_checks_the_quota_again(backend, settings, auth_client, owner_video, queued):
    # given: an upload that fit the quota when it started...
    settings.VIDEO_USER_QUOTA_BYTES = 10_000
    data = os.urandom(6_000)
    upload = started(auth_client, owner_video, len(data))
    etags = send_parts(upload, data)
    # ...then the owner's other video grew (its renditions were written): 5 000 + 6 000 > 10 000
    VideoFactory(owner=auth_client.user, source_size=3_000, derived_size=2_000)

    # when
    response = complete(auth_client, upload["id"], etags)

    # then
    assert_error(response, 413, "quota_exceeded")
    owner_video.refresh_from_db()
    assert (owner_video.status, owner_video.source_key) == (Status.DRAFT, "")
    assert source_keys(owner_video) == []


@pytest.mark.parametrize("meanwhile", ["source_sent_in_one_request", "size_limit_lowered"])
def test_a_complete_refused_after_the_parts_matched_leaves_nothing_half_written(
    backend, settings, auth_client, owner_video, queued, django_capture_on_commit_callbacks, meanwhile
):
    # given: a received one-part upload, and then something that makes the video refuse it
    data = os.urandom(3000)
    upload = started(auth_client, owner_video, len(data))
    etags = send_parts(upload, data)
    if meanwhile == "source_sent_in_one_request":
        with django_capture_on_commit_callbacks(execute=True):
            assert put_source(auth_client, owner_video, b"other source").status_code == 200
        expected = (409, "source_not_accepted")
    else:
        settings.VIDEO_MAX_UPLOAD_BYTES = 2000
        expected = (413, "upload_too_large")
    owner_video.refresh_from_db()
    kept = [owner_video.source_key] if owner_video.source_key else []

    # when
    response = complete(auth_client, upload["id"], etags)

    # then: refused, the parts were not assembled into an orphan object, and the upload can still
    # be looked at and aborted cleanly
    assert_error(response, *expected)
    after_refusal = source_keys(owner_video)
    shown = auth_client.get(f"/api/v1/uploads/{upload['id']}").status_code
    aborted = auth_client.delete(f"/api/v1/uploads/{upload['id']}").status_code
    assert {
        "objects after the refusal": after_refusal,
        "GET upload": shown,
        "DELETE upload": aborted,
        "objects after the abort": source_keys(owner_video),
        "S3 multipart uploads": pending_multipart_uploads(owner_video.storage_prefix),
    } == {
        "objects after the refusal": kept,
        "GET upload": 200,
        "DELETE upload": 204,
        "objects after the abort": kept,
        "S3 multipart uploads": [],
    }


# --- parts sent to the API (filesystem backend) ---------------------------------------------------


def _with_token(url: str, token: str) -> str:
    return re.sub(r"token=[^&]*", f"token={token}", url)


@pytest.mark.parametrize("token", ["missing", "garbage", "other_part", "other_upload", "expired"])
def test_a_part_url_with_a_bad_token_is_refused(token, small_parts, filesystem, auth_client, owner_video, monkeypatch):
    # given
    upload = started(auth_client, owner_video, 2500)
    url = upload["parts_missing"][0]["url"]
    if token == "missing":
        url = url.split("?")[0]
    elif token == "garbage":
        url = _with_token(url, "abc:def")
    elif token == "other_part":
        url = _with_token(url, urlsplit(upload["parts_missing"][1]["url"]).query.removeprefix("token="))
    elif token == "other_upload":
        other = started(auth_client, DraftVideoFactory(owner=auth_client.user), 2500)
        url = _with_token(url, urlsplit(other["parts_missing"][0]["url"]).query.removeprefix("token="))
    else:  # issued seven hours ago (part URLs live six)
        issued = signing.b62_encode(int(time.time()) - 7 * 3600)
        monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: issued)
        url = auth_client.get(f"/api/v1/uploads/{upload['id']}").json()["parts_missing"][0]["url"]
        monkeypatch.undo()

    # when
    answer = put_part(url, os.urandom(1000))

    # then
    assert (answer.status, answer.body["code"]) == (403, "invalid_part_url")
    assert stored_keys(owner_video.storage_prefix) == []
    assert not Upload.objects.get(pk=upload["id"]).parts.exists()
    fresh = auth_client.get(f"/api/v1/uploads/{upload['id']}").json()["parts_missing"][0]["url"]
    assert put_part(fresh, os.urandom(1000)).status == 200  # a fresh URL from the upload works


@pytest.mark.parametrize(("number", "size"), [(1, 999), (1, 1001), (3, 1000), (3, 499)])
def test_a_part_of_the_wrong_size_is_refused(number, size, small_parts, filesystem, auth_client, owner_video):
    # given: parts of 1000, 1000 and 500 bytes
    upload = started(auth_client, owner_video, 2500)
    url = upload["parts_missing"][number - 1]["url"]

    # when
    answer = put_part(url, os.urandom(size))

    # then
    assert (answer.status, answer.body["code"]) == (400, "bad_part")
    assert stored_keys(owner_video.storage_prefix) == []
    assert auth_client.get(f"/api/v1/uploads/{upload['id']}").json()["parts_received"] == []


@pytest.mark.parametrize("number", [0, 4, 99999])
def test_a_part_number_out_of_range_is_refused(number, small_parts, filesystem, auth_client, owner_video):
    # given: a correctly signed URL for a part the upload does not have
    upload = started(auth_client, owner_video, 2500)
    token = upload_parts.part_token(Upload.objects.get(pk=upload["id"]), number)

    # when
    response = APIClient().put(
        f"/api/v1/uploads/{upload['id']}/parts/{number}?token={token}",
        data=os.urandom(500),
        content_type="application/octet-stream",
    )

    # then
    assert_error(response, 400, "bad_part")
    assert stored_keys(owner_video.storage_prefix) == []


def test_a_part_without_content_length_is_refused(small_parts, filesystem, auth_client, owner_video):
    # given
    upload = started(auth_client, owner_video, 2500)
    path = urlsplit(upload["parts_missing"][0]["url"])

    # when
    response = APIClient().put(
        f"{path.path}?{path.query}", data=os.urandom(1000), content_type="application/octet-stream", CONTENT_LENGTH=""
    )

    # then
    assert_error(response, 411, "length_required")
    assert stored_keys(owner_video.storage_prefix) == []


def test_the_api_does_not_take_parts_of_an_s3_upload(small_parts, auth_client, owner_video):
    # given: an S3 upload, and a correctly signed API part URL for it
    upload = started(auth_client, owner_video, 2500)
    token = upload_parts.part_token(Upload.objects.get(pk=upload["id"]), 1)

    # when
    response = APIClient().put(
        f"/api/v1/uploads/{upload['id']}/parts/1?token={token}",
        data=os.urandom(1000),
        content_type="application/octet-stream",
    )

    # then
    assert_error(response, 400, "bad_part")
    assert stored_keys(owner_video.storage_prefix) == []


def test_a_resent_part_replaces_the_earlier_copy(small_parts, filesystem, auth_client, owner_video):
    # given
    upload = started(auth_client, owner_video, 2500)
    url = upload["parts_missing"][0]["url"]
    first = put_part(url, b"a" * 1000)

    # when
    second = put_part(url, b"b" * 1000)

    # then
    assert first.etag != second.etag
    received = auth_client.get(f"/api/v1/uploads/{upload['id']}").json()["parts_received"]
    assert [(p["number"], p["etag"]) for p in received] == [(1, second.etag.strip('"'))]
    assert stored_bytes(keys.upload_part_key(owner_video.pk, upload["id"], 1)) == b"b" * 1000
    assert_error(complete(auth_client, upload["id"], {1: first.etag}), 400, "upload_incomplete")


def test_a_part_sent_after_its_video_was_deleted_is_not_a_server_error(
    small_parts, filesystem, auth_client, owner_video, queued
):
    # given: the part URL outlives the upload (its video is deleted)
    upload = started(auth_client, owner_video, 2500)
    url = upload["parts_missing"][0]["url"]
    assert auth_client.delete(f"/api/v1/videos/{owner_video.id}").status_code == 204

    # when
    answer = put_part(url, os.urandom(1000))

    # then
    assert (answer.status, answer.body["code"]) in {(404, "not_found"), (409, "upload_not_active")}
    assert stored_keys(owner_video.storage_prefix) == []


@pytest.mark.django_db(transaction=True)
def test_a_part_resent_over_a_dropped_connection_does_not_break_the_upload(
    small_parts, filesystem, live_server, auth_client, owner_video, queued
):
    # given: part 1 received, then re-sent and cut short (the connection dropped after 400 bytes)
    data = os.urandom(2500)
    upload = started(auth_client, owner_video, len(data))
    etags = send_parts(upload, data, skip={2, 3})
    path = urlsplit(upload["parts_missing"][0]["url"])
    status, body = raw_put(live_server.url, f"{path.path}?{path.query}", data[:400], declared_length=1000)
    assert (status, body["code"]) == (400, "bad_part")

    # when: the client resumes from what the upload says and completes
    resumed = auth_client.get(f"/api/v1/uploads/{upload['id']}").json()
    etags |= send_parts(resumed, data)
    etags |= {p["number"]: p["etag"] for p in resumed["parts_received"]}
    response = complete(auth_client, upload["id"], etags)

    # then: the source is whole
    assert response.status_code == 200, response.content
    owner_video.refresh_from_db()
    assert stored_bytes(owner_video.source_key) == data


# --- resumable uploads: sizes at start ------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "status", "code"),
    [
        (-1, 400, "validation_error"),
        (0, 400, "validation_error"),
        ("lots", 400, "validation_error"),
        (1.5, 400, "validation_error"),
        (None, 400, "validation_error"),
        (10 * 1024**3 + 1, 413, "upload_too_large"),
        (2**63, 413, "upload_too_large"),
        (10**30, 413, "upload_too_large"),
    ],
)
def test_a_bad_size_at_start_is_refused(size, status, code, settings, auth_client, owner_video):
    # given
    settings.VIDEO_MAX_UPLOAD_BYTES = 10 * 1024**3

    # when
    response = auth_client.post(f"/api/v1/videos/{owner_video.id}/uploads", {"size": size}, format="json")

    # then
    body = assert_error(response, status, code)
    if code == "validation_error":
        assert "size" in body["fields"]
    assert not owner_video.uploads.exists()
    assert pending_multipart_uploads(owner_video.storage_prefix) == []


def test_starting_over_the_quota_is_refused_counting_uploads_in_progress(settings, auth_client, owner_video):
    # given: a 10 000-byte quota, 3 000 stored, 4 000 being uploaded into another video
    settings.VIDEO_USER_QUOTA_BYTES = 10_000
    VideoFactory(owner=auth_client.user, source_size=2_000, derived_size=1_000)
    started(auth_client, DraftVideoFactory(owner=auth_client.user), 4_000)

    # when
    over = start(auth_client, owner_video, 3_001)
    exactly = start(auth_client, owner_video, 3_000)

    # then
    assert_error(over, 413, "quota_exceeded")
    assert exactly.status_code == 201, exactly.content
    assert owner_video.uploads.count() == 1


# --- one-request uploads --------------------------------------------------------------------------


def test_a_source_in_one_request_is_stored_identical(
    backend, auth_client, owner_video, queued, django_capture_on_commit_callbacks
):
    # given
    data = os.urandom(3 * MiB + 7)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = put_source(auth_client, owner_video, data)

    # then
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["source_size"]) == ("uploaded", len(data))
    owner_video.refresh_from_db()
    assert stored_keys(owner_video.storage_prefix) == [owner_video.source_key]
    with default_storage.open(owner_video.source_key, "rb") as stored:
        assert sha(stored.read()) == sha(data)
    assert queued == [("probe_source", str(owner_video.id))]


def test_a_source_in_one_request_is_read_in_chunks_from_the_request_stream(
    backend, auth_client, owner_video, queued, monkeypatch
):
    # given: a record of what the storage reads out of the request
    reads, streams = [], []
    original_init, original_read = storage.CountingReader.__init__, storage.CountingReader.read

    def init(self, stream, **kwargs):
        streams.append(stream)
        original_init(self, stream, **kwargs)

    def read(self, size=-1):
        data = original_read(self, size)
        reads.append(len(data))
        return data

    monkeypatch.setattr(storage.CountingReader, "__init__", init)
    monkeypatch.setattr(storage.CountingReader, "read", read)
    data = os.urandom(12 * MiB)

    # when
    response = put_source(auth_client, owner_video, data)

    # then: never the whole body at once, and not from a copy of the body in memory
    assert response.status_code == 200, response.content
    assert sum(reads) == len(data)
    assert max(reads) <= 8 * MiB
    assert len(streams) == 1
    assert not isinstance(streams[0], io.BytesIO)


def test_a_source_over_the_size_limit_is_refused_before_anything_is_stored(
    backend, settings, auth_client, owner_video, queued
):
    # given
    settings.VIDEO_MAX_UPLOAD_BYTES = 1000

    # when
    over = put_source(auth_client, owner_video, os.urandom(1001))
    absurd = put_source(auth_client, owner_video, os.urandom(10), CONTENT_LENGTH=str(10**30))

    # then
    assert_error(over, 413, "upload_too_large")
    assert_error(absurd, 413, "upload_too_large")
    assert stored_keys(owner_video.storage_prefix) == []
    owner_video.refresh_from_db()
    assert (owner_video.status, owner_video.source_key) == (Status.DRAFT, "")
    assert queued == []
    assert put_source(auth_client, owner_video, os.urandom(1000)).status_code == 200  # the limit itself is fine


def test_a_source_over_the_quota_is_refused_before_anything_is_stored(settings, auth_client, owner_video, queued):
    # given: 9 000 of a 10 000-byte quota used
    settings.VIDEO_USER_QUOTA_BYTES = 10_000
    VideoFactory(owner=auth_client.user, source_size=9_000)

    # when
    response = put_source(auth_client, owner_video, os.urandom(1001))

    # then
    assert_error(response, 413, "quota_exceeded")
    assert stored_keys(owner_video.storage_prefix) == []
    owner_video.refresh_from_db()
    assert owner_video.status == Status.DRAFT


def test_a_source_without_content_length_is_refused(auth_client, owner_video):
    # when
    response = put_source(auth_client, owner_video, os.urandom(100), CONTENT_LENGTH="")

    # then
    assert_error(response, 411, "length_required")
    assert stored_keys(owner_video.storage_prefix) == []


@pytest.mark.parametrize(("length", "data"), [("-5", b"12345"), ("abc", b"12345"), ("0", b"")])
def test_a_source_with_a_bad_content_length_is_refused(auth_client, owner_video, length, data):
    # when
    response = put_source(auth_client, owner_video, data, CONTENT_LENGTH=length)

    # then
    assert_error(response, 400, "validation_error")
    assert stored_keys(owner_video.storage_prefix) == []
    owner_video.refresh_from_db()
    assert owner_video.status == Status.DRAFT


@pytest.mark.django_db(transaction=True)
def test_a_source_cut_short_is_refused_and_not_kept(live_server, auth_client, owner_video, queued):
    # given: a client that announces 100 000 bytes and drops the connection after 40 000

    # when
    status, body = raw_put(
        live_server.url,
        f"/api/v1/videos/{owner_video.id}/source",
        os.urandom(40_000),
        declared_length=100_000,
        headers={"Authorization": f"Bearer {auth_client.tokens.access}"},
    )

    # then
    assert (status, body["code"]) == (400, "validation_error")
    assert stored_keys(owner_video.storage_prefix) == []
    owner_video.refresh_from_db()
    assert (owner_video.status, owner_video.source_key) == (Status.DRAFT, "")
    assert queued == []


@pytest.mark.parametrize("status", [Status.UPLOADED, Status.PROCESSING, Status.READY])
def test_a_video_that_has_its_source_takes_no_other(status, auth_client, small_parts):
    # given
    video = DraftVideoFactory(owner=auth_client.user, status=status, source_key="videos/x/source/abc")

    # when
    single = put_source(auth_client, video, os.urandom(100))
    resumable = start(auth_client, video, 2500)

    # then
    assert_error(single, 409, "source_not_accepted")
    assert_error(resumable, 409, "source_not_accepted")
    assert stored_keys(video.storage_prefix) == []
    assert not video.uploads.exists()
    video.refresh_from_db()
    assert (video.status, video.source_key) == (status, "videos/x/source/abc")


def test_a_failed_video_takes_a_new_source_and_drops_the_old_one(
    backend, auth_client, owner_video, queued, django_capture_on_commit_callbacks
):
    # given: a source the probe rejected
    with django_capture_on_commit_callbacks(execute=True):
        assert put_source(auth_client, owner_video, b"not a video").status_code == 200
    Video.objects.filter(pk=owner_video.pk).update(status=Status.FAILED, failure_reason="Not a video.")
    data = os.urandom(5000)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = put_source(auth_client, owner_video, data)

    # then
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["failure_reason"]) == ("uploaded", "")
    owner_video.refresh_from_db()
    assert stored_keys(owner_video.storage_prefix) == [owner_video.source_key]
    assert stored_bytes(owner_video.source_key) == data


def test_storage_keys_never_contain_the_client_file_name(auth_client, queued, django_capture_on_commit_callbacks):
    # given
    key_pattern = r"videos/{id}/source/[0-9a-f]{{32}}"
    resumable_video, single_video = DraftVideoFactory(owner=auth_client.user), DraftVideoFactory(owner=auth_client.user)
    data = os.urandom(2000)

    # when: a multipart upload named with a path, and a single request with a Content-Disposition
    upload = started(auth_client, resumable_video, len(data), filename="../../etc/Holiday Rome.mp4")
    with django_capture_on_commit_callbacks(execute=True):
        assert complete(auth_client, upload["id"], send_parts(upload, data)).status_code == 200
        single = put_source(
            auth_client, single_video, data, HTTP_CONTENT_DISPOSITION='attachment; filename="Holiday Rome.mp4"'
        )
    assert single.status_code == 200, single.content

    # then
    for video in (resumable_video, single_video):
        video.refresh_from_db()
        assert re.fullmatch(key_pattern.format(id=video.id), video.source_key)
        assert stored_keys(video.storage_prefix) == [video.source_key]
    assert Upload.objects.get(pk=upload["id"]).filename == "../../etc/Holiday Rome.mp4"  # display only
    assert stored_keys("videos/") and not [key for key in stored_keys("") if "Holiday" in key or "etc/" in key]


# --- stale uploads and deletion -------------------------------------------------------------------


def test_stale_uploads_are_aborted_by_the_periodic_task(backend, small_parts, settings, auth_client):
    # given: two uploads with a part each; one is past its expiry
    data = os.urandom(2500)
    stale_video, fresh_video = DraftVideoFactory(owner=auth_client.user), DraftVideoFactory(owner=auth_client.user)
    stale, fresh = started(auth_client, stale_video, len(data)), started(auth_client, fresh_video, len(data))
    send_parts(stale, data, skip={2, 3})
    send_parts(fresh, data, skip={2, 3})
    Upload.objects.filter(pk=stale["id"]).update(expires_at=timezone.now() - timedelta(minutes=1))

    # when
    aborted = uploads_abort_stale()

    # then
    assert aborted == 1
    assert Upload.objects.get(pk=stale["id"]).status == Upload.Status.ABORTED
    assert stored_keys(stale_video.storage_prefix) == []
    assert pending_multipart_uploads(stale_video.storage_prefix) == []
    assert Upload.objects.get(pk=fresh["id"]).status == Upload.Status.ACTIVE
    received = auth_client.get(f"/api/v1/uploads/{fresh['id']}").json()["parts_received"]
    assert [p["number"] for p in received] == [1]
    assert_error(complete(auth_client, stale["id"], {1: "x"}), 409, "upload_not_active")
    schedule = settings.CELERY_BEAT_SCHEDULE.values()
    assert any(entry["task"] == "videos.tasks.abort_stale_uploads" for entry in schedule)


def test_deleting_a_video_queues_a_clean_up_that_removes_every_object(
    backend, small_parts, auth_client, owner_video, queued, django_capture_on_commit_callbacks
):
    # given: a stored source the probe failed, and a new upload in progress with a part received
    with django_capture_on_commit_callbacks(execute=True):
        assert put_source(auth_client, owner_video, os.urandom(3000)).status_code == 200
    Video.objects.filter(pk=owner_video.pk).update(status=Status.FAILED)
    data = os.urandom(2500)
    send_parts(started(auth_client, owner_video, len(data)), data, skip={2, 3})
    video_id, prefix = str(owner_video.id), owner_video.storage_prefix
    queued.clear()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.delete(f"/api/v1/videos/{video_id}")

    # then: gone at once; its files go in the background task
    assert response.status_code == 204, response.content
    assert not Video.objects.filter(pk=video_id).exists()
    assert queued == [("delete_video_storage", video_id)]
    assert_error(auth_client.get(f"/api/v1/videos/{video_id}"), 404, "not_found")

    # when: the task runs
    delete_storage(video_id=video_id)

    # then
    assert stored_keys(prefix) == []
    assert pending_multipart_uploads(prefix) == []


# --- permissions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["detail", "update", "single_upload", "start_upload", "delete"])
def test_another_users_private_video_is_not_found_everywhere(action, auth_client, queued):
    # given
    video = DraftVideoFactory(title="Private plans")
    url = f"/api/v1/videos/{video.id}"
    requests = {
        "detail": lambda: auth_client.get(url),
        "update": lambda: auth_client.patch(url, {"title": "Mine now"}, format="json"),
        "single_upload": lambda: put_source(auth_client, video, os.urandom(100)),
        "start_upload": lambda: start(auth_client, video, 100),
        "delete": lambda: auth_client.delete(url),
    }

    # when
    response = requests[action]()

    # then
    assert_error(response, 404, "not_found")
    video.refresh_from_db()
    assert (video.title, video.status, video.source_key) == ("Private plans", Status.DRAFT, "")
    assert not video.uploads.exists()
    assert stored_keys(video.storage_prefix) == []
    assert queued == []


@pytest.mark.parametrize("action", ["detail", "complete", "abort"])
def test_another_users_upload_is_not_found(action, user, small_parts):
    # given: the owner's upload with part 1 received
    owner = signed_in_client(UserFactory())
    video = DraftVideoFactory(owner=owner.user)
    data = os.urandom(2500)
    upload = started(owner, video, len(data))
    etags = send_parts(upload, data)
    intruder = signed_in_client(user)
    url = f"/api/v1/uploads/{upload['id']}"

    # when
    response = {
        "detail": lambda: intruder.get(url),
        "complete": lambda: complete(intruder, upload["id"], etags),
        "abort": lambda: intruder.delete(url),
    }[action]()

    # then
    assert_error(response, 404, "not_found")
    assert Upload.objects.get(pk=upload["id"]).status == Upload.Status.ACTIVE
    assert len(pending_multipart_uploads(video.storage_prefix)) == 1
    assert source_keys(video) == []


@pytest.mark.parametrize("status", [Status.DRAFT, Status.READY])
def test_a_non_owner_cannot_upload_into_someone_elses_video(status, auth_client, queued):
    # given: a public video of someone else (visible to all once ready)
    video = DraftVideoFactory(status=status, visibility=Video.Visibility.PUBLIC)

    # when
    single = put_source(auth_client, video, os.urandom(100))
    resumable = start(auth_client, video, 100)

    # then: refused as unknown (or forbidden), and nothing stored
    for response in (single, resumable):
        assert (response.status_code, response.json()["code"]) in {(404, "not_found"), (403, "permission_denied")}
        assert_error(response, response.status_code, response.json()["code"])
    assert stored_keys(video.storage_prefix) == []
    assert not video.uploads.exists()
    video.refresh_from_db()
    assert (video.status, video.source_key) == (status, "")


def test_anonymous_users_cannot_create_or_upload(api_client):
    # given
    video = DraftVideoFactory()

    # when
    created = api_client.post("/api/v1/videos", {"title": "Sneaky"}, format="json")
    single = put_source(api_client, video, os.urandom(100))
    resumable = start(api_client, video, 100)

    # then
    for response in (created, single, resumable):
        assert_error(response, 401, "not_authenticated")
    assert not Video.objects.filter(title="Sneaky").exists()
    assert stored_keys(video.storage_prefix) == []
    assert not video.uploads.exists()


# --- idempotency ----------------------------------------------------------------------------------


def test_creating_with_the_same_idempotency_key_returns_the_first_video(auth_client):
    # given
    body = {"title": "Cats at sea", "tags": ["cats"]}

    # when
    first = auth_client.post("/api/v1/videos", body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    retry = auth_client.post("/api/v1/videos", body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")

    # then
    assert first.status_code == retry.status_code == 201, retry.content
    assert retry.json() == first.json()
    assert Video.objects.filter(owner=auth_client.user).count() == 1
    assert first.json()["upload"]["single_url"].endswith(f"/api/v1/videos/{first.json()['video']['id']}/source")


def test_an_idempotency_key_reused_with_another_body_is_refused(auth_client):
    # given
    first = auth_client.post("/api/v1/videos", {"title": "One"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")

    # when
    other = auth_client.post("/api/v1/videos", {"title": "Two"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")

    # then
    assert first.status_code == 201
    assert_error(other, 422, "idempotency_key_reused")
    assert list(Video.objects.filter(owner=auth_client.user).values_list("title", flat=True)) == ["One"]


def test_idempotency_keys_belong_to_each_user(auth_client):
    # given
    someone = signed_in_client(UserFactory())
    body = {"title": "Same"}
    theirs = someone.post("/api/v1/videos", body, format="json", HTTP_IDEMPOTENCY_KEY="shared")

    # when
    mine = auth_client.post("/api/v1/videos", body, format="json", HTTP_IDEMPOTENCY_KEY="shared")

    # then
    assert theirs.status_code == mine.status_code == 201
    assert mine.json()["video"]["id"] != theirs.json()["video"]["id"]
    assert Video.objects.get(pk=mine.json()["video"]["id"]).owner == auth_client.user


def test_starting_an_upload_with_the_same_idempotency_key_returns_the_first_upload(auth_client, owner_video):
    # given
    body = {"size": 2500, "filename": "a.mp4"}
    url = f"/api/v1/videos/{owner_video.id}/uploads"

    # when
    first = auth_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="start-1")
    retry = auth_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="start-1")
    other = auth_client.post(url, {**body, "size": 2501}, format="json", HTTP_IDEMPOTENCY_KEY="start-1")

    # then
    assert first.status_code == retry.status_code == 201, retry.content
    assert retry.json()["id"] == first.json()["id"]
    assert_error(other, 422, "idempotency_key_reused")
    assert list(owner_video.uploads.values_list("id", "status")) == [(Upload.objects.get().id, "active")]
    assert len(pending_multipart_uploads(owner_video.storage_prefix)) == 1
    assert IdempotencyRecord.objects.filter(key="start-1").count() == 1


class _StallingBody:
    """A request body that delivers `good` bytes, then fails as a stalled or aborted upload does:
    a socket timeout (OSError), or the SystemExit gunicorn raises in a worker it aborts."""

    def __init__(self, good: bytes, error: BaseException):
        self.data, self.error = good, error

    def read(self, size=-1) -> bytes:
        if self.data:
            chunk, self.data = self.data[: 1024 * 1024], self.data[1024 * 1024 :]
            return chunk
        raise self.error

    readline = read


def test_a_source_upload_timing_out_answers_in_the_error_format_and_keeps_nothing(
    backend, auth_client, owner_video, queued
):
    # given a client that sends 6 MiB of a declared 20 MiB, then stalls past the server's timeout
    body = _StallingBody(os.urandom(6 * MiB), TimeoutError("timed out"))
    # when
    response = auth_client.put(
        f"/api/v1/videos/{owner_video.id}/source",
        data=b"",
        content_type="application/octet-stream",
        **{"wsgi.input": body, "CONTENT_LENGTH": str(20 * MiB)},
    )
    # then a 400 in the error format, and no partial object nor multipart upload is left
    body_errors = assert_error(response, 400, "validation_error")
    assert "cut off after 6291456 bytes" in str(body_errors)
    assert stored_keys(owner_video.storage_prefix) == []
    assert pending_multipart_uploads(owner_video.storage_prefix) == []
    owner_video.refresh_from_db()
    assert (owner_video.status, owner_video.source_key) == (Status.DRAFT, "") and queued == []


def test_a_worker_aborted_mid_upload_leaves_no_partial_object(backend, owner_video, queued):
    # given a body cut by gunicorn aborting the worker (SystemExit) after 6 MiB
    from videos.uploads.services import source_upload

    body = _StallingBody(os.urandom(6 * MiB), SystemExit(1))
    # when the upload runs, the abort goes on (the worker exits) ...
    with pytest.raises(SystemExit):
        source_upload(video=owner_video, stream=body, content_length=20 * MiB)
    # ... and nothing of it is stored
    assert stored_keys(owner_video.storage_prefix) == []
    assert pending_multipart_uploads(owner_video.storage_prefix) == []
