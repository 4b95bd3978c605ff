"""Library API: playlists and watch later, ratings, channels, follows and the feed. Each action
validates, calls one service or selector, and serializes.

Scopes: reads (public data and my library alike) take `videos:read`; writes `library:write`."""

import uuid
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from sessions_app.access_tokens.scopes import Scope
from videos.catalog.access import with_plans
from videos.catalog.filters import ORDERINGS, CatalogFilter, CatalogPage
from videos.catalog.selectors import video_visible_to
from videos.errors import FollowersPrivate
from videos.library import selectors, services
from videos.library.serializers import (
    ChannelSerializer,
    ChannelVideoSerializer,
    ContainsSerializer,
    FeedVideoSerializer,
    FollowedChannelSerializer,
    FollowerSerializer,
    ItemAddSerializer,
    LikedSerializer,
    PlaylistInputSerializer,
    PlaylistItemSerializer,
    PlaylistSerializer,
    RatingInputSerializer,
    RatingSerializer,
    ReorderSerializer,
)
from videos.models import Playlist, Video
from videos.playback.views import media_context
from vod.pagination import CursorPage
from vod.permissions import request_user, signed_in_user
from vod.response_cache import cached_read
from vod.serializers import validated
from vod.viewsets import UUIDLookupMixin

READ, WRITE = Scope.VIDEOS_READ, Scope.LIBRARY_WRITE


class ItemPage(CursorPage):
    ordering = "position"


class FeedPage(CursorPage):
    ordering = ORDERINGS["newest"]  # type: ignore[assignment]  # a tie-break on id


