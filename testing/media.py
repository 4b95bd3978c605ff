"""Small real media files made with ffmpeg on demand, so the repository holds no binary fixtures."""

import json
import subprocess
from pathlib import Path


def make_video(
    path: Path,
    *,
    seconds: float = 2,
    width: int = 320,
    height: int = 240,
    fps: int = 25,
    audio: bool = True,
) -> Path:
    """Writes an H.264 (+ AAC) test pattern clip; the container follows the file's suffix."""
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    args += ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
        args += ["-c:a", "aac", "-b:a", "64k"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest", str(path)]
    subprocess.run(args, check=True, timeout=300)
    return path


def probe(path: Path) -> dict:
    """ffprobe's JSON view of a file's format and streams."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return json.loads(result.stdout)
