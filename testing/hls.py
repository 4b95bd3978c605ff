"""Reading published HLS output the way a player would, for tests: master and media playlists,
WebVTT storyboards, and ffprobe on downloaded files. ffprobe here reads local files only
(`-protocol_whitelist file`), so a playlist can only ever reach what was downloaded next to it."""

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')
_TIMESTAMP = re.compile(r"^(?:(\d+):)?(\d{2}):(\d{2})\.(\d{3})$")
_XYWH = re.compile(r"^(?P<url>[^#]+)#xywh=(?P<x>\d+),(?P<y>\d+),(?P<w>\d+),(?P<h>\d+)$")


@dataclass(frozen=True)
class Variant:
    """One `#EXT-X-STREAM-INF` of a master playlist and the URI on the line after it."""

    uri: str
    bandwidth: int
    width: int
    height: int
    codecs: tuple[str, ...]
    attributes: dict


@dataclass(frozen=True)
class MediaPlaylist:
    target_duration: int
    playlist_type: str | None
    map_uri: str | None
    segments: list[tuple[float, str]]  # (EXTINF duration, URI)
    ended: bool

    @property
    def durations(self) -> list[float]:
        return [duration for duration, _ in self.segments]


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    url: str
    x: int
    y: int
    w: int
    h: int


def attributes(text: str) -> dict:
    """An HLS attribute list; quoted values keep their commas and lose their quotes."""
    return {name: value.strip('"') for name, value in _ATTRIBUTE.findall(text)}


def _lines(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines()]
    assert lines and lines[0] == "#EXTM3U", f"not an HLS playlist: {text[:80]!r}"
    return lines


def parse_master(text: str) -> list[Variant]:
    """The video variants; an audio-only variant (no RESOLUTION) is in `audio_only_variants`."""
    return [variant for variant in _variants(text) if "RESOLUTION" in variant.attributes]


def audio_only_variants(text: str) -> list[Variant]:
    return [variant for variant in _variants(text) if "RESOLUTION" not in variant.attributes]


def audio_media(text: str) -> list[dict]:
    """The attributes of each `#EXT-X-MEDIA:TYPE=AUDIO` rendition."""
    media = [attributes(line.partition(":")[2]) for line in _lines(text) if line.startswith("#EXT-X-MEDIA:")]
    return [attrs for attrs in media if attrs.get("TYPE") == "AUDIO"]


def _variants(text: str) -> list[Variant]:
    lines = _lines(text)
    variants = []
    for index, line in enumerate(lines):
        if not line.startswith("#EXT-X-STREAM-INF:"):
            continue
        attrs = attributes(line.partition(":")[2])
        uri = next(candidate for candidate in lines[index + 1 :] if candidate and not candidate.startswith("#"))
        width, _, height = attrs.get("RESOLUTION", "0x0").partition("x")
        codecs = tuple(codec.strip() for codec in attrs["CODECS"].split(","))
        variants.append(Variant(uri, int(attrs["BANDWIDTH"]), int(width), int(height), codecs, attrs))
    return variants


def parse_media_playlist(text: str) -> MediaPlaylist:
    lines = _lines(text)
    target = playlist_type = map_uri = None
    segments, pending, ended = [], None, False
    for line in lines[1:]:
        if line.startswith("#EXT-X-TARGETDURATION:"):
            target = int(line.partition(":")[2])
        elif line.startswith("#EXT-X-PLAYLIST-TYPE:"):
            playlist_type = line.partition(":")[2]
        elif line.startswith("#EXT-X-MAP:"):
            map_uri = attributes(line.partition(":")[2])["URI"]
        elif line.startswith("#EXTINF:"):
            pending = float(line.partition(":")[2].split(",")[0])
        elif line == "#EXT-X-ENDLIST":
            ended = True
        elif line and not line.startswith("#"):
            assert pending is not None, f"segment {line} without #EXTINF"
            segments.append((pending, line))
            pending = None
    assert target is not None, "no #EXT-X-TARGETDURATION"
    return MediaPlaylist(target, playlist_type, map_uri, segments, ended)


