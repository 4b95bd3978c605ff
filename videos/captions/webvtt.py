"""A strict reader of WebVTT and SRT that writes the WebVTT players get. No ORM, no storage.

Strict means a file is accepted whole or refused with the line that is wrong: no block is skipped
quietly. What is accepted: UTF-8 (a BOM is fine), any of CRLF, CR and LF; a WebVTT file (header,
cues, NOTE/STYLE/REGION blocks, which are dropped) or an SRT file (numbered cues, `,` before the
milliseconds); every cue with well-formed timestamps, end after start and within the video (plus
one second of slack), at most MAX_CUES. Cue text keeps WebVTT's own markup alone (`c i b u v lang
ruby rt`, classes, voice and language annotations, karaoke timestamps) and known character
references; every other `<`, `>` and `&` is escaped, so no HTML, script or CSS reaches a renderer
(STYLE blocks are dropped, so `url()` has nowhere to live). Cue settings are kept when valid
(`region` goes with the regions). SRT's `<font>` tags are removed; its `<i> <b> <u>` kept."""

import re
from dataclasses import dataclass

MAX_CUES = 20_000
DURATION_SLACK = 1.0  # seconds a cue may end after the video

_VTT_TIME = re.compile(r"^(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})$")
_SRT_TIME = re.compile(r"^(\d{2,}):([0-5]\d):([0-5]\d),(\d{3})$")
_TIMING = re.compile(r"^(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t]+(.*))?$")
_SETTINGS = {
    "vertical": re.compile(r"^(rl|lr)$"),
    "line": re.compile(r"^-?\d+(\.\d+)?%?(,(start|center|end))?$"),
    "position": re.compile(r"^\d+(\.\d+)?%(,(line-left|center|line-right))?$"),
    "size": re.compile(r"^\d+(\.\d+)?%$"),
    "align": re.compile(r"^(start|center|end|left|right)$"),
}
_TAGS = {"c", "i", "b", "u", "v", "lang", "ruby", "rt"}
_ANNOTATED = {"v", "lang"}  # tags whose opening may carry an annotation (the voice, the language)
_OPEN_TAG = re.compile(r"^([a-z]+)((?:\.[A-Za-z0-9_-]+)*)(?:[ \t]+([^<>&\n]*))?$")
_CLOSE_TAG = re.compile(r"^/([a-z]+)$")
_CUE_TIMESTAMP = re.compile(r"^(?:\d{2,}:)?[0-5]\d:[0-5]\d\.\d{3}$")
_ENTITY = re.compile(r"&(?:amp|lt|gt|lrm|rlm|nbsp|#\d{1,7}|#x[0-9A-Fa-f]{1,6});")
_SRT_FONT = re.compile(r"</?font(?:[ \t][^<>]*)?>", re.IGNORECASE)
_SRT_TAG = re.compile(r"<(/?)([ibu])>", re.IGNORECASE)


class CaptionFileInvalid(ValueError):
    """The file is refused; the message says where and why."""


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    settings: str
    text: str


@dataclass(frozen=True)
class Track:
    cues: list[Cue]

    def to_webvtt(self) -> str:
        blocks = ["WEBVTT"]
        for cue in self.cues:
            timing = f"{format_time(cue.start)} --> {format_time(cue.end)}"
            blocks.append(f"{timing} {cue.settings}".rstrip() + "\n" + cue.text)
        return "\n\n".join(blocks) + "\n"


def format_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def parse(data: bytes, *, duration: float | None) -> Track:
    """The file's cues, checked and cleaned, sorted by start; CaptionFileInvalid otherwise."""
    text = _decode(data)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    is_vtt = re.match(r"^WEBVTT(?:[ \t].*)?$", lines[0]) is not None
    cues = []
    for number, block in _blocks(lines):
        cue = _vtt_block(number, block) if is_vtt else _srt_block(number, block)
        if cue is None:
            continue
        if cue.end <= cue.start:
            raise CaptionFileInvalid(f"Line {number}: the cue ends before it starts.")
        if duration is not None and cue.end > duration + DURATION_SLACK:
            raise CaptionFileInvalid(f"Line {number}: the cue ends after the video ({duration:.3f} s).")
        cues.append(cue)
        if len(cues) > MAX_CUES:
            raise CaptionFileInvalid(f"At most {MAX_CUES} cues.")
    if not cues:
        raise CaptionFileInvalid("The file has no cues.")
    return Track(sorted(cues, key=lambda cue: (cue.start, cue.end)))


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CaptionFileInvalid(f"Not UTF-8 (byte {exc.start}).") from None
    if "\x00" in text:
        raise CaptionFileInvalid("The file contains NUL characters.")
    return text


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Runs of non-blank lines, each with the (1-based) number of its first line."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    for index, line in enumerate(lines, start=1):
        if line.strip():
            if not current:
                blocks.append((index, current))
            current.append(line)
        else:
            current = []
    return blocks


