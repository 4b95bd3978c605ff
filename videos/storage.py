"""Object-storage operations for both backends behind Django's default storage, S3 and the local
filesystem: streaming saves of known size, exact keys, concatenation, and deleting a prefix. Which
key holds what is `videos.keys`."""

import functools
import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

import boto3
from botocore.config import Config
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage

CHUNK = 1024 * 1024


def uses_s3() -> bool:
    return settings.STORAGES["default"]["BACKEND"] == "storages.backends.s3.S3Storage"


def _s3_storage() -> Any:
    """The default storage as the S3Storage it is when `uses_s3()` (django-storages is untyped)."""
    return default_storage


def s3_client() -> Any:
    return _s3_storage().connection.meta.client


def s3_public_client() -> Any:
    """The client that presigns URLs for browsers (playback, posters, storyboards, upload parts):
    the same credentials, region, SigV4 and addressing style as `s3_client()`, but the endpoint
    S3_PUBLIC_ENDPOINT_URL, since a signature covers the host it was made for."""
    if not settings.S3_PUBLIC_ENDPOINT_URL:
        return s3_client()
    s3 = _s3_storage()
    endpoint = settings.S3_PUBLIC_ENDPOINT_URL
    return _client_for(endpoint, s3.access_key, s3.secret_key, s3.region_name, s3.addressing_style)


@functools.lru_cache(maxsize=4)
def _client_for(
    endpoint_url: str, access_key: str | None, secret_key: str | None, region: str | None, style: str | None
) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
        config=Config(signature_version="s3v4", s3={"addressing_style": style} if style else {}),
    )


def s3_bucket() -> str:
    return _s3_storage().bucket_name


class _ForwardOnlyFile(File):
    """A file that can only be read forward, once, with a size known in advance; storages
    read it through `chunks()`."""

    def __init__(self, file, size: int):
        super().__init__(file)
        self._known_size = size

    def chunks(self, chunk_size=None) -> Iterator[bytes]:
        while data := self.read(chunk_size or CHUNK):
            yield data

    def seekable(self):
        return False

    @property
    def size(self):
        return self._known_size


class CountingReader(_ForwardOnlyFile):
    """Reads a stream in chunks, counting bytes; refuses to go past `limit`."""

    def __init__(self, stream, *, limit: int):
        super().__init__(stream, limit)
        self.stream = stream
        self.limit = limit
        self.size_read = 0

    def read(self, size=-1) -> bytes:
        data = self.stream.read(CHUNK if size is None or size < 0 else size)
        self.size_read += len(data)
        if self.size_read > self.limit:
            raise ValueError("stream is longer than declared")
        return data


class HashingReader(CountingReader):
    """A CountingReader that also hashes what it reads with `digest` (a part's MD5 is its ETag)."""

    def __init__(self, stream, *, limit: int, digest: str):
        super().__init__(stream, limit=limit)
        self.hash = hashlib.new(digest)

    def read(self, size=-1) -> bytes:
        data = super().read(size)
        self.hash.update(data)
        return data


class ConcatenatedReader(_ForwardOnlyFile):
    """The parts, read one after the other, as one file for storage.save()."""

    def __init__(self, names: Iterable[str], total: int):
        self.names = iter(names)
        self.current: File | None = None
        super().__init__(None, total)

    def read(self, size=-1) -> bytes:
        size = CHUNK if size is None or size < 0 else size
        while True:
            if self.current is None:
                name = next(self.names, None)
                if name is None:
                    return b""
                self.current = default_storage.open(name, "rb")
            data = self.current.read(size)
            if data:
                return data
            self.current.close()
            self.current = None

    def close(self) -> None:
        if self.current is not None:
            self.current.close()


def save_exactly(key: str, content: File) -> str:
    """Saves under exactly `key` (our keys are unique: no renaming, no overwrite)."""
    saved = default_storage.save(key, content)
    if saved != key:  # pragma: no cover - keys are fresh UUIDs
        default_storage.delete(saved)
        raise RuntimeError(f"storage renamed {key} to {saved}")
    return saved


S3_MIN_PART = 5 * 1024 * 1024


