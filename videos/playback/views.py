"""Playback API: a video's playback URLs, the files served under them (playlists rewritten per
token, media with Range support), views and watch progress, and the viewer's history.

The actions on `videos/{id}` (`playback`, `progress`, `views`) are a mixin that the catalog's
VideoViewSet includes, so every route of a video stays on one viewset."""

import mimetypes
import re
from collections.abc import Iterator
from typing import IO, Any

from botocore.exceptions import ClientError
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import (
    action,
    api_view,
    authentication_classes,
    permission_classes,
    renderer_classes,
)
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from sessions_app.access_tokens.scopes import Scope
from sessions_app.authentication import current_session_id
from videos import keys, storage
from videos.captions import playlists as caption_playlists
from videos.catalog import selectors
from videos.errors import RangeNotSatisfiable
from videos.models import WatchProgress
from videos.playback import gate, signing, viewer_state
from videos.playback.serializers import (
    PlaybackSerializer,
    ProgressInputSerializer,
    ProgressSerializer,
    ViewInputSerializer,
)
from vod import images
from vod.client_ip import client_ip
from vod.exceptions import NotFoundError
from vod.pagination import CursorPage
from vod.permissions import request_user, signed_in_user
from vod.serializers import validated
from vod.throttling import AnonymousIPThrottle

MEDIA_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".vtt": "text/vtt",
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
NO_STORE = "private, no-store"  # answers no shared cache may keep: per viewer, or gated


class AnyMediaRenderer(BaseRenderer):
    """Lets players ask for playlists and segments with their own Accept headers."""

    media_type = "*/*"
    format = "media"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> Any:
        return JSONRenderer().render(data) if isinstance(data, (dict, list)) else data


def cors(response: HttpResponseBase) -> HttpResponseBase:
    # Token-authorised, no cookies: any origin's player may fetch it.
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = "Content-Length, Content-Range"
    return response


def _ranged(request: Request, key: str, content_type: str, cache_control: str) -> HttpResponseBase:
    """Streams a stored file, honouring a single `Range: bytes=a-b` (players seek with it)."""
    size = default_storage.size(key)
    handle = default_storage.open(key, "rb")
    header = request.headers.get("Range", "")
    match = _RANGE.match(header.strip()) if header else None
    response: HttpResponseBase
    if not header:
        response = FileResponse(handle, content_type=content_type)
        response["Content-Length"] = str(size)
    else:
        start, end = (match.group(1), match.group(2)) if match else ("", "")
        if not match or (start == "" and end == ""):
            handle.close()
            raise RangeNotSatisfiable()
        if start == "":  # the last `end` bytes
            first, last = max(0, size - int(end)), size - 1
        else:
            first, last = int(start), min(int(end) if end else size - 1, size - 1)
        if first >= size or first > last:
            handle.close()
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        handle.seek(first)
        length = last - first + 1
        response = FileResponse(_limited(handle, length), status=206, content_type=content_type)
        response["Content-Length"] = str(length)
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = cache_control
    return response


