"""Uploaded images (avatars, posters), accepted by their bytes and re-encoded: the one place that
reads an image a user sent.

An upload is read in chunks up to IMAGE_MAX_BYTES (one byte more is a 413, and nothing beyond it is
read), recognised by its magic number (JPEG, PNG, WebP; never the name or declared type), opened by
Pillow with that format alone, its size checked from the header before any pixel is decoded (each
side at most MAX_SIDE, at most MAX_PIXELS in all, decompression-bomb warnings raised as errors),
refused when animated, then decoded, turned upright (EXIF orientation) and re-encoded to WebP at
fixed sizes. Only pixels survive: EXIF (GPS included), XMP, ICC and trailing bytes are dropped."""

import io
import warnings
from collections.abc import Iterable
from typing import IO

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from PIL import Image, ImageOps
from rest_framework import serializers

from vod.exceptions import (
    ImageTooLarge,
    ImageTooManyPixels,
    InvalidImage,
    InvalidInput,
    NotFoundError,
    UnsupportedImage,
)

CHUNK = 64 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and headers around the largest file
MAX_SIDE = 8192
MAX_PIXELS = 40_000_000
WEBP_QUALITY = 82
# Lower than Pillow's default (89 MP), for every image this process opens: over it Pillow warns
# (an error inside `decode`), over twice it refuses.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# Pillow format name by magic number; the decoder is then limited to that one format.
_MAGIC: list[tuple[bytes, int, str]] = [
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"WEBP", 8, "WEBP"),  # after "RIFF" + size
]


def read_limited(stream: IO[bytes], *, limit: int | None = None) -> bytes:
    """The whole upload, read in chunks; 413 `image_too_large` as soon as it passes `limit`."""
    limit = settings.IMAGE_MAX_BYTES if limit is None else limit
    pieces, total = [], 0
    while chunk := stream.read(min(CHUNK, limit + 1 - total)):
        total += len(chunk)
        if total > limit:
            raise ImageTooLarge(f"Images are at most {limit} bytes.")
        pieces.append(chunk)
    return b"".join(pieces)


def sniff(data: bytes) -> str:
    """The image's format by its first bytes; anything but JPEG, PNG and WebP is refused."""
    if not data:
        raise InvalidImage("The image is empty.")
    for magic, offset, name in _MAGIC:
        if data[offset : offset + len(magic)] == magic and (name != "WEBP" or data[:4] == b"RIFF"):
            return name
    raise UnsupportedImage()


def decode(data: bytes) -> Image.Image:
    """The image's pixels, upright, in RGB (or RGBA), with nothing else kept."""
    fmt = sniff(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return _decode(data, fmt)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageTooManyPixels(_too_many_pixels_message()) from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:  # what Pillow raises for broken files
            raise InvalidImage(f"The image could not be read ({type(exc).__name__}).") from None


def _too_many_pixels_message() -> str:
    return f"Images are at most {MAX_SIDE} pixels a side and {MAX_PIXELS // 1_000_000} megapixels."


def _decode(data: bytes, fmt: str) -> Image.Image:
    image = Image.open(io.BytesIO(data), formats=[fmt])  # reads the header only
    width, height = image.size
    if width < 1 or height < 1 or width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageTooManyPixels(_too_many_pixels_message())
    if getattr(image, "is_animated", False) or getattr(image, "n_frames", 1) > 1:
        raise UnsupportedImage("Animated images are not accepted.")
    image.load()  # decodes; a truncated file fails here
    upright = ImageOps.exif_transpose(image)
    mode = "RGBA" if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info else "RGB"
    pixels = upright.convert(mode)
    # A fresh image from the pixels alone: no info dict (EXIF, XMP, ICC, text chunks) carried along.
    clean = Image.new(mode, pixels.size)
    clean.paste(pixels)
    return clean


def _webp(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=WEBP_QUALITY, method=4)
    return out.getvalue()


def square_variants(image: Image.Image, sizes: Iterable[int]) -> dict[int, bytes]:
    """Center-cropped squares of each size (avatars), as WebP."""
    return {size: _webp(ImageOps.fit(image, (size, size), Image.Resampling.LANCZOS)) for size in sizes}


def width_variants(image: Image.Image, widths: Iterable[int]) -> dict[int, bytes]:
    """The image at each width that is not larger than it (the smallest always), aspect kept, as
    WebP (posters)."""
    ordered = sorted(set(widths))
    chosen = [w for w in ordered if w <= image.width] or ordered[:1]
    variants = {}
    for width in chosen:
        height = max(1, round(image.height * width / image.width))
        variants[width] = _webp(image.resize((width, height), Image.Resampling.LANCZOS))
    return variants


class ImageFileInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="JPEG, PNG or WebP.")


# The request body of an image upload in the schema: the bytes themselves, or multipart `file`.
SCHEMA_BODY = {"application/octet-stream": OpenApiTypes.BINARY, "multipart/form-data": ImageFileInputSerializer}


def uploaded_bytes(request) -> bytes:
    """The image of an upload request: the multipart `file` field, or else the raw body whatever
    its Content-Type. Bodies announced as too large are refused before a byte is read."""
    limit = settings.IMAGE_MAX_BYTES
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        announced = 0
    multipart = request.content_type.startswith("multipart/form-data")
    if announced > limit + (MULTIPART_OVERHEAD if multipart else 0):
        raise ImageTooLarge(f"Images are at most {limit} bytes.")
    if not multipart:
        return read_limited(request.stream or io.BytesIO(), limit=limit)
    upload = request.FILES.get("file")
    if upload is None:
        raise InvalidInput({"file": ["Send the image in the `file` field."]})
    if upload.size > limit:
        raise ImageTooLarge(f"Images are at most {limit} bytes.")
    return read_limited(upload, limit=limit)


def image_response(key: str, cache_control: str) -> FileResponse:
    """A stored WebP variant, streamed, as `image/webp` that browsers must not sniff into anything else."""
    try:
        handle = default_storage.open(key, "rb")
    except (FileNotFoundError, ClientError):
        raise NotFoundError() from None
    response = FileResponse(handle, content_type="image/webp")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = cache_control
    return response
