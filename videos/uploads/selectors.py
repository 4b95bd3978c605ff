"""Reads of uploads: the ones a caller may manage, what an upload has received, and quota use."""

from collections.abc import Callable

from django.db.models import F, Sum
from django.db.models.functions import Coalesce

from accounts.models import User
from videos.catalog.selectors import first_managed_by
from videos.models import Upload, Video
from videos.uploads import parts


def upload_managed_by(*, upload_id, user: User) -> Upload:
    """An upload of a video the caller may change (owner, or staff); others get "not found"."""
    return first_managed_by(
        Upload.objects.select_related("video").filter(pk=upload_id), user=user, owner_field="video__owner"
    )


def upload_parts_state(*, upload: Upload, build_absolute_uri: Callable[[str], str]) -> dict[str, list[dict]]:
    """What a client needs to resume: the parts received so far, and for each missing part its size
    and a fresh URL to PUT it to (none of either once the upload is completed or aborted)."""
    if upload.status != Upload.Status.ACTIVE:
        return {"parts_received": [], "parts_missing": []}
    received = parts.received_parts(upload)
    missing = [n for n in range(1, upload.part_count + 1) if n not in received]
    return {
        "parts_received": [{"number": n, "size": size, "etag": etag} for n, (size, etag) in sorted(received.items())],
        "parts_missing": [
            {"number": n, "size": upload.expected_part_size(n), "url": parts.part_url(upload, n, build_absolute_uri)}
            for n in missing
        ],
    }


def storage_used(*, owner: User) -> int:
    """Bytes the owner's quota counts: stored sources and everything derived from them, plus the
    declared size of uploads still in progress."""
    stored = Video.objects.filter(owner=owner).aggregate(
        total=Coalesce(Sum(Coalesce("source_size", 0) + F("derived_size")), 0)
    )["total"]
    pending = Upload.objects.filter(video__owner=owner, status=Upload.Status.ACTIVE).aggregate(
        total=Coalesce(Sum("size"), 0)
    )["total"]
    return stored + pending
