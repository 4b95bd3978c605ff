"""Fixtures and helpers of the catalog tests: both storage backends, a look into storage that does
not go through the code under test, and the part PUT a client makes for either backend."""

import json
import socket
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from testing.s3 import s3_client
from videos import storage, tasks
from videos.models import TranscodeJob, Video
from videos.pipeline.jobs import transcode_here
from videos.pipeline.services import source_probe
from videos.roles import CONTENT_EDITORS
from videos.tests.factories import DraftVideoFactory
from videos.uploads.services import source_upload

MiB = 1024 * 1024
FILESYSTEM_STORAGE = "django.core.files.storage.FileSystemStorage"


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def staff(superuser):
    """The admin, signed in as a superuser."""
    return admin_client(superuser)


@pytest.fixture
def editor():
    """The admin, signed in as a content editor (no access to users)."""
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=CONTENT_EDITORS))
    return admin_client(user)


@pytest.fixture
def cheap_password_hashing(settings):
    """For tests that create dozens of users and never test a password's hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def use_filesystem(settings, location: Path) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": FILESYSTEM_STORAGE, "OPTIONS": {"location": str(location)}},
    }


@pytest.fixture(params=["s3", "filesystem"])
def backend(request, settings, tmp_path):
    """Runs the test once on S3 (moto, the suite's default storage) and once on the filesystem."""
    if request.param == "filesystem":
        use_filesystem(settings, tmp_path / "media")
    return request.param


@pytest.fixture
def filesystem(settings, tmp_path):
    """The filesystem backend alone (for the API's own part endpoint)."""
    use_filesystem(settings, tmp_path / "media")
    return tmp_path / "media"


def probed_video(owner, source: Path, **fields) -> Video:
    """A video whose source is stored and probed, with no transcode queued (for in-process runs)."""
    video = DraftVideoFactory(owner=owner, **fields)
    with open(source, "rb") as stream:
        source_upload(video=video, stream=stream, content_length=source.stat().st_size, enqueue_probe=False)
    source_probe(video_id=video.pk, queue_transcode=False)
    video.refresh_from_db()
    assert video.status == Video.Status.UPLOADED and video.duration, video.failure_reason
    return video


def transcoded_video(owner, source: Path, **fields) -> Video:
    """A video through the real pipeline (probe, ladder, upload, publish), run in this process."""
    job = transcode_here(video=probed_video(owner, source, **fields))
    assert job.status == TranscodeJob.Status.SUCCEEDED, job.error
    return Video.objects.get(pk=job.video_id)


@contextmanager
def cross_origin_reads(s3, origin: str):
    """On S3 a player fetches segments straight from the bucket, an origin other than the page's,
    so the bucket allows the page's origin, as a real deployment's must allow its frontends'."""
    storage.bucket_cors_apply([origin])  # what `manage.py configure_bucket_cors` puts
    try:
        yield
    finally:
        s3.delete_bucket_cors(Bucket=django_settings.S3_BUCKET)


@pytest.fixture
def queued(monkeypatch):
    """Records the tasks queued by the code under test (`delay` calls) instead of sending them."""
    calls = []
    for name in ("probe_source", "delete_video_storage"):
        task = getattr(tasks, name)
        monkeypatch.setattr(task, "delay", lambda *args, _name=name: calls.append((_name, *args)))
    return calls


def stored_keys(prefix: str) -> list[str]:
    """Every object (file) under `prefix` in the current default storage, read with our own client
    (S3) or straight from the disk (filesystem)."""
    backend = django_settings.STORAGES["default"]
    if backend["BACKEND"] == FILESYSTEM_STORAGE:
        root = Path(backend["OPTIONS"]["location"])
        base = root / prefix
        if not base.exists():
            return []
        return sorted(str(path.relative_to(root)) for path in base.rglob("*") if path.is_file())
    client = s3_client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=django_settings.S3_BUCKET, Prefix=prefix)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def stored_bytes(key: str) -> bytes:
    backend = django_settings.STORAGES["default"]
    if backend["BACKEND"] == FILESYSTEM_STORAGE:
        return (Path(backend["OPTIONS"]["location"]) / key).read_bytes()
    return s3_client().get_object(Bucket=django_settings.S3_BUCKET, Key=key)["Body"].read()


def pending_multipart_uploads(prefix: str) -> list[dict]:
    """S3 multipart uploads not completed nor aborted under `prefix` (none on the filesystem)."""
    if django_settings.STORAGES["default"]["BACKEND"] == FILESYSTEM_STORAGE:
        return []
    return s3_client().list_multipart_uploads(Bucket=django_settings.S3_BUCKET, Prefix=prefix).get("Uploads", [])


class PartAnswer:
    def __init__(self, status: int, etag: str | None, body: dict | None):
        self.status, self.etag, self.body = status, etag, body


def put_part(url: str, data: bytes) -> PartAnswer:
    """What a client does with a part URL, whichever backend issued it: PUT the bytes, keep the ETag.
    API URLs (filesystem) go through the test client without credentials; presigned S3 URLs go to
    moto over HTTP."""
    parts = urlsplit(url)
    if parts.netloc == "testserver":
        response = APIClient().put(f"{parts.path}?{parts.query}", data=data, content_type="application/octet-stream")
        body = response.json() if response.content else None
        return PartAnswer(response.status_code, response.headers.get("ETag"), body)
    response = requests.put(url, data=data, headers={"Content-Type": "application/octet-stream"}, timeout=60)
    return PartAnswer(response.status_code, response.headers.get("ETag"), None)


def raw_put(base_url: str, path: str, body: bytes, *, declared_length: int, headers: dict | None = None):
    """A PUT whose body ends (the client closes its side) before `declared_length` bytes: what a
    dropped connection looks like to the server. Returns (status, JSON body or None)."""
    target = urlsplit(base_url)
    lines = [
        f"PUT {path} HTTP/1.1",
        f"Host: {target.netloc}",
        "Content-Type: application/octet-stream",
        f"Content-Length: {declared_length}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    with socket.create_connection((target.hostname, target.port), timeout=60) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, None
