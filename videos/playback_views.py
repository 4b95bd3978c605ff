"""Playback: the signed URLs of a video, the files behind them, and the viewer's progress."""

import mimetypes
import re

from botocore.exceptions import ClientError
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, authentication_classes, permission_classes, renderer_classes
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer

from videos import playback, storage
from vod.exceptions import ApplicationError

MEDIA_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".vtt": "text/vtt",
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(ApplicationError):
    status_code = status.HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE
    code = "range_not_satisfiable"
    message = "The requested range is outside the file."


class AnyMediaRenderer(BaseRenderer):
    """Lets players ask for playlists and segments with their own Accept headers."""

    media_type = "*/*"
    format = "media"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data) if isinstance(data, (dict, list)) else data


def _cors(response):
    # Token-authorised, no cookies: any origin's player may fetch it.
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = "Content-Length, Content-Range"
    return response


def _ranged(request, key: str, content_type: str):
    """Streams a stored file, honouring a single `Range: bytes=a-b` (players seek with it)."""
    size = default_storage.size(key)
    handle = default_storage.open(key, "rb")
    header = request.headers.get("Range", "")
    match = _RANGE.match(header.strip()) if header else None
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
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _limited(handle, length: int, chunk: int = 64 * 1024):
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
def playback_file(request, token: str, path: str):
    grant = playback.read_token(token)
    video = playback.granted_video(grant)
    path = playback.safe_relative_path(path)
    suffix = path[path.rfind(".") :]
    content_type = MEDIA_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"
    key = video.hls_prefix + path
    if suffix in (".m3u8", ".vtt"):
        try:
            text = playback.playlist_for(video, path)
        except (FileNotFoundError, ClientError):
            raise playback.NotFoundError() from None
        response = HttpResponse(text, content_type=content_type)
        response["Cache-Control"] = "private, no-store"  # holds presigned URLs
        return _cors(response)
    if not default_storage.exists(key):
        raise playback.NotFoundError()
    if storage.uses_s3():  # media normally goes straight to S3 through the rewritten playlists
        response = HttpResponse(status=302)
        response["Location"] = playback._presigned(key, playback.media_url_expiry()[1])
        return _cors(response)
    return _cors(_ranged(request, key, content_type))
