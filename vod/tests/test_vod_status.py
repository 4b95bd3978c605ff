"""`manage.py vod_status` against the real services: what it counts, what it flags."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from videos import storage
from videos.models import TranscodeJob, Video
from videos.tests.factories import VideoFactory
from vod.celery import app as celery_app

pytestmark = pytest.mark.django_db

Job = TranscodeJob.Status


@pytest.fixture
def empty_queues():
    """The broker's queues as a fresh stack has them (earlier tests may have left messages)."""
    with celery_app.connection_for_write() as connection:
        for name in ("default", "transcode"):
            connection.default_channel.queue_purge(name)
        yield connection
        for name in ("default", "transcode"):
            connection.default_channel.queue_purge(name)


@pytest.fixture
def bucket(settings, s3_bucket):
    """The suite's bucket without a CORS rule, as `createbucket` leaves it."""
    s3_bucket.delete_bucket_cors(Bucket=settings.S3_BUCKET)
    yield s3_bucket
    s3_bucket.delete_bucket_cors(Bucket=settings.S3_BUCKET)


def status(*args) -> str:
    out = StringIO()
    call_command("vod_status", *args, stdout=out)
    return out.getvalue()


def test_vod_status_counts_queues_jobs_and_stuck_work(settings, bucket, empty_queues):
    # given a bucket with the CORS rule, two transcode messages waiting, and jobs and videos in
    # every kind of state, one job running with a stopped heartbeat and one video left uploaded
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    storage.bucket_cors_apply(settings.CORS_ALLOWED_ORIGINS)
    for _ in range(2):
        celery_app.send_task("videos.tasks.transcode_video", args=["00000000-0000-0000-0000-000000000000"])
    long_ago = timezone.now() - timedelta(hours=2)
    TranscodeJob.objects.create(video=VideoFactory(status=Video.Status.PROCESSING), profile="default")
    TranscodeJob.objects.create(
        video=VideoFactory(status=Video.Status.PROCESSING),
        profile="default",
        status=Job.RUNNING,
        attempts=1,
        heartbeat_at=long_ago,
    )
    stalled = VideoFactory(status=Video.Status.UPLOADED)
    Video.objects.filter(pk=stalled.pk).update(updated_at=long_ago)

    # when the operator runs it
    text = status()

    # then every part is there with its numbers
    for line in ("database: ok", "cache: ok", "broker: ok", "storage: ok"):
        assert line in text
    assert "default: 0" in text and "transcode: 2" in text
    assert "queued: 1" in text and "running: 1" in text and "succeeded: 0" in text
    assert "uploaded: 1" in text and "processing: 2" in text
    assert "running, heartbeat stopped: 1" in text and "uploaded without a job: 1" in text
    assert "queued too long: 0" in text
    assert f"bucket: {settings.S3_BUCKET}" in text and "ok for https://app.example.com" in text


def test_vod_status_fails_on_a_bucket_without_the_cors_rule(settings, bucket, empty_queues):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    with pytest.raises(CommandError, match=r"bucket CORS: no CORS rule: run `manage\.py configure_bucket_cors`"):
        status()


def test_vod_status_names_a_cors_rule_that_misses_an_origin(settings, bucket, empty_queues):
    storage.bucket_cors_apply(["https://app.example.com"])
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com", "https://other.example.com"]
    with pytest.raises(CommandError) as raised:
        status()
    assert "https://other.example.com: GET, HEAD, PUT not allowed" in str(raised.value)
    assert "https://app.example.com:" not in str(raised.value)
