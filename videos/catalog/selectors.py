"""Reads of the catalog: what a viewer may see or change, search, and the staff's figures."""

from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Count,
    F,
    Func,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    prefetch_related_objects,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from accounts.models import User
from videos.catalog.access import FREE, with_access
from videos.library.annotations import with_my_rating
from videos.models import Tag, TranscodeJob, Video
from vod.exceptions import NotFoundError
from vod.permissions import staff_may

MANAGE_VIDEOS = "videos.change_video"  # the permission that lets staff change anyone's videos
_Row = TypeVar("_Row", bound=Model)

# Owner columns no video answer reads (OwnerSerializer shows id, username, display_name).
_OWNER_UNSHOWN = ("password", "last_login", "failed_login_count", "locked_until", "last_failed_login_at", "email")


def _with_relations(videos: QuerySet[Video]) -> QuerySet[Video]:
    """What every video answer shows, in a fixed number of queries: on PostgreSQL in the page's
    own query (tag names as an array, no prefetch), else with one more. The search vector, the
    probe's findings and the owner's credentials are never shown, so never read."""
    videos = videos.select_related("owner", "category").defer(
        "search_vector", "source_info", *(f"owner__{name}" for name in _OWNER_UNSHOWN)
    )
    if connection.vendor != "postgresql":
        return videos.prefetch_related("tags")
    names = Tag.objects.filter(videos=OuterRef("pk")).order_by("name").values("name")
    return videos.annotate(tag_names=ArraySubquery(names))


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


def rank_candidates(matches: QuerySet[Video]) -> QuerySet[Video]:
    """What a search ordered by relevance ranks: the newest VIDEO_SEARCH_RANK_LIMIT matches.

    ts_rank reads each match's whole search vector, so ranking every match of a common word
    (6,000 of 10,000 videos for "music") grows with the catalog; the newest N come off the
    (status, visibility, -published_at) index and stop there. The trade-off: a search answers at
    most N videos, ranked among themselves, and an older match beyond them is not found until
    the query (or a filter) narrows the matches below N. The cap is taken after the filters, so
    `q` with a tag or category ranks the newest N of those. Cursor pages stay exact: every page
    ranks the same N (until a newer match is published)."""
    newest = matches.order_by("-published_at", "-id").values("pk")[: settings.VIDEO_SEARCH_RANK_LIMIT]
    # `id = ANY(ARRAY(...))`, not `id IN (...)`: the array is computed once and the page reads
    # its rows by primary key, where an IN may be planned as a scan of every match.
    in_newest = Func(
        F("pk"), ArraySubquery(newest), arg_joiner=" = ANY(", template="(%(expressions)s))", output_field=BooleanField()
    )
    return matches.filter(in_newest)


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
    if getattr(video, "access", None) != FREE:  # the playback gate reads the plans themselves
        prefetch_related_objects([video], "required_plans")
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
