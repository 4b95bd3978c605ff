"""Whether a viewer may play each video: the `access` annotation, computed in the query itself.

`free`: no plan unlocks it (everyone with sight of it plays). `granted`: the viewer holds an
entitling subscription to one of its plans, owns it, or is staff who may view videos. `locked`:
anything else; locked videos stay listed and readable, only playback is refused."""

from collections.abc import Iterable

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import Case, CharField, OuterRef, Q, QuerySet, Subquery, Value, When, prefetch_related_objects

from accounts.models import User
from accounts.subscriptions.selectors import entitling_plan_ids
from videos.models import Video, VideoPlan
from vod.permissions import staff_may

FREE, GRANTED, LOCKED = "free", "granted", "locked"
ACCESS_CHOICES = [(FREE, FREE), (GRANTED, GRANTED), (LOCKED, LOCKED)]


def bypasses_plans(user: User | None, video: Video) -> bool:
    """Owners and staff who may view videos always play."""
    return plays_without_plan(user, owner_id=video.owner_id)


def plays_without_plan(user: User | None, *, owner_id: object) -> bool:
    """Whether `user` plays a video of `owner_id` (a pk, or its text) whatever its plans."""
    return (
        user is not None
        and user.is_authenticated
        and (str(owner_id) == str(user.pk) or staff_may(user, "videos.view_video"))
    )


def access_of(user: User | None, *, owner_id: object, plan_codes: Iterable[str], held_codes: set[str]) -> str:
    """`access` for a video known by its owner and plan codes, given the codes of the plans `user`
    holds (`held_plan_codes`): what `with_access` computes in SQL, for answers already made."""
    codes = set(plan_codes)
    if not codes:
        return FREE
    return GRANTED if plays_without_plan(user, owner_id=owner_id) or held_codes & codes else LOCKED


def with_access(videos: QuerySet[Video], *, viewer: User | None) -> QuerySet[Video]:
    """Annotates `access` for this viewer (and, on PostgreSQL, `plan_codes`): no query more.

    Each test is a scalar subquery (`plan_id ... LIMIT 1`), never EXISTS: PostgreSQL may run an
    EXISTS in the select list as a hashed subplan, which reads the whole `videoplan` table on
    every request (3,333 rows at 10,000 videos, ten times that at 100,000), where a scalar one is
    evaluated per row of the page only, on the (video, plan) index."""
    links = VideoPlan.objects.filter(video=OuterRef("pk")).values("plan_id")
    signed_in = viewer is not None and viewer.is_authenticated
    if signed_in and staff_may(viewer, "videos.view_video"):
        granted = Q(pk__isnull=False)
    elif signed_in:
        entitled = links.filter(plan__in=entitling_plan_ids(user=viewer))
        granted = Q(owner=viewer) | Q(_entitled_plan__isnull=False)
        videos = videos.alias(_entitled_plan=Subquery(entitled[:1]))
    else:
        granted = Q(pk__isnull=True)
    access = Case(
        When(Q(_first_plan__isnull=True), then=Value(FREE)),
        When(granted, then=Value(GRANTED)),
        default=Value(LOCKED),
        output_field=CharField(),
    )
    videos = videos.alias(_first_plan=Subquery(links[:1])).annotate(access=access)
    if connection.vendor == "postgresql":
        codes = VideoPlan.objects.filter(video=OuterRef("pk")).order_by("plan__sort_order", "plan__code")
        videos = videos.annotate(plan_codes=ArraySubquery(codes.values("plan__code")))
    return videos


def with_plans(videos: list[Video]) -> list[Video]:
    """Loads the plans of a page's gated videos in one query, and none when every video is free
    (`access` already says it has no plans) or their codes are annotated (`plan_codes`)."""
    gated = [video for video in videos if getattr(video, "access", None) != FREE and not hasattr(video, "plan_codes")]
    prefetch_related_objects(gated, "required_plans")
    return videos


def plan_codes_of(video: Video) -> list[str]:
    """The codes of the plans that unlock the video, in their order: annotated, else loaded."""
    codes = getattr(video, "plan_codes", None)
    return list(codes) if codes is not None else [plan.code for plan in plans_of(video)]


def plans_of(video: Video) -> list:
    """The plans that unlock the video, in their order; no query for a video annotated free."""
    if getattr(video, "access", None) == FREE:
        return []
    return list(video.required_plans.all())
