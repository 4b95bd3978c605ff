"""What a catalog page says per viewer (`access`, `my_rating`), written over the page anonymous viewers
share, so a signed-in page reuses the shared answer (`vod.response_cache.Personal`).

The rest of a video's answer is the same for everyone: the catalog lists ready public videos only,
whoever asks. Poster URLs stay the shared answer's (signed for no viewer), which open any free video's
poster; a gated video's open only for a viewer it is granted to, so those are signed again for them."""

from collections.abc import Callable
from uuid import UUID

from accounts.models import User
from accounts.subscriptions.selectors import held_plan_codes
from videos.catalog.access import FREE, GRANTED, access_of, plays_without_plan
from videos.models import Rating, Video


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
    for video in videos:
        video["my_rating"] = ratings.get(UUID(video["id"]))
    gated = [video for video in videos if video["access"] != FREE]
    needs_plans = any(not plays_without_plan(viewer, owner_id=video["owner"]["id"]) for video in gated)
    held = held_plan_codes(user=viewer) if needs_plans else set()
    for video in gated:
        video["access"] = access_of(
            viewer, owner_id=video["owner"]["id"], plan_codes=video["required_plans"], held_codes=held
        )
    granted = {video["id"]: video for video in gated if video["access"] == GRANTED and video["poster_url"]}
    if granted and poster_urls is not None:
        for row in Video.objects.filter(pk__in=list(granted)).prefetch_related("required_plans"):
            granted[str(row.pk)].update(poster_urls(row))
    return videos
