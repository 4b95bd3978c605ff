"""What a catalog page says per viewer (`access`, `my_rating`), written over the page anonymous viewers
share, so a signed-in page reuses the shared answer (`vod.response_cache.Personal`).

The rest of a video's answer is the same for everyone: the catalog lists ready public videos only,
whoever asks. Poster URLs stay the shared answer's (signed for no viewer), which open any free video's
poster; a gated video's open only for a viewer it is granted to, so those are signed again for them."""

from collections.abc import Callable
from uuid import UUID

from accounts.models import Plan, User
from accounts.subscriptions.selectors import entitling_plan_ids
from videos.catalog.access import FREE, GRANTED, LOCKED
from videos.models import Rating, Video
from vod.permissions import staff_may


def write_viewer_fields(
    videos: list[dict], *, viewer: User | None, poster_urls: Callable[[Video], dict] | None = None
) -> list[dict]:
    """Sets each video answer's `access` and `my_rating` for `viewer`, as `with_access` and
    `with_my_rating` compute them, and, with `poster_urls` (the serializer's builder), the poster
    URLs of the gated videos granted to them: two queries, two more when the page has such videos,
    none for an anonymous viewer."""
    if viewer is None or not viewer.is_authenticated or not videos:
        return videos
    ratings = dict(
        Rating.objects.filter(user=viewer, video_id__in=[video["id"] for video in videos]).values_list(
            "video_id", "value"
        )
    )
    gated = [video for video in videos if video["access"] != FREE]
    every_plan = staff_may(viewer, "videos.view_video")
    held: set[str] = set()
    if gated and not every_plan:
        held = set(Plan.objects.filter(pk__in=entitling_plan_ids(user=viewer)).values_list("code", flat=True))
    for video in videos:
        video["my_rating"] = ratings.get(UUID(video["id"]))
    for video in gated:
        granted = every_plan or video["owner"]["id"] == str(viewer.pk) or held.intersection(video["required_plans"])
        video["access"] = GRANTED if granted else LOCKED
    granted = {video["id"]: video for video in gated if video["access"] == GRANTED and video["poster_url"]}
    if granted and poster_urls is not None:
        for row in Video.objects.filter(pk__in=list(granted)).prefetch_related("required_plans"):
            granted[str(row.pk)].update(poster_urls(row))
    return videos
