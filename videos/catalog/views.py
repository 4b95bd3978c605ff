"""Catalog API: the public catalog, owners' videos, categories. Each action validates, calls one
service or selector, and serializes.

VideoViewSet holds every route under `videos/`: its own (list, read, create, edit, delete,
transcode again) and the upload and playback actions, which live with their subdomains
(`videos.uploads.views`, `videos.playback.views`) as mixins."""

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from sessions_app.access_tokens.scopes import Scope
from videos.catalog import selectors, services
from videos.catalog.access import with_plans
from videos.catalog.filters import ORDERINGS, CatalogFilter, CatalogPage
from videos.catalog.serializers import (
    CategorySerializer,
    MyVideoSerializer,
    TranscodeJobSerializer,
    VideoCreatedSerializer,
    VideoInputSerializer,
    VideoSerializer,
)
from videos.catalog.viewer_fields import write_viewer_fields
from videos.models import Category, Video
from videos.pipeline.jobs import transcode_queue
from videos.playback.views import VideoPlaybackActions, media_context
from videos.uploads.views import VideoSourceActions
from vod import images
from vod.idempotency import SCHEMA_PARAMETER as IDEMPOTENCY_PARAMETER
from vod.idempotency import idempotent
from vod.permissions import request_user, signed_in_user
from vod.response_cache import Personal, cached_read, public_video
from vod.serializers import validated
from vod.throttling import UserThrottle
from vod.viewsets import UUIDLookupMixin

# A signed-in viewer's catalog page is the anonymous one with their `access` and `my_rating` written in,
# unless they filter by `access` (which selects other videos per viewer).
SIGNED_IN_PAGE = Personal(
    applies=lambda request: "access" not in request.query_params,
    shared=lambda view, request: view.catalog_page(request, anonymous=True),
    overlay=lambda request, data: {
        **data,
        "results": write_viewer_fields(
            data["results"], viewer=request_user(request), poster_urls=media_context(request)["poster_urls"]
        ),
    },
)


