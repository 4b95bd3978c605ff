"""Writes on a video's source: one streamed request, or a resumable upload in parts that is
assembled and attached; either way the stored source is queued for its probe."""

import logging
import math
import uuid
from typing import IO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from videos import keys, storage
from videos.catalog.services import video_create
from videos.errors import (
    BadPart,
    IncompleteUpload,
    LengthRequired,
    QuotaExceeded,
    SourceNotAccepted,
    UploadNotActive,
    UploadTooLarge,
)
from videos.models import Upload, UploadPart, Video
from videos.quota import storage_used
from videos.uploads import parts as upload_parts
from vod.exceptions import InvalidInput, NotFoundError
from webhooks.services import emit

logger = logging.getLogger(__name__)
ACCEPTS_SOURCE = (Video.Status.DRAFT, Video.Status.FAILED)


# --- sources ------------------------------------------------------------------------------------


def _check_size(*, owner: User, size: int, already_counted: int = 0) -> None:
    if size > settings.VIDEO_MAX_UPLOAD_BYTES:
        raise UploadTooLarge(f"The limit is {settings.VIDEO_MAX_UPLOAD_BYTES} bytes.")
    if storage_used(owner=owner) - already_counted + size > settings.VIDEO_USER_QUOTA_BYTES:
        raise QuotaExceeded()


def _check_accepts_source(video: Video) -> None:
    if video.status not in ACCEPTS_SOURCE:
        raise SourceNotAccepted()


def _lock_owner(owner_id: uuid.UUID) -> None:
    """Serialises one owner's quota checks."""
    get_user_model().objects.select_for_update().filter(pk=owner_id).exists()


def _attach_source(*, video_id, key: str, size: int, enqueue_probe: bool = True) -> Video:
    """Makes a stored object the video's source and queues its probe. Must run in a transaction."""
    from videos.tasks import probe_source

    video = Video.objects.select_for_update(of=("self",)).get(pk=video_id)
    _check_accepts_source(video)
    _lock_owner(video.owner_id)
    replaced = video.source_key
    _check_size(owner=video.owner, size=size, already_counted=video.source_size or 0)
    video.source_key, video.source_size, video.source_sha256 = key, size, ""
    video.status, video.failure_reason = Video.Status.UPLOADED, ""
    video.save(update_fields=["source_key", "source_size", "source_sha256", "status", "failure_reason", "updated_at"])
    emit("video.upload.completed", video)
    if replaced:
        transaction.on_commit(lambda: default_storage.delete(replaced))
    if enqueue_probe:
        transaction.on_commit(lambda: probe_source.delay(str(video.pk)))
    return video


def source_upload(*, video: Video, stream: IO[bytes], content_length: int | None, enqueue_probe: bool = True) -> Video:
    """One-request upload: the body is streamed to storage in chunks, never held whole (and not
    hashed: the probe reads the stored source once and takes its SHA-256 then)."""
    if content_length is None:
        raise LengthRequired()
    if content_length <= 0:
        raise InvalidInput({"body": ["The upload is empty."]})
    _check_accepts_source(video)
    _check_size(owner=video.owner, size=content_length)  # refused before a byte is stored
    key = keys.new_source_key(video.pk)
    reader = storage.CountingReader(stream, limit=content_length)
    try:
        try:
            storage.save_stream(key, reader, content_length)
        except OSError as exc:  # the connection dropped, or the client stalled past the server's timeout
            raise InvalidInput({"body": [f"The body was cut off after {reader.size_read} bytes."]}) from exc
        if reader.size_read != content_length:
            raise InvalidInput({"body": [f"The body ended after {reader.size_read} of {content_length} bytes."]})
        with transaction.atomic():
            return _attach_source(video_id=video.pk, key=key, size=content_length, enqueue_probe=enqueue_probe)
    except BaseException:  # including SystemExit: gunicorn aborting a worker mid-upload leaves no partial object
        default_storage.delete(key)
        raise


def video_create_with_source(
    *, owner: User, source: IO[bytes], size: int, enqueue_probe: bool = True, **metadata
) -> Video:
    """A new video and its source in one step (the admin's upload form, `manage.py import_video`):
    when the source is refused (size, quota), no video is left behind. The copy to storage runs
    outside any transaction (it can take minutes), so the draft exists meanwhile."""
    video = video_create(owner=owner, **metadata)
    try:
        return source_upload(video=video, stream=source, content_length=size, enqueue_probe=enqueue_probe)
    except BaseException:
        Video.objects.filter(pk=video.pk).delete()  # nothing was stored: source_upload cleaned up
        raise


# --- resumable uploads ----------------------------------------------------------------------------


