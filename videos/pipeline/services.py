"""The probe of a stored source: the first step of the pipeline, between an upload and its
transcode."""

import hashlib
import tempfile
import uuid

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from videos import storage
from videos.models import Video
from videos.pipeline.jobs import transcode_queue
from videos.pipeline.probing import NotPlayableMedia, probe
from webhooks.services import emit


def source_probe(*, video_id: uuid.UUID | str, queue_transcode: bool = True) -> None:
    """Reads the stored source once: its SHA-256, and whether it is a video we can use (by its
    bytes, never its name or declared type). Playable -> a transcode job is queued; not playable ->
    `failed` with the reason."""
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
    with transaction.atomic():
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
