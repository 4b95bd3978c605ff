"""Clips `testing.media.make_video` cannot make, for transcoding tests: odd dimensions (H.264
4:4:4, since 4:2:0 needs even sizes and testsrc2 rounds its size down to even), rotation metadata,
and damaged or hostile files."""

import subprocess
from pathlib import Path


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=300)


def odd_sized_clip(path: Path, *, width: int, height: int, seconds: float, fps: int = 15, audio: bool = True) -> Path:
    """A clip of exactly width x height (odd values allowed): H.264 High 4:4:4 (+ AAC)."""
    args = ["-f", "lavfi", "-i", f"testsrc2=size={width + 1}x{height + 1}:rate={fps}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}", "-c:a", "aac"]
    args += ["-vf", f"scale={width}:{height}", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p"]
    _ffmpeg(*args, "-shortest", str(path))
    return path


def rotated(source: Path, path: Path, degrees: int) -> Path:
    """The same streams with a display rotation (what phones write), without re-encoding."""
    _ffmpeg("-i", str(source), "-c", "copy", "-metadata:s:v:0", f"rotate={degrees}", str(path))
    return path


def faststart(source: Path, path: Path) -> Path:
    """The same streams with the index (moov) before the media data."""
    _ffmpeg("-i", str(source), "-c", "copy", "-movflags", "+faststart", str(path))
    return path


def truncated(source: Path, path: Path, fraction: float = 0.5) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def ogg_with_stream_tags(path: Path, *, seconds: float = 1, **tags: str) -> Path:
    """A Theora clip in Ogg whose video stream carries these tags verbatim, junk values included.
    ffmpeg's muxer would turn (or drop) a `rotate` tag, so each tag is written under a placeholder
    name of the same length, renamed in the bytes, and the pages' CRCs are recomputed."""
    placeholders = {name: "x" + name[1:] if name[0] != "x" else "y" + name[1:] for name in tags}
    args = ["-f", "lavfi", "-i", f"testsrc=size=160x120:rate=10:duration={seconds}", "-c:v", "libtheora"]
    for name, value in tags.items():
        args += ["-metadata:s:v:0", f"{placeholders[name]}={value}"]
    _ffmpeg(*args, str(path))
    data = path.read_bytes()
    for name, value in tags.items():
        data = data.replace(f"{placeholders[name]}={value}".encode(), f"{name}={value}".encode())
    path.write_bytes(_ogg_recrc(data))
    return path


def _ogg_crc(data: bytes) -> int:
    """Ogg's page checksum: CRC-32, polynomial 0x04C11DB7, not reflected, initial value 0."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        crc &= 0xFFFFFFFF
    return crc


def _ogg_recrc(data: bytes) -> bytes:
    out, index = bytearray(data), 0
    while index < len(out):
        segments = out[index + 26]
        size = 27 + segments + sum(out[index + 27 : index + 27 + segments])
        page = bytearray(out[index : index + size])
        page[22:26] = bytes(4)
        out[index + 22 : index + 26] = _ogg_crc(bytes(page)).to_bytes(4, "little")
        index += size
    return bytes(out)
