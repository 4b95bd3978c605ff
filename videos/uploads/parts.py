"""Part-level mechanics of resumable uploads, one client flow for both backends: the client PUTs
each part's bytes to its URL and keeps the `ETag` answer. With S3 the URLs are presigned
`UploadPart` requests (bytes never touch Django); with the filesystem they are signed API URLs."""

import os
import uuid
from collections.abc import Callable
from typing import IO

from botocore.exceptions import ClientError
from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.urls import reverse

from videos import keys, storage
from videos.errors import InvalidPartToken
from videos.models import Upload, UploadPart

_SALT = "videos.upload-part"


def part_token(upload: Upload, number: int) -> str:
    return signing.TimestampSigner(salt=_SALT).sign(f"{upload.id}:{number}")


def check_part_token(token: str, upload_id: uuid.UUID | str | None, number: int) -> None:
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(token, max_age=settings.UPLOAD_URL_EXPIRY)
    except signing.BadSignature as exc:
        raise InvalidPartToken() from exc
    if value != f"{upload_id}:{number}":
        raise InvalidPartToken()


def part_url(upload: Upload, number: int, build_absolute_uri: Callable[[str], str]) -> str:
    """The URL to PUT part `number` to. An S3 URL is SigV4 and signs the part's exact
    Content-Length, so S3 refuses a body of any other size (an unsigned one could be up to 5 GiB,
    outside every quota); the API checks the length of parts it receives itself."""
    if upload.backend == Upload.Backend.S3:
        return storage.s3_public_client().generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": storage.s3_bucket(),
                "Key": upload.key,
                "UploadId": upload.s3_upload_id,
                "PartNumber": number,
                "ContentLength": upload.expected_part_size(number),
            },
            ExpiresIn=int(settings.UPLOAD_URL_EXPIRY.total_seconds()),
        )
    path = reverse("v1:upload-part", kwargs={"pk": upload.id, "number": number})
    return build_absolute_uri(f"{path}?token={part_token(upload, number)}")


def received_parts(upload: Upload) -> dict[int, tuple[int, str]]:
    """Part number -> (size, ETag without quotes) of the parts stored so far."""
    if upload.backend == Upload.Backend.FILESYSTEM:
        return {part.number: (part.size, part.etag) for part in upload.parts.all()}
    received = {}
    paginator = storage.s3_client().get_paginator("list_parts")
    pages = paginator.paginate(Bucket=storage.s3_bucket(), Key=upload.key, UploadId=upload.s3_upload_id)
    try:
        for page in pages:
            for part in page.get("Parts", []):
                received[part["PartNumber"]] = (part["Size"], part["ETag"].strip('"'))
    except ClientError as exc:
        if _no_such_upload(exc):  # S3 no longer has it (aborted or completed elsewhere)
            return {}
        raise
    return received


def _no_such_upload(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("NoSuchUpload", "404")


def store_part(upload: Upload, number: int, stream: IO[bytes], size: int) -> UploadPart:
    """Streams one part to storage (filesystem backend). It is written beside any earlier copy and
    renamed over it only once complete, so a re-send cut short keeps the good copy."""
    name = keys.upload_part_key(upload.video_id, upload.id, number)
    incoming = f"{name}.incoming-{uuid.uuid4().hex}"
    reader = storage.HashingReader(stream, limit=size, digest="md5")
    try:
        storage.save_exactly(incoming, reader)
        if reader.size_read != size:
            raise ValueError(f"part {number} ended after {reader.size_read} of {size} bytes")
    except BaseException:
        default_storage.delete(incoming)
        raise
    os.replace(default_storage.path(incoming), default_storage.path(name))
    part, _ = UploadPart.objects.update_or_create(
        upload=upload, number=number, defaults={"size": size, "etag": reader.hash.hexdigest()}
    )
    return part


def begin(upload: Upload) -> None:
    if upload.backend == Upload.Backend.S3:
        answer = storage.s3_client().create_multipart_upload(
            Bucket=storage.s3_bucket(), Key=upload.key, ContentType="application/octet-stream"
        )
        upload.s3_upload_id = answer["UploadId"]


def assemble(upload: Upload, parts: list[tuple[int, str]]) -> None:
    """Joins the parts into `upload.key` and drops them."""
    if upload.backend == Upload.Backend.S3:
        storage.s3_client().complete_multipart_upload(
            Bucket=storage.s3_bucket(),
            Key=upload.key,
            UploadId=upload.s3_upload_id,
            MultipartUpload={"Parts": [{"PartNumber": number, "ETag": f'"{etag}"'} for number, etag in parts]},
        )
        return
    names = [keys.upload_part_key(upload.video_id, upload.id, number) for number, _ in parts]
    storage.save_exactly(upload.key, storage.ConcatenatedReader(names, upload.size))
    storage.delete_prefix(keys.upload_parts_prefix(upload.video_id, upload.id))


def discard(upload: Upload) -> None:
    """Drops whatever was received: S3 frees the parts, the filesystem deletes them."""
    if upload.backend == Upload.Backend.S3:
        try:
            storage.s3_client().abort_multipart_upload(
                Bucket=storage.s3_bucket(), Key=upload.key, UploadId=upload.s3_upload_id
            )
        except ClientError as exc:
            if not _no_such_upload(exc):
                raise
    else:
        storage.delete_prefix(keys.upload_parts_prefix(upload.video_id, upload.id))
        upload.parts.all().delete()
