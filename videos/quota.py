"""The storage quota: what counts toward it (stored sources, everything derived, uploads in
progress). Uploads check it before storing a byte; the probe checks it against the estimated size of
the ladder before anything is transcoded."""

from django.conf import settings
from django.db.models import F, Sum
from django.db.models.functions import Coalesce

from accounts.models import User
from videos.models import Upload, Video


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


def fits_quota(*, owner: User, more: int) -> bool:
    """Whether `more` bytes beyond what is counted now stay within VIDEO_USER_QUOTA_BYTES."""
    return storage_used(owner=owner) + more <= settings.VIDEO_USER_QUOTA_BYTES
