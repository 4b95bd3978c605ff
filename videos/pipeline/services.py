"""The probe of a stored source: the first step of the pipeline, between an upload and its
transcode."""

import hashlib
import logging
import math
import tempfile
import uuid

from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from videos import storage
from videos.models import Video
from videos.pipeline import ladder
from videos.pipeline.jobs import transcode_queue
from videos.pipeline.probing import NotPlayableMedia, probe
from videos.quota import fits_quota
from webhooks.services import emit

logger = logging.getLogger(__name__)
UNREADABLE = "The file could not be read as a video."


def source_probe(*, video_id: uuid.UUID | str, queue_transcode: bool = True) -> None:
    """Reads the stored source once: its SHA-256, and whether it is a video we can use (by its
    bytes, never its name or declared type). Playable, and its estimated ladder fits the owner's
    quota -> a transcode job is queued; otherwise `failed` with the reason."""
    video = Video.objects.filter(pk=video_id, status=Video.Status.UPLOADED).first()
    if video is None or not video.source_key:
        return
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(prefix="vod-probe-") as local, default_storage.open(video.source_key, "rb") as src:
        for chunk in (
            src.chunks(storage.CHUNK) if hasattr(src, "chunks") else iter(lambda: src.read(storage.CHUNK), b"")
        ):
            digest.update(chunk)
            local.write(chunk)
        local.flush()
        try:
            info = probe(local.name)
        except NotPlayableMedia as exc:
            _mark_source_failed(video, str(exc), digest.hexdigest())
            return
        except Exception:
            # Whatever else the file provokes ends the video too, rather than leaving it `uploaded`
            # (counted toward quota, never transcoded); the owner reads a sentence, the log the rest.
            logger.exception("probe of video %s failed", video.pk)
            _mark_source_failed(video, UNREADABLE, digest.hexdigest())
            return
    with transaction.atomic():
        # One quota check per owner at a time; the video first, then its owner, as uploads lock them.
        Video.objects.select_for_update().filter(pk=video.pk).exists()
        get_user_model().objects.select_for_update().filter(pk=video.owner_id).exists()
        # The source is counted already; the new ladder replaces the one published (if any).
        estimate = ladder.estimated_bytes(ladder.plan_for(info))
        if not fits_quota(owner=video.owner, more=estimate - video.derived_size):
            megabytes = math.ceil(estimate / 1024**2)
            reason = (
                f"Transcoding this video would store about {megabytes} MB, more than is left of your storage quota."
            )
            _mark_source_failed(video, reason, digest.hexdigest())
            return
        probed = Video.objects.filter(pk=video.pk, source_key=video.source_key, status=Video.Status.UPLOADED).update(
            source_sha256=digest.hexdigest(),
            source_info=info.summary(),
            duration=info.duration,
            width=info.width,
            height=info.height,
            updated_at=timezone.now(),
        )
        if probed and queue_transcode:
            video.refresh_from_db()
            transcode_queue(video=video)


def _mark_source_failed(video: Video, reason: str, sha256: str) -> None:
    with transaction.atomic():
        if Video.objects.filter(pk=video.pk, source_key=video.source_key, status=Video.Status.UPLOADED).update(
            status=Video.Status.FAILED, failure_reason=reason, source_sha256=sha256, updated_at=timezone.now()
        ):
            emit("video.failed", Video.objects.get(pk=video.pk))
