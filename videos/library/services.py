"""Writes of the viewer library: playlists and their items, ratings, follows.

Every write to a playlist's items locks the playlist row first, then moves positions with single
UPDATE statements (the (playlist, position) constraint is deferred to commit), so positions stay
dense 1..N under concurrency. Rating counters move with F() in the transaction of the row."""

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from accounts.models import User
from videos.cache_invalidation import counts_moved
from videos.errors import (
    CannotFollowSelf,
    PlaylistFull,
    PlaylistLimitReached,
    PositionOutOfRange,
    WatchLaterFixed,
)
from videos.models import Follow, Playlist, PlaylistItem, Rating, Video
from vod.exceptions import NotFoundError
from vod.response_cache import invalidate

WATCH_LATER_TITLE = "Watch later"
NONE = "none"  # the rating value that removes my rating


def _locked(playlist: Playlist) -> Playlist:
    return Playlist.objects.select_for_update().get(pk=playlist.pk)


@transaction.atomic
def playlist_create(
    *, owner: User, title: str, description: str = "", visibility: str = Playlist.Visibility.PRIVATE
) -> Playlist:
    User.objects.select_for_update().filter(pk=owner.pk).first()  # serializes the cap check per user
    if Playlist.objects.filter(owner=owner, kind=Playlist.Kind.REGULAR).count() >= settings.PLAYLISTS_PER_USER:
        raise PlaylistLimitReached()
    return Playlist.objects.create(owner=owner, title=title, description=description, visibility=visibility)


def watch_later_get(*, user: User) -> Playlist:
    """The user's watch later playlist, created the first time it is asked for."""
    existing = Playlist.objects.filter(owner=user, kind=Playlist.Kind.WATCH_LATER).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Playlist.objects.create(owner=user, kind=Playlist.Kind.WATCH_LATER, title=WATCH_LATER_TITLE)
    except IntegrityError:  # a concurrent first request created it
        return Playlist.objects.get(owner=user, kind=Playlist.Kind.WATCH_LATER)


def playlist_update(*, playlist: Playlist, **changes) -> Playlist:
    if playlist.kind == Playlist.Kind.WATCH_LATER and (
        "title" in changes or changes.get("visibility", Playlist.Visibility.PRIVATE) != Playlist.Visibility.PRIVATE
    ):
        raise WatchLaterFixed()
    for name, value in changes.items():
        setattr(playlist, name, value)
    playlist.save(update_fields=[*changes, "updated_at"])
    return playlist


def playlist_delete(*, playlist: Playlist) -> None:
    if playlist.kind == Playlist.Kind.WATCH_LATER:
        raise WatchLaterFixed()
    playlist.delete()


@transaction.atomic
def item_add(
    *,
    playlist: Playlist,
    video: Video,
    position: int | None = None,
    start_s: float | None = None,
    stop_s: float | None = None,
) -> PlaylistItem:
    """Inserts at `position` (1-based; default: the end), shifting what follows down by one.
    Locks the video (KEY SHARE: it cannot be deleted meanwhile) before the playlist, the order
    video deletion takes them in."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM videos_video WHERE id = %s FOR KEY SHARE", [video.pk])
        if cursor.fetchone() is None:  # deleted since the caller loaded it
            raise NotFoundError()
    playlist = _locked(playlist)
    count = playlist.item_count
    if count >= settings.PLAYLIST_MAX_ITEMS:
        raise PlaylistFull()
    if position is None:
        position = count + 1
    if not 1 <= position <= count + 1:
        raise PositionOutOfRange(fields={"position": [f"From 1 to {count + 1}."]})
    PlaylistItem.objects.filter(playlist=playlist, position__gte=position).update(position=F("position") + 1)
    item = PlaylistItem.objects.create(
        playlist=playlist, video=video, position=position, start_s=start_s, stop_s=stop_s
    )
    Playlist.objects.filter(pk=playlist.pk).update(item_count=F("item_count") + 1)
    _item_count_moved(playlist)
    return item


@transaction.atomic
def item_remove(*, playlist: Playlist, item_id) -> None:
    playlist = _locked(playlist)
    item = PlaylistItem.objects.filter(playlist=playlist, pk=item_id).first()
    if item is None:
        raise NotFoundError()
    item.delete()
    PlaylistItem.objects.filter(playlist=playlist, position__gt=item.position).update(position=F("position") - 1)
    Playlist.objects.filter(pk=playlist.pk).update(item_count=F("item_count") - 1)
    _item_count_moved(playlist)


def _item_count_moved(playlist: Playlist) -> None:
    """A public playlist's count shows on its channel's cached page."""
    if playlist.visibility == Playlist.Visibility.PUBLIC:
        counts_moved()


@transaction.atomic
def items_reorder(
    *, playlist: Playlist, start_position: int, insert_after_position: int, reorder_length: int = 1
) -> None:
    """PeerTube's reorder: the `reorder_length` items from `start_position` move to just after
    `insert_after_position` (0: before the first). A target inside the block changes nothing."""
    playlist = _locked(playlist)
    count = playlist.item_count
    start, after, length = start_position, insert_after_position, reorder_length
    end = start + length - 1
    if not 1 <= start <= count:
        raise PositionOutOfRange(fields={"start_position": [f"From 1 to {count}."]})
    if end > count:
        raise PositionOutOfRange(fields={"reorder_length": [f"At most {count - start + 1} from this start."]})
    if not 0 <= after <= count:
        raise PositionOutOfRange(fields={"insert_after_position": [f"From 0 to {count}."]})
    items = PlaylistItem.objects.filter(playlist=playlist)
    block = list(items.filter(position__gte=start, position__lte=end).values_list("pk", flat=True))
    if after > end:  # moving down: what sits between the block and the target moves up
        items.filter(position__gt=end, position__lte=after).update(position=F("position") - length)
        items.filter(pk__in=block).update(position=F("position") + (after - end))
    elif after < start - 1:  # moving up: what sits between the target and the block moves down
        items.filter(position__gt=after, position__lt=start).update(position=F("position") + length)
        items.filter(pk__in=block).update(position=F("position") - (start - after - 1))


def _compact(playlist_ids: list) -> None:
    """Renumbers the items of these (locked) playlists 1..N in their order, and their counts."""
    if not playlist_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE videos_playlistitem AS item SET position = ranked.n
            FROM (SELECT id, row_number() OVER (PARTITION BY playlist_id ORDER BY position) AS n
                  FROM videos_playlistitem WHERE playlist_id = ANY(%s)) AS ranked
            WHERE item.id = ranked.id AND item.position <> ranked.n
            """,
            [list(playlist_ids)],
        )
    counts = PlaylistItem.objects.filter(playlist=OuterRef("pk")).order_by().values("playlist")
    Playlist.objects.filter(pk__in=playlist_ids).update(
        item_count=Coalesce(Subquery(counts.annotate(n=Count("pk")).values("n")), Value(0))
    )


