"""Reads of caption tracks."""

from django.db.models import QuerySet

from accounts.models import User
from videos.catalog.selectors import first_managed_by
from videos.models import Caption, Video


def captions_of(video: Video) -> QuerySet[Caption]:
    return Caption.objects.filter(video=video).order_by("language", "kind", "created_at")


def caption_managed_by(*, video: Video, caption_id, user: User) -> Caption:
    """A track of a video the caller manages; another video's track is "not found"."""
    return first_managed_by(
        Caption.objects.filter(pk=caption_id, video=video).select_related("video"),
        user=user,
        owner_field="video__owner",
    )
