"""ffprobe on untrusted files: only local reads, only plain media containers, and a verdict.

Demuxers that follow references to other files (hls, concat, image sequences...) are not on the
whitelist, so a playlist disguised as a video cannot make ffprobe (or later ffmpeg) read other
files. The file's name and declared type are never consulted.
"""

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

# ffmpeg demuxer names of the containers we accept.
CONTAINER_WHITELIST = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,mpegts,mpeg,ogg,asf"
SAFE_INPUT_OPTIONS = ["-protocol_whitelist", "file", "-format_whitelist", CONTAINER_WHITELIST]
MAX_DIMENSION = 8192
MAX_DURATION = 12 * 3600


class NotPlayableMedia(Exception):
    """The file is not a video we can use; the message says why, for the uploader."""


@dataclass(frozen=True)
class MediaInfo:
    container: str
    duration: float
    width: int
    height: int
    video_codec: str
    audio_codec: str | None
    frame_rate: float
    rotation: int = 0
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def displayed_size(self) -> tuple[int, int]:
        """Width and height as displayed: a phone clip stored sideways with a rotation flag is portrait."""
        return (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)

    def summary(self) -> dict:
        return {
            "container": self.container,
            "video_codec": self.video_codec,
            "audio_codec": self.audio_codec,
            "frame_rate": self.frame_rate,
            "rotation": self.rotation,
        }


def _rate(value: str | None) -> float:
    try:
        num, _, den = (value or "0/1").partition("/")
        return round(float(num) / float(den or 1), 3)
    except (ValueError, ZeroDivisionError):
        return 0.0


def _rotation(stream: dict) -> int:
    for side_data in stream.get("side_data_list", []):
        if "rotation" in side_data:
            return int(side_data["rotation"]) % 360
    return int(stream.get("tags", {}).get("rotate", 0)) % 360


def probe(path: str | Path) -> MediaInfo:
    """Probes a local file; raises NotPlayableMedia with a reason a person can read. The time
    limit grows with the file's size, so a large source is not refused for being large."""
    timeout = settings.FFPROBE_TIMEOUT + settings.FFPROBE_SECONDS_PER_GIB * Path(path).stat().st_size / 1024**3
    args = ["ffprobe", "-v", "error", *SAFE_INPUT_OPTIONS, "-print_format", "json", "-show_format", "-show_streams"]
    try:
        result = subprocess.run([*args, "-i", str(path)], capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise NotPlayableMedia("The file could not be read in time.") from exc
    if result.returncode != 0:
        raise NotPlayableMedia("The file is not a video in a supported format.")
    data = json.loads(result.stdout or b"{}")
    streams = data.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video" and not _is_cover_art(s)), None)
    if video is None:
        raise NotPlayableMedia("The file has no video stream.")
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    duration = float(data.get("format", {}).get("duration") or video.get("duration") or 0)
    if not (0 < width <= MAX_DIMENSION and 0 < height <= MAX_DIMENSION):
        raise NotPlayableMedia(f"The video's dimensions ({width}x{height}) are not supported.")
    if not 0 < duration <= MAX_DURATION:
        raise NotPlayableMedia("The video's duration is missing or too long.")
    return MediaInfo(
        container=data["format"]["format_name"],
        duration=round(duration, 3),
        width=width,
        height=height,
        video_codec=video.get("codec_name", ""),
        audio_codec=audio.get("codec_name") if audio else None,
        frame_rate=_rate(video.get("avg_frame_rate")),
        rotation=_rotation(video),
        raw=data,
    )


def _is_cover_art(stream: dict) -> bool:
    return bool(stream.get("disposition", {}).get("attached_pic"))
