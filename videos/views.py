"""Catalog API: the public catalog, owners' videos and their uploads. Each action validates, calls
one service or selector, and serializes."""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from videos import playback, selectors, services, upload_parts, viewer_state
from videos.filters import ORDERINGS, CatalogFilter, CatalogPage
from videos.models import Category, Upload
from videos.serializers import (
    CategorySerializer,
    MyVideoSerializer,
    PlaybackSerializer,
    ProgressInputSerializer,
    ProgressSerializer,
    TranscodeJobSerializer,
    UploadCompleteInputSerializer,
    UploadSerializer,
    UploadStartInputSerializer,
    VideoCreatedSerializer,
    VideoInputSerializer,
    VideoSerializer,
    ViewInputSerializer,
)
from videos.transcode_jobs import transcode_queue
from vod.client_ip import client_ip
from vod.idempotency import HEADER as IDEMPOTENCY_HEADER
from vod.idempotency import idempotent
from vod.pagination import CursorPage
from vod.permissions import staff_may
from vod.viewsets import UUIDLookupMixin

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    description="Retries with the same key get the first answer instead of doing it again.",
)
BINARY_BODY = {"application/octet-stream": OpenApiTypes.BINARY}


def _input(serializer_class, request, **kwargs):
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _content_length(request) -> int | None:
    raw = request.META.get("CONTENT_LENGTH")
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationError({"Content-Length": ["Not a number."]}) from None


def _upload_body(upload, request) -> dict:
    received = upload_parts.received_parts(upload) if upload.status == upload.Status.ACTIVE else {}
    missing = [n for n in range(1, upload.part_count + 1) if n not in received]
    return {
        **{field: getattr(upload, field) for field in UploadSerializer.Meta.fields if hasattr(upload, field)},
        "parts_received": [{"number": n, "size": size, "etag": etag} for n, (size, etag) in sorted(received.items())],
        "parts_missing": [
            {
                "number": n,
                "size": upload.expected_part_size(n),
                "url": upload_parts.part_url(upload, n, request.build_absolute_uri),
            }
            for n in missing
        ]
        if upload.status == upload.Status.ACTIVE
        else [],
    }


