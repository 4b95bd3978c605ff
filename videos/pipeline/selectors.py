"""What the reaper acts on and `manage.py vod_status` reports: work that stopped moving."""

from datetime import datetime

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from videos.models import TranscodeJob, Video

Job = TranscodeJob.Status


def jobs_stuck_running(now: datetime) -> QuerySet[TranscodeJob]:
    """Running jobs whose heartbeat stopped TRANSCODE_HEARTBEAT_TIMEOUT ago (their worker died or hangs)."""
    return TranscodeJob.objects.filter(status=Job.RUNNING, heartbeat_at__lt=now - settings.TRANSCODE_HEARTBEAT_TIMEOUT)


def jobs_waiting_too_long(now: datetime) -> QuerySet[TranscodeJob]:
    """Jobs `queued` for TRANSCODE_QUEUED_TIMEOUT since they were created or last showed life
    (an attempt's heartbeat, a retry while their owner's share is taken): their message was lost."""
    cutoff = now - settings.TRANSCODE_QUEUED_TIMEOUT
    quiet = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    return TranscodeJob.objects.filter(quiet, status=Job.QUEUED)


def videos_uploaded_without_job(now: datetime) -> QuerySet[Video]:
    """Videos `uploaded` for TRANSCODE_QUEUED_TIMEOUT with no queued or running job: their probe was lost."""
    active = TranscodeJob.objects.filter(video=OuterRef("pk"), status__in=[Job.QUEUED, Job.RUNNING])
    return Video.objects.filter(
        status=Video.Status.UPLOADED, updated_at__lt=now - settings.TRANSCODE_QUEUED_TIMEOUT
    ).exclude(Exists(active))
