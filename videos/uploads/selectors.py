"""Reads of uploads: the ones a caller may manage and what an upload has received (quota use: `videos.quota`)."""

from collections.abc import Callable

from accounts.models import User
from videos.catalog.selectors import first_managed_by
from videos.models import Upload
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