class VideoViewSet(VideoPlaybackActions, VideoSourceActions, UUIDLookupMixin, viewsets.GenericViewSet):
    """`videos`: the public catalog for anyone; create, edit, upload and delete for owners (and staff)."""

    serializer_class = VideoSerializer
    filterset_class = CatalogFilter
    pagination_class = CatalogPage
    token_scopes = {
        "list": Scope.VIDEOS_READ,
        "retrieve": Scope.VIDEOS_READ,
        "create": Scope.VIDEOS_WRITE,
        "partial_update": Scope.VIDEOS_WRITE,
        "destroy": Scope.VIDEOS_WRITE,
        "transcode": Scope.VIDEOS_WRITE,
        "poster": Scope.VIDEOS_WRITE,
        **VideoSourceActions.token_scopes,
        **VideoPlaybackActions.token_scopes,
    }

    def get_permissions(self) -> list[BasePermission]:
        if self.action in ("list", "retrieve", "playback", "views"):  # visibility is checked per video
            return [AllowAny()]
        return [IsAuthenticated()]

    def get_queryset(self, anonymous: bool = False) -> QuerySet[Video]:
        """The catalog as the caller sees it (`access`, `my_rating`), or as an anonymous viewer does."""
        query = self.request.query_params.get("q", "")
        if "\x00" in query or len(query) > 200:
            raise ValidationError({"q": ["Up to 200 characters of text."]})
        return selectors.catalog_search(query=query, viewer=None if anonymous else request_user(self.request))

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        return None if page is None else with_plans(page)

    def catalog_page(self, request: Request, *, anonymous: bool = False) -> Response:
        """A page of the catalog, for the caller or (`anonymous`) as anyone sees it."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset(anonymous)))
        context = media_context(request, anonymous=anonymous)
        return self.get_paginated_response(VideoSerializer(page, many=True, context=context).data)

    def _managed(self, pk: str | None) -> Video:
        return selectors.video_managed_by(video_id=pk, user=signed_in_user(self.request))

    @extend_schema(
        tags=["videos"],
        summary="The public catalog",
        parameters=[
            OpenApiParameter("q", str, description="Full-text search: title, then tags, then description."),
            OpenApiParameter(
                "ordering", str, enum=list(ORDERINGS), description="Default: relevance with q, else newest."
            ),
            OpenApiParameter("limit", int, description="Page size, at most 100."),
        ],
    )
    @cached_read(params=("q", "ordering"), personal=SIGNED_IN_PAGE)
    def list(self, request: Request) -> Response:
        return self.catalog_page(request)

    @extend_schema(tags=["videos"], summary="A video anyone may watch, or one of mine")
    @cached_read(public=public_video)
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        video = selectors.video_visible_to(video_id=pk, user=request_user(request))
        manages = selectors.video_manageable_by(video=video, user=request_user(request))
        serializer = MyVideoSerializer if manages else VideoSerializer
        return Response(serializer(video, context=media_context(request)).data)

    @extend_schema(
        tags=["videos"],
        summary="Transcode the source again (the current version stays playable meanwhile)",
        description="Throttled per user (`THROTTLE_TRANSCODE`). At most `TRANSCODE_MAX_ACTIVE_PER_USER` of "
        "a user's transcodes run at once; later ones stay `queued` until one ends.",
        request=None,
        responses={202: TranscodeJobSerializer},
    )
    @action(detail=True, methods=["post"], throttle_classes=[UserThrottle], throttle_scope="transcode")
    def transcode(self, request: Request, pk: str | None = None) -> Response:
        job = transcode_queue(video=self._managed(pk))
        return Response(TranscodeJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        tags=["videos"],
        summary="Create a video (metadata); upload its source next",
        request=VideoInputSerializer,
        responses={201: VideoCreatedSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def create(self, request: Request) -> Response:
        def handler() -> Response:
            video = services.video_create(owner=signed_in_user(request), **validated(VideoInputSerializer, request))
            body = {
                "video": video,
                "upload": {
                    "single_url": request.build_absolute_uri(reverse("v1:video-source", kwargs={"pk": video.pk})),
                    "resumable_url": request.build_absolute_uri(reverse("v1:video-uploads", kwargs={"pk": video.pk})),
                    "max_bytes": settings.VIDEO_MAX_UPLOAD_BYTES,
                },
            }
            return Response(VideoCreatedSerializer(body).data, status=status.HTTP_201_CREATED)

        return idempotent(request, "video-create", handler)

    @extend_schema(
        tags=["videos"],
        summary="Edit my video",
        request=VideoInputSerializer(partial=True),
        responses=MyVideoSerializer,
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        video = self._managed(pk)
        changes = validated(VideoInputSerializer, request, partial=True)
        video = services.video_update(video=video, **changes)
        return Response(MyVideoSerializer(video, context=media_context(request)).data)

    @extend_schema(
        tags=["videos"],
        summary="Upload a poster (JPEG, PNG or WebP up to IMAGE_MAX_BYTES; re-encoded to the ladder's widths)",
        description="The body is the image itself, whatever its Content-Type, or multipart/form-data with the "
        "image in `file`; its format is read from the bytes. It replaces the generated poster, also after a "
        "re-transcode, until DELETE brings the generated one back.",
        methods=["PUT"],
        request=images.SCHEMA_BODY,
        responses=MyVideoSerializer,
    )
    @extend_schema(
        tags=["videos"],
        summary="Remove the uploaded poster (back to the generated one)",
        methods=["DELETE"],
        request=None,
        responses={204: None},
    )
    @action(detail=True, methods=["put", "delete"], parser_classes=[MultiPartParser])
    def poster(self, request: Request, pk: str | None = None) -> Response:
        video = self._managed(pk)
        if request.method == "DELETE":
            services.poster_delete(video=video)
            return Response(status=status.HTTP_204_NO_CONTENT)
        services.poster_set(video=video, data=images.uploaded_bytes(request))
        video = selectors.video_visible_to(video_id=video.pk, user=signed_in_user(request))
        return Response(MyVideoSerializer(video, context=media_context(request)).data)

    @extend_schema(tags=["videos"], summary="Delete my video and its files", responses={204: None})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.video_delete(video=self._managed(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyVideoViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """`me/videos`: the caller's videos in every status."""

    serializer_class = MyVideoSerializer
    token_scopes = {"list": Scope.VIDEOS_READ}

    def get_queryset(self) -> QuerySet[Video]:
        return selectors.videos_of_owner(owner=signed_in_user(self.request))

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        return None if page is None else with_plans(page)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), **media_context(self.request)}

    @extend_schema(tags=["videos"], summary="My videos, every status")
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)


class CategoryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """`categories`: the shelves staff set up."""

    serializer_class = CategorySerializer
    permission_classes = [AllowAny]
    pagination_class = None
    queryset = Category.objects.all()
    token_scopes = {"list": Scope.VIDEOS_READ}

    @extend_schema(tags=["videos"], summary="All categories")
    @cached_read()
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)