class VideoViewSet(UUIDLookupMixin, viewsets.GenericViewSet):
    """`videos`: the public catalog for anyone; create, edit, upload and delete for owners (and staff)."""

    serializer_class = VideoSerializer
    filterset_class = CatalogFilter
    pagination_class = CatalogPage

    def get_permissions(self):
        if self.action in ("list", "retrieve", "playback", "views"):  # visibility is checked per video
            return [AllowAny()]
        return [IsAuthenticated()]

    def get_queryset(self):
        query = self.request.query_params.get("q", "")
        if "\x00" in query or len(query) > 200:
            raise ValidationError({"q": ["Up to 200 characters of text."]})
        return selectors.catalog_search(query=query)

    def _managed(self, pk):
        return selectors.video_managed_by(video_id=pk, user=self.request.user)

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
    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(VideoSerializer(page, many=True).data)

    @extend_schema(tags=["videos"], summary="A video anyone may watch, or one of mine")
    def retrieve(self, request, pk=None):
        video = selectors.video_visible_to(video_id=pk, user=request.user)
        user = request.user
        manages = user is not None and (video.owner_id == user.pk or staff_may(user, "videos.change_video"))
        return Response((MyVideoSerializer if manages else VideoSerializer)(video).data)

    @extend_schema(
        tags=["playback"],
        summary="Playback URLs (signed, short-lived, usable by any HLS player as they are)",
        responses=PlaybackSerializer,
    )
    @action(detail=True, methods=["get"], permission_classes=[AllowAny])
    def playback(self, request, pk=None):
        video = selectors.video_visible_to(video_id=pk, user=request.user)
        answer = playback.playback_answer(video=video, user=request.user, build_absolute_uri=request.build_absolute_uri)
        return Response(PlaybackSerializer(answer).data)

    @extend_schema(
        tags=["playback"],
        summary="Save where I am in this video (counts a view past 10 s)",
        request=ProgressInputSerializer,
        responses={204: None},
    )
    @action(detail=True, methods=["put"])
    def progress(self, request, pk=None):
        video = selectors.video_visible_to(video_id=pk, user=request.user)
        viewer_state.progress_record(user=request.user, video=video, **_input(ProgressInputSerializer, request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=["playback"],
        summary="Report a view by anyone (counted once per viewer per 6 h, after 10 s watched)",
        request=ViewInputSerializer,
        responses={204: None},
    )
    @action(detail=True, methods=["post"], permission_classes=[AllowAny])
    def views(self, request, pk=None):
        video = selectors.video_visible_to(video_id=pk, user=request.user)
        watched = _input(ViewInputSerializer, request)["watched_seconds"]
        if watched >= settings.VIEW_MIN_SECONDS:
            viewer = (
                f"user:{request.user.pk}"
                if request.user
                else viewer_state.anonymous_viewer(client_ip(request), request.headers.get("User-Agent", ""))
            )
            viewer_state.view_count_once(video=video, viewer=viewer)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=["videos"],
        summary="Transcode the source again (the current version stays playable meanwhile)",
        request=None,
        responses={202: TranscodeJobSerializer},
    )
    @action(detail=True, methods=["post"])
    def transcode(self, request, pk=None):
        job = transcode_queue(video=self._managed(pk))
        return Response(TranscodeJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        tags=["videos"],
        summary="Create a video (metadata); upload its source next",
        request=VideoInputSerializer,
        responses={201: VideoCreatedSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def create(self, request):
        def handler():
            video = services.video_create(owner=request.user, **_input(VideoInputSerializer, request))
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
    def partial_update(self, request, pk=None):
        video = self._managed(pk)
        changes = _input(VideoInputSerializer, request, partial=True)
        return Response(MyVideoSerializer(services.video_update(video=video, **changes)).data)

    @extend_schema(tags=["videos"], summary="Delete my video and its files", responses={204: None})
    def destroy(self, request, pk=None):
        services.video_delete(video=self._managed(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=["videos"],
        summary="Upload the source in one request (streamed; Content-Length required)",
        request=BINARY_BODY,
        responses={200: MyVideoSerializer},
    )
    @action(detail=True, methods=["put"], url_path="source", url_name="source")
    def source(self, request, pk=None):
        video = self._managed(pk)
        video = services.source_upload(video=video, stream=request.stream, content_length=_content_length(request))
        return Response(MyVideoSerializer(selectors.video_visible_to(video_id=video.pk, user=request.user)).data)

    @extend_schema(
        tags=["uploads"],
        summary="Start a resumable upload of the source",
        request=UploadStartInputSerializer,
        responses={201: UploadSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @action(detail=True, methods=["post"], url_path="uploads", url_name="uploads")
    def uploads(self, request, pk=None):
        def handler():
            video = self._managed(pk)
            upload = services.upload_start(video=video, **_input(UploadStartInputSerializer, request))
            return Response(UploadSerializer(_upload_body(upload, request)).data, status=status.HTTP_201_CREATED)

        return idempotent(request, f"upload-start:{pk}", handler)


class MyVideoViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """`me/videos`: the caller's videos in every status."""

    serializer_class = MyVideoSerializer

    def get_queryset(self):
        return selectors.videos_of_owner(owner=self.request.user)

    @extend_schema(tags=["videos"], summary="My videos, every status")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class UploadViewSet(UUIDLookupMixin, viewsets.GenericViewSet):
    """`uploads/{id}`: resume (see what arrived, get fresh part URLs), complete or abort."""

    serializer_class = UploadSerializer
    queryset = Upload.objects.none()  # for the schema's path types; rows come from the selector

    def _managed(self, pk):
        return selectors.upload_managed_by(upload_id=pk, user=self.request.user)

    @extend_schema(tags=["uploads"], summary="Parts received so far, and URLs for the missing ones")
    def retrieve(self, request, pk=None):
        return Response(UploadSerializer(_upload_body(self._managed(pk), request)).data)

    @extend_schema(tags=["uploads"], summary="Abort: drop the parts", responses={204: None})
    def destroy(self, request, pk=None):
        services.upload_abort(upload_id=self._managed(pk).pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=["uploads"],
        summary="Complete: assemble the parts into the source",
        request=UploadCompleteInputSerializer,
        responses={200: MyVideoSerializer},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        upload = self._managed(pk)
        parts = _input(UploadCompleteInputSerializer, request)["parts"]
        video = services.upload_complete(upload_id=upload.pk, parts=parts)
        return Response(MyVideoSerializer(selectors.video_visible_to(video_id=video.pk, user=request.user)).data)

    @extend_schema(
        tags=["uploads"],
        summary="Send one part (filesystem storage; the URL from the upload carries its signature)",
        request=BINARY_BODY,
        parameters=[OpenApiParameter("token", str, required=True)],
        responses={200: None},
    )
    @action(
        detail=True,
        methods=["put"],
        url_path=r"parts/(?P<number>[0-9]{1,5})",
        url_name="part",
        permission_classes=[AllowAny],
        authentication_classes=[],
    )
    def part(self, request, pk=None, number=None):
        upload_parts.check_part_token(request.query_params.get("token", ""), pk, int(number))
        part = services.upload_part_receive(
            upload_id=pk, number=int(number), stream=request.stream, content_length=_content_length(request)
        )
        return Response(status=status.HTTP_200_OK, headers={"ETag": f'"{part.etag}"'})


class RecentlyWatchedPage(CursorPage):
    ordering = "-updated_at"


class WatchHistoryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """`me/history`: what I watched, last watched first."""

    serializer_class = ProgressSerializer
    pagination_class = RecentlyWatchedPage

    def get_queryset(self):
        return viewer_state.history(user=self.request.user)

    @extend_schema(tags=["playback"], summary="My watch history")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        tags=["playback"],
        summary="Clear my whole watch history",
        responses={204: None},
        operation_id="me_history_clear",
    )
    def clear(self, request):
        viewer_state.history_clear(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(tags=["playback"], summary="Remove one video from my history", responses={204: None})
    def destroy(self, request, video_id=None):
        viewer_state.history_clear(user=request.user, video_id=video_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContinueWatchingViewSet(WatchHistoryViewSet):
    """`me/continue-watching`: started, not finished, last watched first."""

    def get_queryset(self):
        return viewer_state.continue_watching(user=self.request.user)

    @extend_schema(tags=["playback"], summary="Videos I started and did not finish")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class CategoryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """`categories`: the shelves staff set up."""

    serializer_class = CategorySerializer
    permission_classes = [AllowAny]
    pagination_class = None
    queryset = Category.objects.all()

    @extend_schema(tags=["videos"], summary="All categories")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
