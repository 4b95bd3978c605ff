"""Whether a viewer may play each video: the `access` annotation, computed in the query itself.

`free`: no plan unlocks it (everyone with sight of it plays). `granted`: the viewer holds an
entitling subscription to one of its plans, owns it, or is staff who may view videos. `locked`:
anything else; locked videos stay listed and readable, only playback is refused."""

from django.db.models import Case, CharField, Exists, OuterRef, Q, QuerySet, Value, When, prefetch_related_objects

from accounts.models import User
from accounts.subscriptions.selectors import entitling_plan_ids
from videos.models import Video, VideoPlan
from vod.permissions import staff_may

FREE, GRANTED, LOCKED = "free", "granted", "locked"
ACCESS_CHOICES = [(FREE, FREE), (GRANTED, GRANTED), (LOCKED, LOCKED)]


def bypasses_plans(user: User | None, video: Video) -> bool:
    """Owners and staff who may view videos always play."""
    return (
        user is not None
        and user.is_authenticated
        and (video.owner_id == user.pk or staff_may(user, "videos.view_video"))
    )


def with_access(videos: QuerySet[Video], *, viewer: User | None) -> QuerySet[Video]:
    """Annotates `access` for this viewer: one query whatever the page size."""
    links = VideoPlan.objects.filter(video=OuterRef("pk"))
    signed_in = viewer is not None and viewer.is_authenticated
    if signed_in and staff_may(viewer, "videos.view_video"):
        granted = Q(pk__isnull=False)
    elif signed_in:
        granted = Q(owner=viewer) | Q(Exists(links.filter(plan__in=entitling_plan_ids(user=viewer))))
    else:
        granted = Q(pk__isnull=True)
    access = Case(
        When(~Q(Exists(links)), then=Value(FREE)),
        When(granted, then=Value(GRANTED)),
        default=Value(LOCKED),
        output_field=CharField(),
    )
    return videos.annotate(access=access)


def with_plans(videos: list[Video]) -> list[Video]:
    """Loads the plans of a page's gated videos in one query, and none when every video is free
    (`access` already says it has no plans)."""
    prefetch_related_objects([video for video in videos if getattr(video, "access", None) != FREE], "required_plans")
    return videos


def plans_of(video: Video) -> list:
    """The plans that unlock the video, in their order; no query for a video annotated free."""
    if getattr(video, "access", None) == FREE:
        return []
    return list(video.required_plans.all())