@transaction.atomic
def videos_remove_from_playlists(*, video_ids: list) -> None:
    """For video deletion: the videos leave every playlist, and the positions close up. Locks the
    videos, then the playlists that hold them in pk order (`item_add` takes the same order), so
    no item can be added to them meanwhile."""
    list(Video.objects.filter(pk__in=video_ids).order_by("pk").select_for_update().values_list("pk", flat=True))
    holding = PlaylistItem.objects.filter(video_id__in=video_ids).values("playlist_id")
    playlist_ids = list(
        Playlist.objects.filter(pk__in=holding).order_by("pk").select_for_update().values_list("pk", flat=True)
    )
    PlaylistItem.objects.filter(video_id__in=video_ids).delete()
    _compact(playlist_ids)


def _move_counter(video_id, value: str | None, step: int) -> None:
    if value is None:
        return
    field = "like_count" if value == Rating.Value.LIKE else "dislike_count"
    Video.objects.filter(pk=video_id).update(**{field: Greatest(F(field) + step, 0)})
    counts_moved()


@transaction.atomic
def rating_set(*, user: User, video: Video, value: str) -> str:
    """Sets (or with `none`, removes) my rating; the video's counters move in this transaction.
    The rating row is locked (or its insert waits on a concurrent one), so repeats count once."""
    row = Rating.objects.select_for_update().filter(user=user, video=video).first()
    if row is None and value != NONE:
        try:
            with transaction.atomic():
                Rating.objects.create(user=user, video=video, value=value)
        except IntegrityError:  # a concurrent request inserted it first (and has committed)
            row = Rating.objects.select_for_update().get(user=user, video=video)
        else:
            _move_counter(video.pk, value, +1)
            return value
    old = row.value if row is not None else None
    if old == value or (old is None and value == NONE):
        return value
    if value == NONE:
        row.delete()  # type: ignore[union-attr]
    else:
        Rating.objects.filter(pk=row.pk).update(value=value, updated_at=timezone.now())  # type: ignore[union-attr]
        _move_counter(video.pk, value, +1)
    _move_counter(video.pk, old, -1)
    return value


def ratings_recount() -> int:
    """Repairs counters that drifted from the rating rows (a manual fix, a failed deploy)."""

    def counted(value: str) -> Coalesce:
        rows = Rating.objects.filter(video=OuterRef("pk"), value=value).order_by().values("video")
        return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")), Value(0), output_field=IntegerField())

    videos = Video.objects.annotate(likes=counted(Rating.Value.LIKE), dislikes=counted(Rating.Value.DISLIKE))
    drifted = videos.filter(~Q(like_count=F("likes")) | ~Q(dislike_count=F("dislikes")))
    repaired = Video.objects.filter(pk__in=drifted.values("pk")).update(
        like_count=counted(Rating.Value.LIKE), dislike_count=counted(Rating.Value.DISLIKE)
    )
    if repaired:
        invalidate()
    return repaired


def follow(*, follower: User, channel: User) -> None:
    """Idempotent."""
    if follower.pk == channel.pk:
        raise CannotFollowSelf()
    Follow.objects.bulk_create([Follow(follower=follower, channel=channel)], ignore_conflicts=True)
    counts_moved()  # the channel's follower count


def unfollow(*, follower: User, channel: User) -> None:
    if Follow.objects.filter(follower=follower, channel=channel).delete()[0]:
        counts_moved()


@transaction.atomic
def library_delete_for_user(*, user: User) -> None:
    """For account deletion: the user's ratings leave the counters of what they rated (their
    playlists and follows go with the account by cascade)."""
    for value in Rating.Value.values:
        field = "like_count" if value == Rating.Value.LIKE else "dislike_count"
        rated = Rating.objects.filter(user=user, value=value).values("video")
        Video.objects.filter(pk__in=rated).update(**{field: Greatest(F(field) - 1, 0)})
    Rating.objects.filter(user=user).delete()
    invalidate()
