"""Images made on the spot for the upload tests (no binary files in the repository): real ones in
each accepted format, the look-alikes that must be refused, and hostile variants."""

import io
import struct
import zlib

from PIL import Image


def picture(width: int = 400, height: int = 300, *, fmt: str = "PNG", **save_options) -> bytes:
    """A picture whose halves differ (left red, right blue), so a rotation or crop shows."""
    image = Image.new("RGB", (width, height), (220, 30, 30))
    image.paste((30, 30, 220), (width // 2, 0, width, height))
    out = io.BytesIO()
    image.save(out, format=fmt, **save_options)
    return out.getvalue()


def jpeg_with_exif(*, orientation: int | None = None, gps: bool = False, width: int = 400, height: int = 300) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    exif[0x010F] = "SecretCam"  # Make
    return picture(width, height, fmt="JPEG", exif=exif.tobytes(), quality=90)


def animated_webp() -> bytes:
    frames = [Image.new("RGB", (32, 32), color) for color in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, format="WEBP", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming this size, with a tiny IDAT: a decompression bomb's header."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>"
)
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
PSD = b"8BPS\x00\x01" + b"\x00" * 6 + b"\x00\x03\x00\x00\x00\x10\x00\x00\x00\x10\x00\x08\x00\x03" + b"\x00" * 64


def refused_images() -> dict[str, tuple[bytes, int, str]]:
    """Name -> (bytes, status, code) of everything an image upload must refuse."""
    png = picture()
    return {
        "svg": (SVG, 400, "unsupported_image"),
        "gif": (picture(fmt="GIF"), 400, "unsupported_image"),
        "tiff": (picture(fmt="TIFF"), 400, "unsupported_image"),
        "heic": (HEIC, 400, "unsupported_image"),
        "psd": (PSD, 400, "unsupported_image"),
        "animated webp": (animated_webp(), 400, "unsupported_image"),
        "png 50000x50000": (png_claiming(50_000, 50_000), 400, "image_too_many_pixels"),
        "png 9000x10": (png_claiming(9000, 10), 400, "image_too_many_pixels"),
        "truncated png": (png[: len(png) // 2], 400, "invalid_image"),
        "zero bytes": (b"", 400, "invalid_image"),
    }