@transaction.atomic
def upload_start(*, video: Video, size: int, filename: str = "", content_type: str = "") -> Upload:
    """Opens a multipart upload; an earlier unfinished one of the same video is abandoned."""
    video = Video.objects.select_for_update(of=("self",)).get(pk=video.pk)
    _check_accepts_source(video)
    _lock_owner(video.owner_id)
    for earlier in video.uploads.filter(status=Upload.Status.ACTIVE):
        _abort(earlier)
    _check_size(owner=video.owner, size=size)
    part_size = max(settings.UPLOAD_PART_SIZE, math.ceil(size / settings.UPLOAD_MAX_PARTS))
    upload = Upload(
        video=video,
        backend=Upload.Backend.S3 if storage.uses_s3() else Upload.Backend.FILESYSTEM,
        key=keys.new_source_key(video.pk),
        filename=filename[:255],
        content_type=content_type[:127],
        size=size,
        part_size=part_size,
        part_count=math.ceil(size / part_size),
        expires_at=timezone.now() + settings.UPLOAD_TTL,
    )
    upload_parts.begin(upload)
    upload.save()
    return upload


def _active_upload(upload_id) -> Upload:
    upload = Upload.objects.select_for_update(of=("self",)).select_related("video").filter(pk=upload_id).first()
    if upload is None:  # its video was deleted since the part URL was handed out
        raise NotFoundError()
    if upload.status != Upload.Status.ACTIVE or upload.expires_at <= timezone.now():
        raise UploadNotActive()
    return upload


def upload_part_receive(*, upload_id, number: int, stream: IO[bytes], content_length: int | None) -> UploadPart:
    """Stores one part sent to the API (filesystem backend). Re-sending a part replaces it."""
    with transaction.atomic():
        upload = _active_upload(upload_id)
        if upload.backend != Upload.Backend.FILESYSTEM:
            raise BadPart("Send the parts of this upload to their S3 URLs.")
        if not 1 <= number <= upload.part_count:
            raise BadPart(f"Part numbers go from 1 to {upload.part_count}.")
        expected = upload.expected_part_size(number)
        if content_length is None:
            raise LengthRequired()
        if content_length != expected:
            raise BadPart(f"Part {number} must be exactly {expected} bytes.")
        try:
            return upload_parts.store_part(upload, number, stream, expected)
        except ValueError as exc:
            raise BadPart(str(exc)) from exc


def upload_complete(*, upload_id, parts: list[dict]) -> Video:
    """Checks the client's part list against what was received, assembles the source and
    attaches it. Every check runs before the parts are joined, under the locks that attaching
    needs, so a refusal changes nothing and leaves the upload open to fix and retry."""
    with transaction.atomic():
        upload = _active_upload(upload_id)
        video = Video.objects.select_for_update(of=("self",)).get(pk=upload.video_id)
        _check_accepts_source(video)
        _lock_owner(video.owner_id)
        # The upload in progress is already counted by storage_used, and the source it replaces goes.
        _check_size(owner=video.owner, size=upload.size, already_counted=upload.size + (video.source_size or 0))
        received = upload_parts.received_parts(upload)
        problems = _part_problems(upload, parts, received)
        if problems:
            raise IncompleteUpload(fields={"parts": problems})
        upload_parts.assemble(upload, [(part["number"], received[part["number"]][1]) for part in parts])
        try:
            upload.status, upload.finished_at = Upload.Status.COMPLETED, timezone.now()
            upload.save(update_fields=["status", "finished_at"])
            return _attach_source(video_id=upload.video_id, key=upload.key, size=upload.size)
        except Exception:
            default_storage.delete(upload.key)  # the joined file must not outlive a rolled-back attach
            raise


def _part_problems(upload: Upload, parts: list[dict], received: dict) -> list[str]:
    numbers = [part["number"] for part in parts]
    if numbers != list(range(1, upload.part_count + 1)):
        missing = sorted(set(range(1, upload.part_count + 1)) - set(received))
        return [f"List parts 1 to {upload.part_count} once each, in order; not received yet: {missing[:20]}."]
    problems = []
    for part in parts:
        number, etag = part["number"], part["etag"].strip().strip('"')
        if number not in received:
            problems.append(f"Part {number} was not received.")
        elif received[number][1] != etag:
            problems.append(f"Part {number}: the ETag does not match the part received.")
        elif received[number][0] != upload.expected_part_size(number):
            problems.append(f"Part {number} has {received[number][0]} bytes, not {upload.expected_part_size(number)}.")
    return problems


def _abort(upload: Upload) -> None:
    upload_parts.discard(upload)
    upload.status, upload.finished_at = Upload.Status.ABORTED, timezone.now()
    upload.save(update_fields=["status", "finished_at"])


@transaction.atomic
def upload_abort(*, upload_id) -> None:
    """Abandons an upload and frees its parts; aborting twice is fine, a completed one is not."""
    upload = Upload.objects.select_for_update(of=("self",)).select_related("video").filter(pk=upload_id).first()
    if upload is None:
        raise NotFoundError()
    if upload.status == Upload.Status.COMPLETED:
        raise UploadNotActive()
    if upload.status == Upload.Status.ACTIVE:
        _abort(upload)


def uploads_abort_stale() -> int:
    """Periodic: aborts uploads left unfinished past their expiry."""
    stale = Upload.objects.filter(status=Upload.Status.ACTIVE, expires_at__lt=timezone.now()).values_list(
        "pk", flat=True
    )
    count = 0
    for upload_id in list(stale):
        try:
            upload_abort(upload_id=upload_id)
            count += 1
        except Exception:
            logger.exception("could not abort stale upload %s", upload_id)
    return count
