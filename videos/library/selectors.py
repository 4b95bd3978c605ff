"""Reads of the viewer library: playlists a viewer may open, their items, channels, the feed."""

from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from accounts.models import User
from videos.catalog.access import with_access, with_plans
from videos.catalog.selectors import catalog_search, visible_to
from videos.library.annotations import with_my_rating
from videos.models import Follow, Playlist, PlaylistItem, Rating, Video
from vod.exceptions import NotFoundError
from vod.permissions import staff_may

MAX_CONTAINS_IDS = 50


def _is_staff_viewer(user: User | None) -> bool:
    return user is not None and user.is_authenticated and staff_may(user, "videos.view_playlist")


def playlist_visible_to(*, playlist_id, user: User | None) -> Playlist:
    """Public and unlisted playlists open by id; private ones only for the owner and staff.
    Anything else is "not found"."""
    playlist = Playlist.objects.select_related("owner").filter(pk=playlist_id).first()
    if playlist is None:
        raise NotFoundError()
    mine = user is not None and user.is_authenticated and playlist.owner_id == user.pk
    if playlist.visibility == Playlist.Visibility.PRIVATE and not (mine or _is_staff_viewer(user)):
        raise NotFoundError()
    return playlist


def playlist_owned_by(*, playlist_id, user: User) -> Playlist:
    """A playlist the caller may change: only its owner; others get "not found"."""
    playlist = Playlist.objects.select_related("owner").filter(pk=playlist_id, owner=user).first()
    if playlist is None:
        raise NotFoundError()
    return playlist


def playlists_of(*, owner: User) -> QuerySet[Playlist]:
    return Playlist.objects.filter(owner=owner).select_related("owner")


def public_playlists_of(*, owner: User) -> QuerySet[Playlist]:
    return playlists_of(owner=owner).filter(visibility=Playlist.Visibility.PUBLIC, kind=Playlist.Kind.REGULAR)


def _videos_for(viewer: User | None) -> QuerySet[Video]:
    return with_my_rating(
        with_access(Video.objects.select_related("owner", "category").prefetch_related("tags"), viewer=viewer),
        viewer=viewer,
    )


def _visible(viewer: User | None) -> ExpressionWrapper | Value:
    """The catalog's rule (`visible_to`) as a column of rows that point at a video."""
    rule = visible_to(viewer, through="video__")
    return ExpressionWrapper(rule, output_field=BooleanField()) if rule else Value(True)


def playlist_items(*, playlist: Playlist, viewer: User | None) -> QuerySet[PlaylistItem]:
    """The items with their videos as the catalog shows them (`visible` marks the ones the viewer
    may see; the others become stubs), in a fixed number of queries."""
    return (
        PlaylistItem.objects.filter(playlist=playlist)
        .annotate(visible=_visible(viewer))
        .prefetch_related(Prefetch("video", queryset=_videos_for(viewer)))
    )


def items_page_ready(items: list, *, viewer: User | None) -> list:
    """Loads the plans of the visible videos of a page (items or ratings)."""
    with_plans([item.video for item in items if item.visible])
    return items


def playlists_containing(*, user: User, video_ids: list) -> dict[str, list[dict]]:
    """For each video id: which of my playlists hold it, and where."""
    found: dict[str, list[dict]] = {str(video_id): [] for video_id in video_ids}
    rows = PlaylistItem.objects.filter(playlist__owner=user, video_id__in=video_ids).order_by("playlist", "position")
    for item_id, playlist_id, video_id, position in rows.values_list("pk", "playlist_id", "video_id", "position"):
        found[str(video_id)].append({"playlist_id": playlist_id, "item_id": item_id, "position": position})
    return found


def _count(rows: QuerySet, by: str) -> Coalesce:
    counted = rows.filter(**{by: OuterRef("pk")}).order_by().values(by).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), Value(0), output_field=IntegerField())


def channels() -> QuerySet[User]:
    """Active users with their public figures, in the same query."""
    return User.objects.filter(is_active=True).annotate(
        follower_count=_count(Follow.objects.all(), "channel"),
        public_video_count=_count(Video.objects.catalog(), "owner"),
    )


def channel_get(*, username: str) -> User:
    """A channel by username (any case); deactivated accounts' channels are not found."""
    channel = channels().filter(username__iexact=username).first()
    if channel is None:
        raise NotFoundError()
    return channel


def channel_videos(*, channel: User, viewer: User | None) -> QuerySet[Video]:
    return catalog_search(viewer=viewer).filter(owner=channel)


def feed(*, user: User) -> QuerySet[Video]:
    """Newest ready public videos of the channels I follow: one subquery, whatever their number."""
    followed = Follow.objects.filter(follower=user).values("channel")
    return catalog_search(viewer=user).filter(owner__in=followed)


def following(*, user: User) -> QuerySet[Follow]:
    return Follow.objects.filter(follower=user, channel__is_active=True).select_related("channel")


def followers(*, channel: User) -> QuerySet[Follow]:
    return Follow.objects.filter(channel=channel, follower__is_active=True).select_related("follower")


def liked(*, user: User) -> QuerySet[Rating]:
    """My likes, newest first; a video I may no longer see shows as a stub."""
    return (
        Rating.objects.filter(user=user, value=Rating.Value.LIKE)
        .annotate(visible=_visible(user))
        .prefetch_related(Prefetch("video", queryset=_videos_for(user)))
    )
