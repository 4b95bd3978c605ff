"""Viewer state: watch progress (one upserted row per viewer and video) and view counts (once
per viewer, video and window; counted with an F expression so concurrent views all land)."""

import hashlib
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone

from accounts.models import User
from videos.cache_invalidation import view_counted
from videos.catalog.access import with_access
from videos.catalog.selectors import visible_to
from videos.models import Video, WatchProgress

COMPLETED_AT = 0.95


def progress_record(*, user: User, video: Video, position: float) -> WatchProgress:
    """One INSERT ... ON CONFLICT UPDATE; past 95% of the video it counts as completed."""
    duration = video.duration or 0
    position = max(0.0, min(position, duration)) if duration else max(0.0, position)
    completed = bool(duration) and position >= COMPLETED_AT * duration
    WatchProgress.objects.bulk_create(
        [WatchProgress(user=user, video=video, position=position, completed=completed, updated_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["user", "video"],
        update_fields=["position", "completed", "updated_at"],
    )
    if position >= settings.VIEW_MIN_SECONDS:
        view_count_once(video=video, viewer=_signed_in_viewer(user))
    return WatchProgress(user=user, video=video, position=position, completed=completed)


def view_report(*, video: Video, user: User | None, watched_seconds: float, ip: str | None) -> bool:
    """A view a player reports: it counts once VIEW_MIN_SECONDS were watched, once per viewer
    (the account, or a hash of the address for anyone signed out) in VIEW_WINDOW. Not the User-Agent:
    a client rotating it would be a new viewer each time."""
    if watched_seconds < settings.VIEW_MIN_SECONDS:
        return False
    viewer = _signed_in_viewer(user) if user else _anonymous_viewer(ip)
    return view_count_once(video=video, viewer=viewer)


def _signed_in_viewer(user: User) -> str:
    return f"user:{user.pk}"


def _anonymous_viewer(ip: str | None) -> str:
    """An anonymous viewer's key: a hash, so no address is stored."""
    return "anon:" + hashlib.sha256(f"{ip}".encode()).hexdigest()[:32]


def view_count_once(*, video: Video, viewer: str) -> bool:
    """Counts a view unless this viewer was counted for this video within VIEW_WINDOW."""
    window = int(settings.VIEW_WINDOW.total_seconds())
    if not cache.add(f"viewed:{video.pk}:{viewer}", 1, timeout=window):
        return False
    Video.objects.filter(pk=video.pk).update(view_count=F("view_count") + 1)
    view_counted()
    return True


def continue_watching(*, user: User) -> QuerySet[WatchProgress]:
    """Started, not finished, ready; newest first (only what the viewer may still see, as history)."""
    return history(user=user).filter(completed=False, position__gt=0, video__status=Video.Status.READY)


def history(*, user: User) -> QuerySet[WatchProgress]:
    """My progress rows of videos I may still see (a video made private, or no longer ready, drops
    out; its row stays, so it comes back if the video does), newest first, each video with its
    `access` for me (a fixed number of queries)."""
    videos = with_access(Video.objects.select_related("owner", "category"), viewer=user)
    return (
        WatchProgress.objects.filter(visible_to(user, through="video__"), user=user)
        .prefetch_related(Prefetch("video", queryset=videos), "video__tags", "video__required_plans")
        .order_by("-updated_at")
    )


def history_clear(*, user: User, video_id: uuid.UUID | str | None = None) -> int:
    rows = WatchProgress.objects.filter(user=user)
    if video_id is not None:
        rows = rows.filter(video_id=video_id)
    deleted, _ = rows.delete()
    return deleted
