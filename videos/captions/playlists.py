"""Caption tracks in HLS: the SUBTITLES group added to the master playlist as it is served, the
one-segment WebVTT media playlist of each track, and the VTT as players get it.

Timing: the ladder's fMP4 fragments start at decode time 0 (`tfdt` 0; the first video frame is
shown at the B-frame delay, two frames), so the media timeline is the source's, and every VTT
maps its local zero to MPEGTS 0 (`X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000`): a cue at 5.0 s
shows when the video is at 5.0 s, in hls.js and in Safari alike."""

import math
from collections.abc import Callable, Iterable

from videos.models import Caption

GROUP_ID = "subs"
MPEGTS_AT_ZERO = 0
TIMESTAMP_MAP = f"X-TIMESTAMP-MAP=MPEGTS:{MPEGTS_AT_ZERO},LOCAL:00:00:00.000"
CAPTION_CHARACTERISTICS = (
    "public.accessibility.transcribes-spoken-dialog,public.accessibility.describes-music-and-sound"
)


def playlist_path(caption: Caption) -> str:
    """Where the track's media playlist is, relative to the master playlist."""
    return f"captions/{caption.pk}.m3u8"


def _quoted(value: str) -> str:
    # An HLS quoted-string holds no double quote, CR or LF (labels have no control characters).
    return value.replace('"', "'")


def _names(captions: list[Caption]) -> list[str]:
    """NAME must be unique in the group: a repeated label gets its kind, then a number."""
    names: list[str] = []
    for caption in captions:
        name = caption.label if caption.label not in names else f"{caption.label} ({caption.get_kind_display()})"
        number = 2
        base = name
        while name in names:
            name, number = f"{base} {number}", number + 1
        names.append(name)
    return names


def media_lines(captions: Iterable[Caption], uri: Callable[[Caption], str] = playlist_path) -> list[str]:
    captions = list(captions)
    lines = []
    for caption, name in zip(captions, _names(captions), strict=True):
        default = "YES" if caption.is_default else "NO"
        attributes = [
            "TYPE=SUBTITLES",
            f'GROUP-ID="{GROUP_ID}"',
            f'NAME="{_quoted(name)}"',
            f'LANGUAGE="{caption.language}"',
            f"DEFAULT={default}",
            "AUTOSELECT=YES",
        ]
        if caption.kind == Caption.Kind.CAPTIONS:
            attributes.append(f'CHARACTERISTICS="{CAPTION_CHARACTERISTICS}"')
        attributes.append(f'URI="{uri(caption)}"')
        lines.append("#EXT-X-MEDIA:" + ",".join(attributes))
    return lines


def with_subtitles(master: str, captions: Iterable[Caption]) -> str:
    """The master playlist with the SUBTITLES group before the first variant, and every variant
    naming it. Without tracks the playlist is returned as it is."""
    group = media_lines(captions)
    if not group:
        return master
    out: list[str] = []
    for line in master.splitlines():
        if line.startswith("#EXT-X-STREAM-INF:"):
            if group:
                out.extend(group)
                group = []
            line += f',SUBTITLES="{GROUP_ID}"'
        out.append(line)
    return "\n".join(out) + "\n"


def media_playlist(caption: Caption, duration: float) -> str:
    """One segment, the whole track, for the whole video."""
    return "\n".join(
        [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{max(1, math.ceil(duration))}",
            "#EXT-X-MEDIA-SEQUENCE:0",
            "#EXT-X-PLAYLIST-TYPE:VOD",
            f"#EXTINF:{duration:.3f},",
            f"{caption.pk}.vtt",
            "#EXT-X-ENDLIST",
            "",
        ]
    )


def served_vtt(stored: str) -> str:
    """The stored WebVTT with the timestamp map in its header."""
    header, _, rest = stored.partition("\n")
    return f"{header}\n{TIMESTAMP_MAP}\n{rest}"
