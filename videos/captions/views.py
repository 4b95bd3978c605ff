"""Captions API: `videos/{id}/captions` for owners and staff, and the tracks as players fetch
them under a playback token (the SUBTITLES media playlist and its WebVTT)."""

from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.storage import default_storage
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import api_view, authentication_classes, permission_classes, renderer_classes
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from sessions_app.access_tokens.scopes import Scope
from videos.captions import playlists, selectors, services
from videos.captions.serializers import CaptionInputSerializer, CaptionSerializer
from videos.catalog import selectors as catalog_selectors
from videos.errors import CaptionTooLarge
from videos.models import Caption, Video
from videos.playback import signing
from videos.playback.views import NO_STORE, AnyMediaRenderer, cors
from vod.exceptions import NotFoundError
from vod.permissions import signed_in_user
from vod.serializers import validated
from vod.viewsets import UUIDLookupMixin

MULTIPART_OVERHEAD = 64 * 1024  # the fields and boundaries around a file of the largest size
VIDEO_ID = OpenApiParameter("video_pk", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The video's id.")


def _content(request: Request, attrs: dict) -> bytes | None:
    """The track's bytes from `file` or `content`, at most CAPTION_MAX_BYTES (413 beyond)."""
    limit = settings.CAPTION_MAX_BYTES
    if "file" in attrs:
        upload = attrs.pop("file")
        if upload.size > limit:
            raise CaptionTooLarge(f"Caption files are at most {limit} bytes.")
        return upload.read()
    if "content" in attrs:
        data = attrs.pop("content").encode()
        if len(data) > limit:
            raise CaptionTooLarge(f"Caption files are at most {limit} bytes.")
        return data
    return None


def _refuse_oversized_body(request: Request) -> None:
    """Before the body is parsed (a multipart file would be spooled to disk first)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.CAPTION_MAX_BYTES + MULTIPART_OVERHEAD:
        raise CaptionTooLarge(f"Caption files are at most {settings.CAPTION_MAX_BYTES} bytes.")


BODY = {"multipart/form-data": CaptionInputSerializer, "application/json": CaptionInputSerializer}


@extend_schema(tags=["captions"], parameters=[VIDEO_ID])
class CaptionViewSet(UUIDLookupMixin, viewsets.GenericViewSet):
    """`videos/{id}/captions`: a video's subtitle and caption tracks (owner and staff; others 404)."""

    serializer_class = CaptionSerializer
    queryset = Caption.objects.none()  # for the schema; every action reads through the selectors
    parser_classes = [JSONParser, MultiPartParser]
    pagination_class = None
    token_scopes = {
        "list": Scope.VIDEOS_READ,
        "retrieve": Scope.VIDEOS_READ,
        "create": Scope.VIDEOS_WRITE,
        "partial_update": Scope.VIDEOS_WRITE,
        "destroy": Scope.VIDEOS_WRITE,
    }

    def _video(self) -> Video:
        return catalog_selectors.video_managed_by(video_id=self.kwargs["video_pk"], user=signed_in_user(self.request))

    def _caption(self, pk: str | None) -> Caption:
        return selectors.caption_managed_by(video=self._video(), caption_id=pk, user=signed_in_user(self.request))

    @extend_schema(summary="The video's caption tracks")
    def list(self, request: Request, video_pk: str | None = None) -> Response:
        return Response(CaptionSerializer(selectors.captions_of(self._video()), many=True).data)

    @extend_schema(
        summary="Add a caption track (WebVTT or SRT, checked strictly, stored as clean WebVTT)",
        description="Multipart: `file` plus the fields; or JSON with the text in `content`. One track per "
        "(language, kind): another is 409 `caption_exists`. `is_default` clears the other tracks' default.",
        request=BODY,
        responses={201: CaptionSerializer},
    )
    def create(self, request: Request, video_pk: str | None = None) -> Response:
        _refuse_oversized_body(request)
        video = self._video()
        attrs = dict(validated(CaptionInputSerializer, request))
        caption = services.caption_create(video=video, content=_content(request, attrs) or b"", **attrs)
        return Response(CaptionSerializer(caption).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="A caption track")
    def retrieve(self, request: Request, video_pk: str | None = None, pk: str | None = None) -> Response:
        return Response(CaptionSerializer(self._caption(pk)).data)

    @extend_schema(
        summary="Change a caption track (any field; `file` or `content` replaces the track's text)",
        request={
            "multipart/form-data": CaptionInputSerializer(partial=True),
            "application/json": CaptionInputSerializer(partial=True),
        },
        responses=CaptionSerializer,
    )
    def partial_update(self, request: Request, video_pk: str | None = None, pk: str | None = None) -> Response:
        _refuse_oversized_body(request)
        caption = self._caption(pk)
        attrs = dict(validated(CaptionInputSerializer, request, partial=True))
        for name in ("kind", "is_default"):  # defaults of a new track, not changes
            if name not in request.data:
                attrs.pop(name, None)
        caption = services.caption_update(caption=caption, content=_content(request, attrs), **attrs)
        return Response(CaptionSerializer(caption).data)

    @extend_schema(summary="Delete a caption track", responses={204: None})
    def destroy(self, request: Request, video_pk: str | None = None, pk: str | None = None) -> Response:
        services.caption_delete(caption=self._caption(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _granted_caption(token: str, caption_id: Any) -> tuple[Video, Caption]:
    video = signing.granted_video(signing.read_token(token))
    caption = Caption.objects.filter(pk=caption_id, video=video).first()
    if caption is None:
        raise NotFoundError()
    return video, caption


PLAYER_FILE = {(200, "*/*"): OpenApiResponse(description="The file.")}


@extend_schema(
    summary="A caption track's HLS media playlist, under a signed playback URL",
    tags=["playback"],
    responses=PLAYER_FILE,
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@renderer_classes([JSONRenderer, AnyMediaRenderer])
def caption_playlist(request: Request, token: str, caption_id: str) -> HttpResponseBase:
    video, caption = _granted_caption(token, caption_id)
    response = HttpResponse(
        playlists.media_playlist(caption, video.duration or 0), content_type="application/vnd.apple.mpegurl"
    )
    response["Cache-Control"] = NO_STORE
    return cors(response)


@extend_schema(
    summary="A caption track's WebVTT, under a signed playback URL", tags=["playback"], responses=PLAYER_FILE
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@renderer_classes([JSONRenderer, AnyMediaRenderer])
def caption_vtt(request: Request, token: str, caption_id: str) -> HttpResponseBase:
    _video, caption = _granted_caption(token, caption_id)
    try:
        with default_storage.open(caption.key, "rb") as handle:
            stored = handle.read().decode()
    except (FileNotFoundError, ClientError):
        raise NotFoundError() from None
    response = HttpResponse(playlists.served_vtt(stored), content_type="text/vtt; charset=utf-8")
    response["Cache-Control"] = NO_STORE
    response["X-Content-Type-Options"] = "nosniff"
    return cors(response)