def _vtt_block(number: int, block: list[str]) -> Cue | None:
    first = block[0]
    if number == 1:  # the header ("WEBVTT" and what follows it up to the first blank line)
        if any("-->" in line for line in block):
            raise CaptionFileInvalid("Line 2: a blank line must follow the WEBVTT header.")
        return None
    if re.match(r"^(NOTE|STYLE|REGION)(?:[ \t].*)?$", first) and "-->" not in first:
        if first.startswith("NOTE"):
            return None
        if any("-->" in line for line in block):
            raise CaptionFileInvalid(f"Line {number}: a {first.split()[0]} block cannot hold a cue.")
        return None  # STYLE and REGION: players' CSS and layout, never taken from uploads
    timing_index = 0 if "-->" in first else 1
    if timing_index >= len(block) or "-->" not in block[timing_index]:
        raise CaptionFileInvalid(f"Line {number}: expected a cue timing line (start --> end).")
    start, end, settings = _timing(number + timing_index, block[timing_index], _VTT_TIME)
    payload = block[timing_index + 1 :]
    return Cue(start, end, _settings(number + timing_index, settings), _cue_text(number, payload))


def _srt_block(number: int, block: list[str]) -> Cue:
    if not block[0].strip().isdigit() or len(block) < 2:
        raise CaptionFileInvalid(f"Line {number}: expected a cue number, then its timing line.")
    start, end, settings = _timing(number + 1, block[1].strip(), _SRT_TIME)
    if settings:
        raise CaptionFileInvalid(f"Line {number + 1}: unexpected text after the end time.")
    payload = [_SRT_TAG.sub(r"<\1\2>", _SRT_FONT.sub("", line)) for line in block[2:]]
    return Cue(start, end, "", _cue_text(number, payload))


def _timing(number: int, line: str, pattern: re.Pattern) -> tuple[float, float, str]:
    match = _TIMING.match(line.strip())
    if not match:
        raise CaptionFileInvalid(f"Line {number}: a timing line is `start --> end`.")
    start, end = (_seconds(number, value, pattern) for value in match.group(1, 2))
    return start, end, match.group(3) or ""


def _seconds(number: int, value: str, pattern: re.Pattern) -> float:
    match = pattern.match(value)
    if not match:
        raise CaptionFileInvalid(f"Line {number}: {value!r} is not a timestamp.")
    hours, minutes, seconds, millis = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def _settings(number: int, raw: str) -> str:
    kept = []
    for setting in raw.split():
        name, colon, value = setting.partition(":")
        if name == "region" and colon and value:
            continue  # regions are dropped with their REGION blocks
        pattern = _SETTINGS.get(name)
        if not colon or pattern is None or not pattern.match(value):
            raise CaptionFileInvalid(f"Line {number}: {setting!r} is not a cue setting.")
        kept.append(setting)
    return " ".join(kept)


def _cue_text(number: int, payload: list[str]) -> str:
    if any("-->" in line for line in payload):
        raise CaptionFileInvalid(f"Line {number}: a cue's text cannot contain `-->`.")
    text = "\n".join(sanitize(line) for line in payload).strip("\n")
    return text or " "  # a cue may be empty; keep it a cue (an empty line would end the block)


def sanitize(line: str) -> str:
    """The line with WebVTT's own markup kept and everything else escaped."""
    out = []
    position = 0
    while position < len(line):
        char = line[position]
        if char == "<":
            close = line.find(">", position + 1)
            inner = line[position + 1 : close] if close != -1 else None
            if inner is not None and _allowed_tag(inner):
                out.append(f"<{inner}>")
                position = close + 1
                continue
            out.append("&lt;")
        elif char == ">":
            out.append("&gt;")
        elif char == "&":
            entity = _ENTITY.match(line, position)
            if entity:
                out.append(entity.group(0))
                position = entity.end()
                continue
            out.append("&amp;")
        else:
            out.append(char)
        position += 1
    return "".join(out)


def _allowed_tag(inner: str) -> bool:
    if _CUE_TIMESTAMP.match(inner):
        return True
    close = _CLOSE_TAG.match(inner)
    if close:
        return close.group(1) in _TAGS
    opening = _OPEN_TAG.match(inner)
    if not opening or opening.group(1) not in _TAGS:
        return False
    annotation = opening.group(3)
    if opening.group(1) == "lang":
        return bool(annotation) and re.match(r"^[A-Za-z0-9-]{1,35}$", annotation) is not None
    return annotation is None or (opening.group(1) in _ANNOTATED and bool(annotation.strip()))
