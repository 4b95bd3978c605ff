"""What bounds transcoding cost (issue 12, finding 6): the ladder's estimated size is checked
against the quota at probe, a user's running transcodes are capped (the rest wait in the queue),
and re-transcode requests are throttled."""

from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.utils import timezone

from accounts.tests.factories import UserFactory
from testing.clients import assert_error, signed_in_client
from videos.models import TranscodeJob, Video
from videos.pipeline import jobs, ladder
from videos.pipeline.probing import MediaInfo
from videos.pipeline.services import source_probe
from videos.quota import storage_used
from videos.tasks import transcode_video
from videos.tests.factories import VideoFactory
from videos.tests.test_probe import upload_source

pytestmark = pytest.mark.django_db
Job = TranscodeJob.Status


def test_the_estimate_is_the_ladders_bitrates_times_the_duration():
    info = MediaInfo("mov,mp4", 30.0, 1920, 1080, "h264", "aac", 60.0)
    plan = ladder.plan_for(info)
    kbps = sum(rung.video_kbps for rung in plan.rungs) + ladder.profile()["audio_kbps"]
    assert ladder.estimated_bytes(plan) == kbps * 1000 // 8 * 30
    assert ladder.estimated_bytes(plan) > 30 * 1024**2  # a 1 MB noise source still costs ~32 MB


def test_a_source_whose_ladder_would_pass_the_quota_fails_at_probe(auth_client, media_factory, settings):
    # given a 2-second clip (one rung of 800 kbit/s + audio: about 232 kB of HLS) and a quota
    # that holds the source and only 100 kB more
    data = media_factory("clip.mp4", seconds=2, width=320, height=240).read_bytes()
    settings.VIDEO_USER_QUOTA_BYTES = len(data) + 100_000
    video = upload_source(auth_client, data)

    # when it is probed
    source_probe(video_id=video.id)

    # then it fails with a reason, before any transcode, and the source still counts, once
    video.refresh_from_db()
    assert video.status == Video.Status.FAILED
    assert "storage quota" in video.failure_reason and video.failure_reason.endswith(".")
    assert not TranscodeJob.objects.filter(video=video).exists()
    assert storage_used(owner=auth_client.user) == len(data)


def test_a_source_whose_ladder_fits_is_queued(auth_client, media_factory, settings):
    data = media_factory("clip.mp4", seconds=2, width=320, height=240).read_bytes()
    settings.VIDEO_USER_QUOTA_BYTES = len(data) + 400_000
    video = upload_source(auth_client, data)
    source_probe(video_id=video.id)
    assert TranscodeJob.objects.filter(video=video, status=Job.QUEUED).exists()


def _running(owner, count: int) -> None:
    now = timezone.now()
    for _ in range(count):
        TranscodeJob.objects.create(
            video=VideoFactory(owner=owner, source_key="videos/x/source/a"),
            profile="default",
            status=Job.RUNNING,
            attempts=1,
            worker="w:1",
            heartbeat_at=now,
            lease_expires_at=now + timedelta(minutes=2),
        )


def test_a_users_fourth_transcode_waits_while_three_run(settings):
    # given a user with three transcodes running and a fourth queued, and another user's job
    settings.TRANSCODE_MAX_ACTIVE_PER_USER = 3
    busy, other = UserFactory(), UserFactory()
    _running(busy, 3)
    fourth = jobs.transcode_queue(video=VideoFactory(owner=busy, source_key="videos/y/source/a"), enqueue=False)
    others = jobs.transcode_queue(video=VideoFactory(owner=other, source_key="videos/z/source/a"), enqueue=False)

    # when workers pick them up
    with pytest.raises(jobs.OwnerBusy):
        jobs._claim(fourth.pk, "w:2")
    claimed = jobs._claim(others.pk, "w:3")

    # then the fourth stays queued, untouched (no attempt spent); the other user's runs
    fourth.refresh_from_db()
    assert (fourth.status, fourth.attempts) == (Job.QUEUED, 0)
    assert claimed is not None and claimed.status == Job.RUNNING

    # and once one of the three ends, the fourth is claimed
    TranscodeJob.objects.filter(video__owner=busy, status=Job.RUNNING).exclude(pk=fourth.pk).first().delete()
    assert jobs._claim(fourth.pk, "w:2") is not None


def test_the_transcode_task_retries_a_waiting_job_later(settings, monkeypatch):
    # given an owner at their cap
    settings.TRANSCODE_MAX_ACTIVE_PER_USER = 1
    owner = UserFactory()
    _running(owner, 1)
    job = jobs.transcode_queue(video=VideoFactory(owner=owner, source_key="videos/w/source/a"), enqueue=False)
    # when the task runs it (eagerly, as a worker would)
    with pytest.raises(Retry):
        transcode_video.apply(args=(str(job.pk),), throw=True)
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Job.QUEUED, 0)
    # and its message is known alive: the reaper does not send it again, however long it waits
    assert job.heartbeat_at is not None
    TranscodeJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - 2 * settings.TRANSCODE_QUEUED_TIMEOUT)
    assert jobs.jobs_reap()["resent_jobs"] == 0


def test_re_transcode_requests_are_throttled_per_user(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "transcode": "2/hour"},
    }
    client = signed_in_client(UserFactory())
    videos = [VideoFactory(owner=client.user, source_key=f"videos/{n}/source/a") for n in range(3)]
    answers = [client.post(f"/api/v1/videos/{video.pk}/transcode").status_code for video in videos]
    assert answers == [202, 202, 429]
    assert_error(client.post(f"/api/v1/videos/{videos[2].pk}/transcode"), 429, "throttled")
    assert not TranscodeJob.objects.filter(video=videos[2]).exists()