def _limited(handle: IO[bytes], length: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    try:
        while length > 0:
            data = handle.read(min(chunk, length))
            if not data:
                break
            length -= len(data)
            yield data
    finally:
        handle.close()


@extend_schema(
    tags=["playback"],
    summary="A file of a video's HLS version, under its signed playback URL",
    responses={(200, "*/*"): OpenApiResponse(description="The file; playlists rewritten for this token.")},
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@renderer_classes([JSONRenderer, AnyMediaRenderer])
def playback_file(request: Request, token: str, path: str) -> HttpResponseBase:
    grant = signing.read_token(token)
    video = signing.granted_video(grant)
    path = signing.safe_relative_path(path)
    suffix = path[path.rfind(".") :]
    content_type = MEDIA_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"
    key = video.hls_prefix + path
    if suffix in (".m3u8", ".vtt"):
        try:
            text = signing.playlist_for(video, path)
        except (FileNotFoundError, ClientError):
            raise NotFoundError() from None
        if key == video.master_key:  # caption tracks join as they are added, without a transcode
            text = caption_playlists.with_subtitles(text, video.captions.all())
        response = HttpResponse(text, content_type=content_type)
        response["Cache-Control"] = NO_STORE  # holds presigned URLs
        return cors(response)
    if not default_storage.exists(key):
        raise NotFoundError()
    gated = gate.is_gated(video)
    if storage.uses_s3():  # ungated media normally go straight to S3 through the rewritten playlists
        expires_at = signing.gated_media_url_expiry() if gated else signing.media_url_expiry()[1]
        response = HttpResponse(status=302)
        response["Location"] = signing.presigned_url(key, expires_at)
        if gated:
            response["Cache-Control"] = NO_STORE
        return cors(response)
    return cors(_ranged(request, key, content_type, NO_STORE if gated else "private, max-age=3600"))


@extend_schema(
    tags=["playback"],
    summary="A video's uploaded poster at one width, under its signed playback URL",
    responses={(200, "image/webp"): OpenApiResponse(description="The poster (WebP).")},
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@renderer_classes([JSONRenderer, AnyMediaRenderer])
def playback_poster(request: Request, token: str, width: int) -> HttpResponseBase:
    """Streamed by the API on both backends (posters are small), so `nosniff` always comes along."""
    video = signing.granted_video(signing.read_token(token))
    if not video.custom_poster_id or width not in video.custom_poster_widths:
        raise NotFoundError()
    key = keys.poster_key(video.pk, video.custom_poster_id, width)
    cache_control = NO_STORE if gate.is_gated(video) else "private, max-age=3600"
    return cors(images.image_response(key, cache_control))


def media_context(request: Request, *, anonymous: bool = False) -> dict[str, Any]:
    """Serializer context that gives video representations their poster URLs, signed for this viewer
    (or for nobody, as an anonymous viewer's: `anonymous`)."""
    user, build = None if anonymous else request_user(request), request.build_absolute_uri
    return {
        "request": request,
        "poster_urls": lambda video: signing.poster_urls(video=video, user=user, build_absolute_uri=build),
    }


class VideoPlaybackActions:
    """`videos/{id}/playback`, `progress` and `views` (part of the catalog's VideoViewSet)."""

    token_scopes = dict.fromkeys(["playback", "progress", "views"], Scope.PLAYBACK)
    throttle_scope: str | None = None  # set per action (`views`)

    @extend_schema(
        tags=["playback"],
        summary="Playback URLs (signed, short-lived, usable by any HLS player as they are)",
        description="A video that names plans (`required_plans`) plays for its owner, staff, and viewers "
        "subscribed to one of them; anyone else gets 403 `subscription_required` with the plan codes in "
        "`fields.required_plans`. Its URLs expire no later than the viewer's access.",
        responses=PlaybackSerializer,
    )
    @action(detail=True, methods=["get"], permission_classes=[AllowAny])
    def playback(self, request: Request, pk: str | None = None) -> Response:
        video = selectors.video_visible_to(video_id=pk, user=request_user(request))
        answer = signing.playback_answer(
            video=video,
            user=request_user(request),
            build_absolute_uri=request.build_absolute_uri,
            session_id=current_session_id(request),
        )
        response = Response(PlaybackSerializer(answer).data)
        if gate.is_gated(video):
            response["Cache-Control"] = NO_STORE
        return response

    @extend_schema(
        tags=["playback"],
        summary="Save where I am in this video (counts a view past 10 s)",
        request=ProgressInputSerializer,
        responses={204: None},
    )
    @action(detail=True, methods=["put"])
    def progress(self, request: Request, pk: str | None = None) -> Response:
        video = selectors.video_visible_to(video_id=pk, user=signed_in_user(request))
        viewer_state.progress_record(
            user=signed_in_user(request), video=video, **validated(ProgressInputSerializer, request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=["playback"],
        summary="Report a view by anyone (counted once per viewer per 6 h, after 10 s watched)",
        description="Anonymous viewers are one viewer per IP address, and their reports are throttled "
        "per IP (`THROTTLE_VIEWS`).",
        request=ViewInputSerializer,
        responses={204: None},
    )
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[AllowAny],
        throttle_classes=[AnonymousIPThrottle],
        throttle_scope="views",
    )
    def views(self, request: Request, pk: str | None = None) -> Response:
        video = selectors.video_visible_to(video_id=pk, user=request_user(request))
        viewer_state.view_report(
            video=video,
            user=request_user(request),
            watched_seconds=validated(ViewInputSerializer, request)["watched_seconds"],
            ip=client_ip(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class RecentlyWatchedPage(CursorPage):
    ordering = "-updated_at"


class WatchHistoryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """`me/history`: what I watched, last watched first."""

    serializer_class = ProgressSerializer
    pagination_class = RecentlyWatchedPage
    token_scopes = dict.fromkeys(["list", "clear", "destroy"], Scope.PLAYBACK)

    def get_queryset(self) -> QuerySet[WatchProgress]:
        return viewer_state.history(user=signed_in_user(self.request))

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), **media_context(self.request)}

    @extend_schema(tags=["playback"], summary="My watch history")
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        tags=["playback"],
        summary="Clear my whole watch history",
        responses={204: None},
        operation_id="me_history_clear",
    )
    def clear(self, request: Request) -> Response:
        viewer_state.history_clear(user=signed_in_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(tags=["playback"], summary="Remove one video from my history", responses={204: None})
    def destroy(self, request: Request, video_id: str | None = None) -> Response:
        viewer_state.history_clear(user=signed_in_user(request), video_id=video_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContinueWatchingViewSet(WatchHistoryViewSet):
    """`me/continue-watching`: started, not finished, last watched first."""

    def get_queryset(self) -> QuerySet[WatchProgress]:
        return viewer_state.continue_watching(user=signed_in_user(self.request))

    @extend_schema(tags=["playback"], summary="Videos I started and did not finish")
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)
