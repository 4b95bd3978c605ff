"""The real services the settings switch to: S3 storage, the Celery worker, generated media."""

import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from testing.media import probe
from vod import tasks


def test_default_storage_writes_to_the_s3_bucket(s3_bucket):
    # given the S3 variables point at the S3 server
    assert settings.STORAGES["default"]["BACKEND"] == "storages.backends.s3.S3Storage"
    # when a file is saved through Django's default storage
    name = default_storage.save(f"health/{uuid.uuid4()}.txt", ContentFile(b"hello s3"))
    # then the object is in the bucket with those bytes
    obj = s3_bucket.get_object(Bucket=settings.S3_BUCKET, Key=name)
    assert obj["Body"].read() == b"hello s3"
    default_storage.delete(name)


def test_a_task_sent_from_django_runs_in_the_worker(celery_worker):
    token = uuid.uuid4().hex
    result = tasks.ping.delay(token)
    assert result.get(timeout=30) == token
    assert result.successful()


def test_generated_media_is_real_video(media_factory):
    path = media_factory("portrait.mp4", seconds=1, width=180, height=320)
    info = probe(path)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (180, 320)
    assert {s["codec_type"] for s in info["streams"]} == {"video", "audio"}
    assert 0.9 <= float(info["format"]["duration"]) <= 1.2
