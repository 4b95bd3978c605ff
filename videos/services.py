"""Writes on the catalog: videos' metadata, their sources (one request or resumable parts), the
background probe of each source, and deletion with storage clean-up."""

import hashlib
import logging
import math
import tempfile
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.postgres.search import SearchVector
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Value
from django.utils import timezone

from videos import storage, upload_parts
from videos.errors import (
    BadPart,
    IncompleteUpload,
    LengthRequired,
    QuotaExceeded,
    SourceNotAccepted,
    UploadNotActive,
    UploadTooLarge,
)
from videos.models import Tag, Upload, Video
from videos.probing import NotPlayableMedia, probe
from videos.selectors import storage_used
from videos.transcode_jobs import transcode_queue
from vod.exceptions import InvalidInput, NotFoundError

logger = logging.getLogger(__name__)
Status = Video.Status
MAX_TAGS = 20
TAG_MAX_LENGTH = Tag._meta.get_field("name").max_length
ACCEPTS_SOURCE = (Status.DRAFT, Status.FAILED)


# --- metadata -----------------------------------------------------------------------------------


def _normalise_tags(names) -> list[str]:
    tags = list(dict.fromkeys(name.strip().lower() for name in names if name.strip()))
    if len(tags) > MAX_TAGS:
        raise InvalidInput({"tags": [f"At most {MAX_TAGS} tags."]})
    if any(len(tag) > TAG_MAX_LENGTH for tag in tags):  # lowercasing can lengthen a string ("İ")
        raise InvalidInput({"tags": [f"Each tag is at most {TAG_MAX_LENGTH} characters."]})
    return tags


def _set_tags(video: Video, names) -> None:
    names = _normalise_tags(names)
    Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    video.tags.set(Tag.objects.filter(name__in=names))


def _refresh_search_vector(video: Video) -> None:
    """Title weighs most, then tags, then description (PostgreSQL only; SQLite searches plainly)."""
    if connection.vendor != "postgresql":
        return
    config = settings.VIDEO_SEARCH_CONFIG
    tags = " ".join(video.tags.values_list("name", flat=True))
    Video.objects.filter(pk=video.pk).update(
        search_vector=SearchVector(Value(video.title), weight="A", config=config)
        + SearchVector(Value(tags), weight="B", config=config)
        + SearchVector(Value(video.description), weight="C", config=config)
    )


def _publish_if_due(video: Video) -> None:
    """A video is published the first time it is both ready and public."""
    if video.published_at is None and video.status == Status.READY and video.visibility == Video.Visibility.PUBLIC:
        video.published_at = timezone.now()


@transaction.atomic
def video_create(*, owner, title: str, description: str = "", tags=(), category=None, visibility=None) -> Video:
    video = Video.objects.create(
        owner=owner,
        title=title,
        description=description,
        category=category,
        visibility=visibility or Video.Visibility.PRIVATE,
    )
    _set_tags(video, tags)
    _refresh_search_vector(video)
    return video


@transaction.atomic
def video_update(*, video: Video, **changes) -> Video:
    """Changes any of title, description, tags, category, visibility, and (staff only) is_featured."""
    tags = changes.pop("tags", None)
    for field, value in changes.items():
        setattr(video, field, value)
    _publish_if_due(video)
    # Only what changed: the caller's copy may be older than the row (a worker publishing a new
    # version, a view counted), and those columns must not be written back.
    video.save(update_fields=[*changes, "published_at", "updated_at"])
    if tags is not None:
        _set_tags(video, tags)
    _refresh_search_vector(video)
    return video


@transaction.atomic
def tag_save(*, tag: Tag) -> Tag:
    """A tag edited by staff; the videos carrying it are re-indexed (their search text holds tag names)."""
    tag.save()
    for video in tag.videos.all():
        _refresh_search_vector(video)
    return tag


@transaction.atomic
def tag_delete(*, tag: Tag) -> None:
    videos = list(tag.videos.all())
    tag.delete()
    for video in videos:
        _refresh_search_vector(video)


@transaction.atomic
def video_delete(*, video: Video) -> None:
    """Deletes the video at once; a task then removes everything under its storage prefix."""
    from videos.tasks import delete_video_storage

    video_id = str(video.pk)
    video.delete()
    transaction.on_commit(lambda: delete_video_storage.delay(video_id))


