"""ffprobe on untrusted files: only local reads, only plain media containers, and a verdict.

Demuxers that follow references to other files (hls, concat, image sequences...) are not on the
whitelist, so a playlist disguised as a video cannot make ffprobe (or later ffmpeg) read other
files. The file's name and declared type are never consulted.
"""

import json
import math
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from videos.pipeline import sandbox

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


def _number(value: object) -> float | None:
    """A finite number from an ffprobe field (a number or a numeric string), else None: every
    field of a hostile file may be missing, junk or absurd."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _rate(value: object) -> float:
    num, _, den = _text(value).partition("/")
    numerator, denominator = _number(num), _number(den or "1")
    if numerator is None or not denominator:
        return 0.0
    rate = numerator / denominator
    return round(rate, 3) if 0 < rate <= 1000 else 0.0


def _rotation(stream: dict) -> int:
    """Degrees clockwise from the display matrix (or an old `rotate` tag); junk counts as none."""
    side_data = stream.get("side_data_list")
    for item in side_data if isinstance(side_data, list) else []:
        if isinstance(item, dict) and "rotation" in item:
            rotation = _number(item["rotation"])
            return round(rotation) % 360 if rotation is not None else 0
    rotation = _number(_dict(stream.get("tags")).get("rotate"))
    return round(rotation) % 360 if rotation is not None else 0


def probe(path: str | Path) -> MediaInfo:
    """Probes a local file; raises NotPlayableMedia with a reason a person can read. The time
    limit grows with the file's size, so a large source is not refused for being large."""
    try:
        size = Path(path).stat().st_size
    except OSError:
        size = 0  # ffprobe then says what is wrong with the path
    timeout = settings.FFPROBE_TIMEOUT + settings.FFPROBE_SECONDS_PER_GIB * size / 1024**3
    args = ["ffprobe", "-v", "error", *SAFE_INPUT_OPTIONS, "-print_format", "json", "-show_format", "-show_streams"]
    try:
        result = sandbox.run([*args, "-i", str(path)], timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise NotPlayableMedia("The file could not be read in time.") from exc
    if result.returncode != 0:
        raise NotPlayableMedia("The file is not a video in a supported format.")
    try:
        data = json.loads(result.stdout or b"{}")
    except ValueError as exc:
        raise NotPlayableMedia("The file's description could not be read.") from exc
    return media_info(data)


def media_info(data: object) -> MediaInfo:
    """What ffprobe's JSON says, read field by field: anything missing or malformed is either
    ignored (tags, rates, rotation) or a NotPlayableMedia reason, never an exception of its own."""
    data = _dict(data)
    streams = (
        [s for s in data.get("streams") or [] if isinstance(s, dict)] if isinstance(data.get("streams"), list) else []
    )
    video = next((s for s in streams if s.get("codec_type") == "video" and not _is_cover_art(s)), None)
    if video is None:
        raise NotPlayableMedia("The file has no video stream.")
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    width, height = (int(_number(video.get(side)) or 0) for side in ("width", "height"))
    form = _dict(data.get("format"))
    duration = _number(form.get("duration")) or _number(video.get("duration")) or 0.0
    if not (0 < width <= MAX_DIMENSION and 0 < height <= MAX_DIMENSION):
        raise NotPlayableMedia(f"The video's dimensions ({width}x{height}) are not supported.")
    if not 0 < duration <= MAX_DURATION:
        raise NotPlayableMedia("The video's duration is missing or too long.")
    container = _text(form.get("format_name"))
    if not container:
        raise NotPlayableMedia("The file is not a video in a supported format.")
    return MediaInfo(
        container=container,
        duration=round(duration, 3),
        width=width,
        height=height,
        video_codec=_text(video.get("codec_name")),
        audio_codec=(_text(audio.get("codec_name")) or "unknown") if audio else None,
        frame_rate=_rate(video.get("avg_frame_rate")),
        rotation=_rotation(video),
        raw=data,
    )


def _is_cover_art(stream: dict) -> bool:
    return bool(_dict(stream.get("disposition")).get("attached_pic"))
