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