def videos_delete_for_owner(*, owner) -> int:
    """For account deletion: every video of the owner, with its storage."""
    videos = list(Video.objects.filter(owner=owner))
    for video in videos:
        video_delete(video=video)
    return len(videos)


def delete_storage(*, video_id: str) -> int:
    """Aborts unfinished S3 multipart uploads and deletes every object of a video."""
    prefix = f"videos/{video_id}/"
    if storage.uses_s3():
        client, bucket = storage.s3_client(), storage.s3_bucket()
        for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=prefix):
            for pending in page.get("Uploads", []):
                client.abort_multipart_upload(Bucket=bucket, Key=pending["Key"], UploadId=pending["UploadId"])
    return storage.delete_prefix(prefix)


# --- sources ------------------------------------------------------------------------------------


def _check_size(*, owner, size: int, already_counted: int = 0) -> None:
    if size > settings.VIDEO_MAX_UPLOAD_BYTES:
        raise UploadTooLarge(f"The limit is {settings.VIDEO_MAX_UPLOAD_BYTES} bytes.")
    if storage_used(owner=owner) - already_counted + size > settings.VIDEO_USER_QUOTA_BYTES:
        raise QuotaExceeded()


def _check_accepts_source(video: Video) -> None:
    if video.status not in ACCEPTS_SOURCE:
        raise SourceNotAccepted()


def _new_source_key(video: Video) -> str:
    return f"{video.storage_prefix}source/{uuid.uuid4().hex}"


def _lock_owner(owner_id) -> None:
    """Serialises one owner's quota checks."""
    get_user_model().objects.select_for_update().filter(pk=owner_id).exists()


def _attach_source(*, video_id, key: str, size: int, already_counted: int = 0, enqueue_probe: bool = True) -> Video:
    """Makes a stored object the video's source and queues its probe. Must run in a transaction."""
    from videos.tasks import probe_source

    video = Video.objects.select_for_update(of=("self",)).get(pk=video_id)
    _check_accepts_source(video)
    _lock_owner(video.owner_id)
    replaced = video.source_key
    _check_size(owner=video.owner, size=size, already_counted=already_counted + (video.source_size or 0))
    video.source_key, video.source_size, video.source_sha256 = key, size, ""
    video.status, video.failure_reason = Status.UPLOADED, ""
    video.save(update_fields=["source_key", "source_size", "source_sha256", "status", "failure_reason", "updated_at"])
    if replaced:
        transaction.on_commit(lambda: default_storage.delete(replaced))
    if enqueue_probe:
        transaction.on_commit(lambda: probe_source.delay(str(video.pk)))
    return video


def source_upload(*, video: Video, stream, content_length: int | None, enqueue_probe: bool = True) -> Video:
    """One-request upload: the body is streamed to storage in chunks, never held whole."""
    if content_length is None:
        raise LengthRequired()
    if content_length <= 0:
        raise InvalidInput({"body": ["The upload is empty."]})
    _check_accepts_source(video)
    _check_size(owner=video.owner, size=content_length)  # refused before a byte is stored
    key = _new_source_key(video)
    reader = storage.CountingReader(stream, limit=content_length)
    try:
        storage.save_stream(key, reader, content_length)
        if reader.size_read != content_length:
            raise InvalidInput({"body": [f"The body ended after {reader.size_read} of {content_length} bytes."]})
        with transaction.atomic():
            return _attach_source(video_id=video.pk, key=key, size=content_length, enqueue_probe=enqueue_probe)
    except Exception:
        default_storage.delete(key)
        raise


def video_create_with_source(*, owner, source, size: int, enqueue_probe: bool = True, **metadata) -> Video:
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
        key=_new_source_key(video),
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


def upload_part_receive(*, upload_id, number: int, stream, content_length: int | None):
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


# --- probing --------------------------------------------------------------------------------------


def source_probe(*, video_id, queue_transcode: bool = True) -> None:
    """Reads the stored source once: its SHA-256, and whether it is a video we can use (by its
    bytes, never its name or declared type). Playable -> a transcode job is queued; not playable ->
    `failed` with the reason."""
    video = Video.objects.filter(pk=video_id, status=Status.UPLOADED).first()
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
        probed = Video.objects.filter(pk=video.pk, source_key=video.source_key, status=Status.UPLOADED).update(
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
    Video.objects.filter(pk=video.pk, source_key=video.source_key, status=Status.UPLOADED).update(
        status=Status.FAILED, failure_reason=reason, source_sha256=sha256, updated_at=timezone.now()
    )