def save_stream(key: str, reader: File, size: int) -> None:
    """Streams a body of known size to storage. On S3 it is sent as a multipart upload, one part
    at a time, so at most one part (5 MiB, or size/10000) is held in memory: boto3's managed
    transfer would buffer several parts in threads for a stream of unknown length. The part is
    read into one buffer kept for every part: a fresh part-sized allocation (and the join of its
    pieces) per part left the worker's peak RSS varying by ~15 MB from one upload to the next."""
    if not uses_s3():
        save_exactly(key, reader)
        return
    client, bucket = s3_client(), s3_bucket()
    part_size = max(S3_MIN_PART, -(-size // 10_000))
    buffer = bytearray(min(part_size, size))
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, ContentType="application/octet-stream")[
        "UploadId"
    ]
    try:
        parts: list[dict[str, Any]] = []
        while filled := _fill(reader, buffer):
            number = len(parts) + 1
            body = buffer if filled == len(buffer) else bytes(memoryview(buffer)[:filled])  # the last part
            answer = client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)
            parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    except BaseException:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise


def _fill(reader, buffer: bytearray) -> int:
    """Reads into `buffer` until it is full or the reader ends; how many bytes it holds."""
    filled = 0
    while filled < len(buffer) and (piece := reader.read(min(len(buffer) - filled, CHUNK))):
        buffer[filled : filled + len(piece)] = piece
        filled += len(piece)
    return filled


def delete_prefix(prefix: str) -> int:
    """Deletes every object under `prefix`; returns how many."""
    if uses_s3():
        client, bucket, deleted = s3_client(), s3_bucket(), 0
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
                deleted += len(keys)
        return deleted
    return _delete_tree(prefix.rstrip("/"))


def _delete_tree(path: str) -> int:
    if not default_storage.exists(path):
        return 0
    folders, files = default_storage.listdir(path)
    deleted = 0
    for name in files:
        default_storage.delete(f"{path}/{name}")
        deleted += 1
    for folder in folders:
        deleted += _delete_tree(f"{path}/{folder}")
    default_storage.delete(path)  # the empty folder
    return deleted


def save_all(files: dict[str, bytes]) -> None:
    """Saves small files under their exact keys; if one fails, the ones saved are deleted."""
    saved: list[str] = []
    try:
        for key, data in files.items():
            saved.append(save_exactly(key, ContentFile(data)))
    except BaseException:
        for key in saved:
            default_storage.delete(key)
        raise


def delete_keys(keys: Iterable[str]) -> None:
    for key in keys:
        default_storage.delete(key)


# The browser-facing rule of the bucket: players GET segments (HEAD to probe), uploaders PUT parts
# and must read each part's ETag, from the frontends' origins (CORS_ALLOWED_ORIGINS).
CORS_METHODS = ["GET", "HEAD", "PUT"]
CORS_EXPOSED = ["ETag", "Content-Length", "Content-Range"]


def bucket_cors_rule(origins: list[str]) -> dict:
    return {
        "AllowedOrigins": list(origins),
        "AllowedMethods": CORS_METHODS,
        "AllowedHeaders": ["*"],
        "ExposeHeaders": CORS_EXPOSED,
        "MaxAgeSeconds": 3600,
    }


def bucket_cors_apply(origins: list[str]) -> None:
    """Replaces the bucket's CORS configuration with the one rule (`manage.py configure_bucket_cors`)."""
    s3_client().put_bucket_cors(Bucket=s3_bucket(), CORSConfiguration={"CORSRules": [bucket_cors_rule(origins)]})


def bucket_cors_problems(origins: list[str]) -> list[str]:
    """What the bucket's CORS configuration lacks for these origins (empty: playback and browser
    uploads work); `manage.py vod_status` reports it. Raises botocore's ClientError when the
    storage cannot say (MinIO has no bucket CORS: its rule is server-wide)."""
    from botocore.exceptions import ClientError

    try:
        rules = s3_client().get_bucket_cors(Bucket=s3_bucket()).get("CORSRules", [])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchCORSConfiguration":
            raise
        rules = []
    if not rules:
        return ["no CORS rule: run `manage.py configure_bucket_cors`"]
    problems = []
    for origin in origins:
        covering = [r for r in rules if origin in r.get("AllowedOrigins", []) or "*" in r.get("AllowedOrigins", [])]
        methods = {m for r in covering for m in r.get("AllowedMethods", [])}
        exposed = {h.lower() for r in covering for h in r.get("ExposeHeaders", [])}
        if missing := [m for m in CORS_METHODS if m not in methods]:
            problems.append(f"{origin}: {', '.join(missing)} not allowed")
        if "etag" not in exposed:
            problems.append(f"{origin}: ETag not exposed")
    return problems