class PlaylistViewSet(UUIDLookupMixin, viewsets.GenericViewSet):
    """`playlists`: mine to list, create, edit and delete; any I may see to open, with its items."""

    queryset = Playlist.objects.none()  # for the schema and OPTIONS; actions read through selectors
    serializer_class = PlaylistSerializer
    token_scopes = {
        "list": READ,
        "retrieve": READ,
        "create": WRITE,
        "partial_update": WRITE,
        "destroy": WRITE,
        "items": {"GET": READ, "POST": WRITE},
        "item_remove": WRITE,
        "reorder": WRITE,
    }

    def get_permissions(self) -> list[BasePermission]:
        if self.action in ("retrieve", "items") and self.request.method == "GET":
            return [AllowAny()]
        return [IsAuthenticated()]

    def _mine(self, pk) -> Any:
        return selectors.playlist_owned_by(playlist_id=pk, user=signed_in_user(self.request))

    @extend_schema(tags=["library"], summary="My playlists (watch later included)")
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.playlists_of(owner=signed_in_user(request)))
        return self.get_paginated_response(PlaylistSerializer(page, many=True).data)

    @extend_schema(
        tags=["library"],
        summary="Create a playlist",
        request=PlaylistInputSerializer,
        responses={201: PlaylistSerializer},
    )
    def create(self, request: Request) -> Response:
        playlist = services.playlist_create(
            owner=signed_in_user(request), **validated(PlaylistInputSerializer, request)
        )
        return Response(PlaylistSerializer(playlist).data, status=status.HTTP_201_CREATED)

    @extend_schema(tags=["library"], summary="A playlist I may see (public, unlisted, or mine)")
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(
            PlaylistSerializer(selectors.playlist_visible_to(playlist_id=pk, user=request_user(request))).data
        )

    @extend_schema(
        tags=["library"],
        summary="Edit my playlist",
        request=PlaylistInputSerializer(partial=True),
        responses=PlaylistSerializer,
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        changes = validated(PlaylistInputSerializer, request, partial=True)
        return Response(PlaylistSerializer(services.playlist_update(playlist=self._mine(pk), **changes)).data)

    @extend_schema(tags=["library"], summary="Delete my playlist", responses={204: None})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.playlist_delete(playlist=self._mine(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"],
        tags=["library"],
        summary="The items, in order; videos I may not see are stubs",
        parameters=[OpenApiParameter("limit", int, description="Page size, at most 100.")],
        responses=PlaylistItemSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        tags=["library"],
        summary="Add a video (at `position`, default the end)",
        request=ItemAddSerializer,
        responses={201: PlaylistItemSerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=ItemPage)
    def items(self, request: Request, pk: str | None = None) -> Response:
        viewer = request_user(request)
        if request.method == "POST":
            body = validated(ItemAddSerializer, request)
            playlist = self._mine(pk)
            video = video_visible_to(video_id=body.pop("video_id"), user=viewer)
            item = services.item_add(playlist=playlist, video=video, **body)
            item.video, item.visible = video, True  # type: ignore[attr-defined]
            answer = PlaylistItemSerializer(item, context=media_context(request)).data
            return Response(answer, status=status.HTTP_201_CREATED)
        playlist = selectors.playlist_visible_to(playlist_id=pk, user=viewer)
        page = self.paginate_queryset(selectors.playlist_items(playlist=playlist, viewer=viewer)) or []
        page = selectors.items_page_ready(page, viewer=viewer)
        return self.get_paginated_response(PlaylistItemSerializer(page, many=True, context=media_context(request)).data)

    @extend_schema(
        tags=["library"],
        summary="Remove an item (by item id)",
        parameters=[OpenApiParameter("item", int, OpenApiParameter.PATH, description="The item's id.")],
        responses={204: None},
    )
    @action(detail=True, methods=["delete"], url_path=r"items/(?P<item>[0-9]{1,18})")
    def item_remove(self, request: Request, pk: str | None = None, item: str = "") -> Response:
        services.item_remove(playlist=self._mine(pk), item_id=int(item))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=["library"],
        summary="Move `reorder_length` items from `start_position` to after `insert_after_position`",
        request=ReorderSerializer,
        responses={204: None},
    )
    @action(detail=True, methods=["post"], url_path="items/reorder")
    def reorder(self, request: Request, pk: str | None = None) -> Response:
        body = validated(ReorderSerializer, request)
        services.items_reorder(playlist=self._mine(pk), **body)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyLibraryViewSet(viewsets.GenericViewSet):
    """`me/...`: watch later, which playlists hold a video, my likes, who I follow, my feed."""

    permission_classes = [IsAuthenticated]
    queryset = Playlist.objects.none()  # for the schema and OPTIONS; actions read through selectors
    serializer_class = PlaylistSerializer
    token_scopes = dict.fromkeys(["watch_later", "contains", "liked", "following", "feed"], READ)

    @extend_schema(tags=["library"], summary="My watch later playlist (its items: playlists/{id}/items)")
    def watch_later(self, request: Request) -> Response:
        return Response(PlaylistSerializer(services.watch_later_get(user=signed_in_user(request))).data)

    @extend_schema(
        tags=["library"],
        summary="Which of my playlists hold each video",
        parameters=[
            OpenApiParameter(
                "video_ids",
                str,
                required=True,
                description=f"Comma-separated video ids, at most {selectors.MAX_CONTAINS_IDS}.",
            )
        ],
        responses=ContainsSerializer,
    )
    def contains(self, request: Request) -> Response:
        raw = request.query_params.get("video_ids", "")
        parts = raw.split(",") if raw else []
        if not parts or len(parts) > selectors.MAX_CONTAINS_IDS:
            raise ValidationError({"video_ids": [f"From 1 to {selectors.MAX_CONTAINS_IDS} comma-separated ids."]})
        try:
            ids = list(dict.fromkeys(uuid.UUID(part.strip()) for part in parts))
        except ValueError:
            raise ValidationError({"video_ids": ["Video ids (UUIDs), comma-separated."]}) from None
        found = selectors.playlists_containing(user=signed_in_user(request), video_ids=ids)
        return Response(ContainsSerializer({"videos": found}).data)

    @extend_schema(tags=["library"], summary="Videos I liked, newest like first", responses=LikedSerializer(many=True))
    def liked(self, request: Request) -> Response:
        user = signed_in_user(request)
        self.pagination_class = type("LikedPage", (CursorPage,), {"ordering": "-updated_at"})
        page = selectors.items_page_ready(self.paginate_queryset(selectors.liked(user=user)) or [], viewer=user)
        return self.get_paginated_response(LikedSerializer(page, many=True, context=media_context(request)).data)

    @extend_schema(tags=["library"], summary="Channels I follow", responses=FollowedChannelSerializer(many=True))
    def following(self, request: Request) -> Response:
        self.pagination_class = CursorPage
        page = self.paginate_queryset(selectors.following(user=signed_in_user(request)))
        return self.get_paginated_response(FollowedChannelSerializer(page, many=True).data)

    @extend_schema(
        tags=["library"], summary="Newest videos of the channels I follow", responses=FeedVideoSerializer(many=True)
    )
    def feed(self, request: Request) -> Response:
        self.pagination_class = FeedPage
        page = with_plans(self.paginate_queryset(selectors.feed(user=signed_in_user(request))) or [])
        return self.get_paginated_response(FeedVideoSerializer(page, many=True, context=media_context(request)).data)


class RatingViewSet(UUIDLookupMixin, viewsets.GenericViewSet):
    """`videos/{id}/rating`: my like or dislike of a video I may see."""

    permission_classes = [IsAuthenticated]
    queryset = Video.objects.none()  # for the schema and OPTIONS (whose PUT check finds nothing)
    serializer_class = RatingInputSerializer
    token_scopes = {"update": WRITE}

    @extend_schema(
        tags=["library"],
        summary="Like, dislike, or `none` to take my rating back",
        request=RatingInputSerializer,
        responses=RatingSerializer,
    )
    def update(self, request: Request, pk: str | None = None) -> Response:
        value = validated(RatingInputSerializer, request)["rating"]
        user = signed_in_user(request)
        video = video_visible_to(video_id=pk, user=user)
        services.rating_set(user=user, video=video, value=value)
        counts = Video.objects.filter(pk=video.pk).values("like_count", "dislike_count").get()
        return Response(RatingSerializer({"rating": value, **counts}).data)


class ChannelViewSet(viewsets.GenericViewSet):
    """`channels/{username}`: public profiles, their videos and playlists, and follows."""

    lookup_field = "username"
    lookup_value_regex = r"[\w.@+-]{1,30}"
    queryset = Video.objects.none()  # for the schema (the `videos` action's filters are the catalog's)
    serializer_class = ChannelSerializer
    filterset_class = None  # the catalog's filters, on `videos` only
    token_scopes = {
        "retrieve": READ,
        "videos": READ,
        "playlists": READ,
        "followers": READ,
        "follow": WRITE,
    }

    def get_permissions(self) -> list[BasePermission]:
        if self.action in ("retrieve", "videos", "playlists"):
            return [AllowAny()]
        return [IsAuthenticated()]

    def _channel(self, username: str | None) -> Any:
        return selectors.channel_get(username=username or "")

    def get_object(self) -> Any:
        """The channel (OPTIONS on a PUT route looks it up)."""
        return self._channel(self.kwargs.get("username"))

    @extend_schema(tags=["library"], summary="A channel's public profile")
    @cached_read()
    def retrieve(self, request: Request, username: str | None = None) -> Response:
        return Response(ChannelSerializer(self._channel(username)).data)

    @extend_schema(
        tags=["library"],
        summary="The channel's ready public videos (the catalog's filters and orderings)",
        parameters=[
            OpenApiParameter("ordering", str, enum=[o for o in ORDERINGS if o != "relevance"]),
            OpenApiParameter("limit", int, description="Page size, at most 100."),
        ],
        responses=ChannelVideoSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filterset_class=CatalogFilter, pagination_class=CatalogPage)
    @cached_read(params=("ordering",))
    def videos(self, request: Request, username: str | None = None) -> Response:
        channel = self._channel(username)
        videos: QuerySet[Video] = self.filter_queryset(
            selectors.channel_videos(channel=channel, viewer=request_user(request))
        )
        page = with_plans(self.paginate_queryset(videos) or [])
        return self.get_paginated_response(ChannelVideoSerializer(page, many=True, context=media_context(request)).data)

    @extend_schema(tags=["library"], summary="The channel's public playlists", responses=PlaylistSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=CursorPage)
    @cached_read()
    def playlists(self, request: Request, username: str | None = None) -> Response:
        page = self.paginate_queryset(selectors.public_playlists_of(owner=self._channel(username)))
        return self.get_paginated_response(PlaylistSerializer(page, many=True).data)

    @extend_schema(
        tags=["library"],
        summary="Who follows my channel (the count is on the profile)",
        responses=FollowerSerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=CursorPage)
    def followers(self, request: Request, username: str | None = None) -> Response:
        channel = self._channel(username)
        if channel.pk != signed_in_user(request).pk:
            raise FollowersPrivate()
        page = self.paginate_queryset(selectors.followers(channel=channel))
        return self.get_paginated_response(FollowerSerializer(page, many=True).data)

    @extend_schema(
        tags=["library"],
        summary="Follow (PUT) or unfollow (DELETE) the channel; idempotent",
        request=None,
        responses={204: None},
    )
    @action(detail=True, methods=["put", "delete"])
    def follow(self, request: Request, username: str | None = None) -> Response:
        channel, me = self._channel(username), signed_in_user(request)
        if request.method == "PUT":
            services.follow(follower=me, channel=channel)
        else:
            services.unfollow(follower=me, channel=channel)
        return Response(status=status.HTTP_204_NO_CONTENT)