def _seconds(stamp: str) -> float:
    match = _TIMESTAMP.match(stamp)
    assert match, f"bad WebVTT timestamp {stamp!r}"
    hours, minutes, seconds, millis = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def parse_storyboard_vtt(text: str) -> list[Cue]:
    """A WebVTT file whose cues are `url#xywh=x,y,w,h` (the storyboard convention)."""
    blocks = [block.strip().splitlines() for block in text.replace("\r\n", "\n").split("\n\n") if block.strip()]
    assert blocks and blocks[0][0].startswith("WEBVTT"), f"not WebVTT: {text[:40]!r}"
    cues = []
    for block in blocks[1:]:
        timing = next(line for line in block if "-->" in line)
        start, _, end = (part.strip() for part in timing.partition("-->"))
        payload = block[block.index(timing) + 1 :]
        assert len(payload) == 1, f"cue with {len(payload)} payload lines: {block}"
        match = _XYWH.match(payload[0])
        assert match, f"cue payload is not url#xywh=x,y,w,h: {payload[0]!r}"
        xywh = (int(match[name]) for name in "xywh")
        cues.append(Cue(_seconds(start), _seconds(end.split()[0]), match["url"], *xywh))
    return cues


def ffprobe(path: Path, *options: str, timeout: float = 120) -> dict:
    """ffprobe's JSON answer about a local file (a playlist reads its local segments only)."""
    args = ["ffprobe", "-v", "error", "-protocol_whitelist", "file", *options, "-of", "json", str(path)]
    result = subprocess.run(args, capture_output=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"ffprobe {path} failed: {result.stderr.decode(errors='replace')[-2000:]}"
    return json.loads(result.stdout)


def probe_playlist(index: Path) -> dict:
    """Every frame of a local HLS rendition decoded (`-count_frames`): streams and duration."""
    return ffprobe(
        index,
        "-allowed_extensions",
        "ALL",
        "-count_frames",
        "-show_entries",
        "format=duration:stream=codec_type,codec_name,width,height,nb_read_frames",
    )


def keyframe_times(path: Path) -> list[float]:
    """Presentation times of the video keyframes of a local file or playlist."""
    data = ffprobe(
        path, "-allowed_extensions", "ALL", "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags"
    )
    return [round(float(packet["pts_time"]), 3) for packet in data["packets"] if "K" in packet.get("flags", "")]


def media_facts(path: Path) -> dict:
    """Width, height, duration, frame count and audio presence of a source clip."""
    data = ffprobe(path, "-show_entries", "format=duration:stream=codec_type,width,height,nb_frames")
    video = next(stream for stream in data["streams"] if stream["codec_type"] == "video")
    return {
        "width": int(video["width"]),
        "height": int(video["height"]),
        "duration": float(data["format"]["duration"]),
        "frames": int(video["nb_frames"]),
        "audio": any(stream["codec_type"] == "audio" for stream in data["streams"]),
    }


def image_size(path: Path) -> tuple[str, int, int]:
    """(codec, width, height) of a local image file."""
    stream = ffprobe(path, "-show_entries", "stream=codec_name,width,height")["streams"][0]
    return stream["codec_name"], int(stream["width"]), int(stream["height"])


def gray_pixels(path: Path) -> tuple[int, int, bytes]:
    """(width, height, 8-bit luma of every pixel, row by row) of a local image."""
    _, width, height = image_size(path)
    args = ["ffmpeg", "-v", "error", "-protocol_whitelist", "file", "-i", str(path)]
    raw = subprocess.run([*args, "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout
    assert len(raw) == width * height, f"{path.name}: {len(raw)} luma bytes for {width}x{height}"
    return width, height, raw


def region_is_blank(pixels: tuple[int, int, bytes], x: int, y: int, w: int, h: int, threshold: int = 24) -> bool:
    """True when every pixel of the region is (nearly) black, like an unused cell of a tiled sheet."""
    width, _, raw = pixels
    return max(max(raw[(y + row) * width + x : (y + row) * width + x + w]) for row in range(h)) < threshold
