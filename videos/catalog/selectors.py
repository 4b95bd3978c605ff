"""Reads of the catalog: what a viewer may see or change, search, and the staff's figures."""

from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import BigIntegerField, Count, F, Model, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from accounts.models import User
from videos.catalog.access import with_access, with_plans
from videos.library.annotations import with_my_rating
from videos.models import TranscodeJob, Video
from vod.exceptions import NotFoundError
from vod.permissions import staff_may

MANAGE_VIDEOS = "videos.change_video"  # the permission that lets staff change anyone's videos
_Row = TypeVar("_Row", bound=Model)


def _with_relations(videos: QuerySet[Video]) -> QuerySet[Video]:
    """What every video answer shows, in a fixed number of queries."""
    return videos.select_related("owner", "category").prefetch_related("tags")


def catalog_search(*, query: str = "", viewer: User | None = None) -> QuerySet[Video]:
    """Ready public videos, with `access` for the viewer; with `query`, the matches annotated
    with `rank` (title > tags > description)."""
    videos = with_my_rating(with_access(_with_relations(Video.objects.catalog()), viewer=viewer), viewer=viewer)
    query = query.strip()
    if not query:
        return videos
    if connection.vendor == "postgresql":
        search = SearchQuery(query, config=settings.VIDEO_SEARCH_CONFIG, search_type="websearch")
        # An integer rank (millionths): the cursor of the next page compares it exactly, where
        # ts_rank's 4-byte float would not survive the round trip through text.
        rank = Cast(SearchRank(F("search_vector"), search) * 1_000_000, BigIntegerField())
        return videos.filter(search_vector=search).annotate(rank=rank)
    matches = Q(title__icontains=query) | Q(description__icontains=query) | Q(tags__name__icontains=query)
    return videos.filter(pk__in=Video.objects.filter(matches).values("pk"))


def visible_to(user: User | None, *, through: str = "") -> Q:
    """The one rule of who may see a video, as a filter: public or unlisted once ready; anything
    (private, not ready) for its owner and staff who may view videos. `through` is the path to the
    video from the rows filtered (e.g. "video__" for watch progress)."""
    signed_in = user is not None and user.is_authenticated
    if signed_in and staff_may(user, "videos.view_video"):
        return Q()
    rule = Q(**{f"{through}status": Video.Status.READY}) & ~Q(**{f"{through}visibility": Video.Visibility.PRIVATE})
    return rule | Q(**{f"{through}owner": user}) if signed_in else rule


def video_visible_to(*, video_id, user: User | None) -> Video:
    """A video the caller may see (`visible_to`), with `access` (whether they may play it).
    Anything else is "not found", never "forbidden", so private videos are not revealed."""
    videos = Video.objects.filter(visible_to(user), pk=video_id)
    video = with_my_rating(with_access(_with_relations(videos), viewer=user), viewer=user).first()
    if video is None:
        raise NotFoundError()
    with_plans([video])
    return video


def video_manageable_by(*, video: Video, user: User | None) -> bool:
    """The owner, and staff who may change videos."""
    return user is not None and (video.owner_id == user.pk or staff_may(user, MANAGE_VIDEOS))


def first_managed_by(rows: QuerySet[_Row], *, user: User, owner_field: str = "owner") -> _Row:
    """The row of `rows` if the caller may change it: the owner of its video (reached through
    `owner_field`), or staff who may change videos; anyone else gets "not found"."""
    if not staff_may(user, MANAGE_VIDEOS):
        rows = rows.filter(**{owner_field: user})
    row = rows.first()
    if row is None:
        raise NotFoundError()
    return row


def video_managed_by(*, video_id, user: User) -> Video:
    """A video the caller may change; others get "not found"."""
    return first_managed_by(Video.objects.filter(pk=video_id), user=user)


def with_jobs(videos: QuerySet[Video]) -> QuerySet[Video]:
    """Adds each video's transcode jobs, newest first (`video.jobs`), in one more query."""
    return videos.prefetch_related(
        Prefetch("transcode_jobs", queryset=TranscodeJob.objects.order_by("-created_at"), to_attr="jobs")
    )


def videos_of_owner(*, owner: User) -> QuerySet[Video]:
    return with_access(with_jobs(_with_relations(Video.objects.filter(owner=owner))), viewer=owner)


def with_latest_job(videos: QuerySet[Video]) -> QuerySet[Video]:
    """Adds the status and progress of each video's newest transcode job (`job_status`,
    `job_progress`) in the same query, for lists that show them per row."""
    newest = TranscodeJob.objects.filter(video=OuterRef("pk")).order_by("-created_at")
    return videos.annotate(
        job_status=Subquery(newest.values("status")[:1]), job_progress=Subquery(newest.values("progress")[:1])
    )


def staff_dashboard() -> dict:
    """The admin index's figures: videos by status, jobs now and over the last 24 hours, and the
    bytes stored (sources and everything derived), in three queries."""
    by_status = dict(Video.objects.order_by().values_list("status").annotate(count=Count("pk")))
    since = timezone.now() - timedelta(hours=24)
    Job = TranscodeJob.Status
    jobs = TranscodeJob.objects.aggregate(
        queued=Count("pk", filter=Q(status=Job.QUEUED)),
        running=Count("pk", filter=Q(status=Job.RUNNING)),
        failed_24h=Count("pk", filter=Q(status=Job.FAILED, finished_at__gte=since)),
        succeeded_24h=Count("pk", filter=Q(status=Job.SUCCEEDED, finished_at__gte=since)),
    )
    stored = Video.objects.aggregate(
        sources=Coalesce(Sum("source_size"), 0), derived=Coalesce(Sum("derived_size"), 0), videos=Count("pk")
    )
    return {
        "videos": [(value, label, by_status.get(value, 0)) for value, label in Video.Status.choices],
        "video_count": stored["videos"],
        "jobs": jobs,
        "source_bytes": stored["sources"],
        "derived_bytes": stored["derived"],
        "stored_bytes": stored["sources"] + stored["derived"],
    }
