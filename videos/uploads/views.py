"""Upload API: a video's source in one streamed request, or a resumable upload in parts (start,
resume, send a part, complete, abort).

The actions on `videos/{id}` (`source`, `uploads`) are a mixin that the catalog's VideoViewSet
includes, so every route of a video stays on one viewset."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from sessions_app.access_tokens.scopes import Scope
from videos.catalog import selectors as catalog_selectors
from videos.catalog.serializers import MyVideoSerializer
from videos.models import Upload
from videos.uploads import parts, selectors, services
from videos.uploads.serializers import UploadCompleteInputSerializer, UploadSerializer, UploadStartInputSerializer
from vod.idempotency import SCHEMA_PARAMETER as IDEMPOTENCY_PARAMETER
from vod.idempotency import idempotent
from vod.permissions import request_user, signed_in_user
from vod.serializers import validated
from vod.viewsets import UUIDLookupMixin

BINARY_BODY = {"application/octet-stream": OpenApiTypes.BINARY}


def _content_length(request: Request) -> int | None:
    raw = request.META.get("CONTENT_LENGTH")
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationError({"Content-Length": ["Not a number."]}) from None


def _upload_answer(upload: Upload, request: Request) -> dict:
    """The upload's fields and its parts (received, and missing with fresh URLs), as UploadSerializer reads them."""
    fields = {field: getattr(upload, field) for field in UploadSerializer.Meta.fields if hasattr(upload, field)}
    return {**fields, **selectors.upload_parts_state(upload=upload, build_absolute_uri=request.build_absolute_uri)}


def _my_video(video_id: object, request: Request) -> Response:
    return Response(
        MyVideoSerializer(catalog_selectors.video_visible_to(video_id=video_id, user=request_user(request))).data
    )


class VideoSourceActions:
    """`videos/{id}/source` and `videos/{id}/uploads` (part of the catalog's VideoViewSet)."""

    token_scopes = {"source": Scope.VIDEOS_WRITE, "uploads": Scope.VIDEOS_WRITE}

    @extend_schema(
        tags=["videos"],
        summary="Upload the source in one request (streamed; Content-Length required)",
        request=BINARY_BODY,
        responses={200: MyVideoSerializer},
    )
    @action(detail=True, methods=["put"], url_path="source", url_name="source")
    def source(self, request: Request, pk: str | None = None) -> Response:
        video = catalog_selectors.video_managed_by(video_id=pk, user=signed_in_user(request))
        video = services.source_upload(video=video, stream=request.stream, content_length=_content_length(request))
        return _my_video(video.pk, request)

    @extend_schema(
        tags=["uploads"],
        summary="Start a resumable upload of the source",
        request=UploadStartInputSerializer,
        responses={201: UploadSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @action(detail=True, methods=["post"], url_path="uploads", url_name="uploads")
    def uploads(self, request: Request, pk: str | None = None) -> Response:
        def handler() -> Response:
            video = catalog_selectors.video_managed_by(video_id=pk, user=signed_in_user(request))
            upload = services.upload_start(video=video, **validated(UploadStartInputSerializer, request))
            return Response(UploadSerializer(_upload_answer(upload, request)).data, status=status.HTTP_201_CREATED)

        return idempotent(request, f"upload-start:{pk}", handler)


class UploadViewSet(UUIDLookupMixin, viewsets.GenericViewSet):
    """`uploads/{id}`: resume (see what arrived, get fresh part URLs), complete or abort."""

    serializer_class = UploadSerializer
    queryset = Upload.objects.none()  # for the schema's path types; rows come from the selector
    # `part` takes no credentials at all: its URL carries a signature.
    token_scopes = dict.fromkeys(["retrieve", "destroy", "complete"], Scope.VIDEOS_WRITE)

    def _managed(self, pk: str | None) -> Upload:
        return selectors.upload_managed_by(upload_id=pk, user=signed_in_user(self.request))

    @extend_schema(tags=["uploads"], summary="Parts received so far, and URLs for the missing ones")
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(UploadSerializer(_upload_answer(self._managed(pk), request)).data)

    @extend_schema(tags=["uploads"], summary="Abort: drop the parts", responses={204: None})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.upload_abort(upload_id=self._managed(pk).pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=["uploads"],
        summary="Complete: assemble the parts into the source",
        request=UploadCompleteInputSerializer,
        responses={200: MyVideoSerializer},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        upload = self._managed(pk)
        video = services.upload_complete(
            upload_id=upload.pk, parts=validated(UploadCompleteInputSerializer, request)["parts"]
        )
        return _my_video(video.pk, request)

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
    def part(self, request: Request, pk: str | None = None, number: str = "") -> Response:
        parts.check_part_token(request.query_params.get("token", ""), pk, int(number))
        part = services.upload_part_receive(
            upload_id=pk, number=int(number), stream=request.stream, content_length=_content_length(request)
        )
        return Response(status=status.HTTP_200_OK, headers={"ETag": f'"{part.etag}"'})
