"""The one-decode HLS ladder: a single ffmpeg process decodes the source once and writes every
rung (H.264 + AAC, fMP4 segments, one master playlist, keyframes aligned across rungs), the
poster and the storyboard sprites. Each rung is scaled from the rung above it, not from the source.

This module only plans and runs ffmpeg in a local folder; jobs, storage and publishing live in
`videos.pipeline.jobs`; the names of the files it writes, in `videos.keys`.
"""

import contextlib
import math
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from videos import keys
from videos.pipeline import sandbox
from videos.pipeline.probing import SAFE_INPUT_OPTIONS, MediaInfo

STORYBOARD_COLUMNS = STORYBOARD_ROWS = 10
THUMB_WIDTH = 160
THUMBS = "thumbs"  # a working folder, not published
AUDIO_NAME = "audio"  # the folder of the one audio rendition
AUDIO_GROUP = "agroup:aac"


class TranscodeFailed(Exception):
    """ffmpeg failed or ran out of time; `log_tail` holds the end of its log."""

    def __init__(self, message: str, log_tail: str = ""):
        super().__init__(message)
        self.log_tail = log_tail


@dataclass(frozen=True)
class Rung:
    name: str
    short_side: int  # the height of a landscape video, the width of a portrait one
    video_kbps: int


@dataclass(frozen=True)
class Plan:
    rungs: list[Rung]
    portrait: bool
    has_audio: bool
    fps: float
    segment_seconds: int
    storyboard_interval: float
    poster_at: float
    duration: float


def profile() -> dict:
    """The transcoding profile in use (TRANSCODE_PROFILE)."""
    return settings.TRANSCODE_PROFILES[settings.TRANSCODE_PROFILE]


def poster_widths() -> list[int]:
    """The widths an uploaded poster is stored at: the profile's rungs as 16:9 landscape frames
    (1920, 1280, 854, 640 for the default ladder), so a player gets the poster its rung would show."""
    return sorted(round(rung["short_side"] * 16 / 9 / 2) * 2 for rung in profile()["rungs"])


def encode_timeout(duration: float) -> float:
    """Seconds the ffmpeg ladder of a video this long may take."""
    return max(settings.TRANSCODE_MIN_TIMEOUT, duration * settings.TRANSCODE_TIMEOUT_FACTOR)


def cpu_limit(duration: float) -> int:
    """CPU seconds the ladder of a video this long may use (all threads together), for its rlimit."""
    return int(max(settings.TRANSCODE_MIN_TIMEOUT, duration) * settings.TRANSCODE_CPU_SECONDS_FACTOR)


def plan_for(info: MediaInfo) -> Plan:
    """The rungs of the profile that fit the source (never upscaled); a source smaller than
    every rung gets one rung at its own size."""
    config = profile()
    width, height = info.displayed_size
    portrait = height > width
    source_short = min(width, height) // 2 * 2
    rungs = [Rung(**rung) for rung in config["rungs"] if rung["short_side"] <= source_short]
    if not rungs:
        smallest = config["rungs"][-1]
        rungs = [Rung(**{**smallest, "name": f"{source_short}p", "short_side": source_short})]
    interval = max(config["storyboard_min_interval"], info.duration / config["storyboard_max_thumbs"])
    return Plan(
        rungs=rungs,
        portrait=portrait,
        has_audio=info.audio_codec is not None,
        fps=min(info.frame_rate or 30.0, 60.0),
        segment_seconds=config["segment_seconds"],
        storyboard_interval=round(interval, 3),
        poster_at=min(info.duration * 0.1, 5.0),
        duration=info.duration,
    )


def estimated_bytes(plan: Plan) -> int:
    """What the ladder will store, about: every rung's bitrate (and the one audio rendition's)
    times the duration. Fixed keyframes and capped bitrates make the output track the ladder's
    bitrates whatever the source, so a small source of noise cannot hide a large output."""
    kbps = sum(rung.video_kbps for rung in plan.rungs) + (profile()["audio_kbps"] if plan.has_audio else 0)
    return math.ceil(kbps * 1000 / 8 * plan.duration)


def available_cores() -> int:
    """The CPUs a transcode may keep busy: TRANSCODE_THREADS, else those this process may run on
    (its affinity mask, which `taskset` or a container's cpuset narrows; a CPU quota such as
    docker's `--cpus` does not show there, hence the setting)."""
    return settings.TRANSCODE_THREADS or len(os.sched_getaffinity(0))


def thread_counts(rungs: list[Rung], cores: int) -> tuple[int, list[int]]:
    """The filter graph's threads and each rung's x264 frame threads for `cores` CPUs.

    The scale cascade runs single-threaded unless given threads, so it gets every core. Left
    alone, x264 gives each encoder 1.5 x cores frame threads: twelve for four rungs on two cores.
    Instead the rungs share 3 x cores by pixel rate (the short side squared: same aspect, same
    frame rate), none above x264's own 1.5 x cores, and none below two: with one, x264 encodes
    inside ffmpeg's main thread, which then stops feeding the filters and the other rungs
    (measured on a 10 s 1080p clip: that thread's CPU time went from 3 s to 10.5 s)."""
    cores = max(1, cores)
    pixels = [rung.short_side**2 for rung in rungs]
    total, most = sum(pixels), max(2, cores * 3 // 2)
    return cores, [min(most, max(2, round(3 * cores * rung_pixels / total))) for rung_pixels in pixels]


def _scale(rung: Rung, portrait: bool) -> str:
    return f"scale={rung.short_side}:-2" if portrait else f"scale=-2:{rung.short_side}"


def ffmpeg_args(plan: Plan, source: Path, out: Path) -> list[str]:
    config = profile()
    count = len(plan.rungs)
    # Chain: source -> rung 0 -> rung 1 -> ...; each rung also feeds the next one, the lowest
    # feeds the storyboard, the top one the poster.
    graph = []
    previous = "0:v"
    for index, rung in enumerate(plan.rungs):
        outputs = [f"[r{index}]"]
        if index + 1 < count:
            outputs.append(f"[n{index}]")
        if index == 0:
            outputs.append("[poster_in]")
        if index == count - 1:
            outputs.append("[story_in]")
        split = f",split={len(outputs)}" if len(outputs) > 1 else ""
        graph.append(f"[{previous}]{_scale(rung, plan.portrait)},setsar=1{split}{''.join(outputs)}")
        previous = f"n{index}"
    # Thumbnails are written one by one as they come (a `tile` output would hold back ffmpeg's
    # progress reports until a whole sheet filled); the sheets are tiled from them afterwards.
    graph.append(f"[story_in]fps=1/{plan.storyboard_interval}:round=up,scale={THUMB_WIDTH}:-2[story]")
    # Only the poster frame is converted to the JPEG's full-range format; left to ffmpeg, the whole
    # top rung would be converted there and back on every frame.
    graph.append(f"[poster_in]trim=start={plan.poster_at:.3f},select='eq(n\\,0)',scale,format=yuvj420p[poster]")

    gop = max(1, round(plan.fps * config["gop_seconds"]))
    filter_threads, rung_threads = thread_counts(plan.rungs, available_cores())
    args = ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    args += [*SAFE_INPUT_OPTIONS, "-i", str(source)]
    args += ["-filter_complex_threads", str(filter_threads), "-filter_complex", ";".join(graph)]
    stream_map = []
    for index, rung in enumerate(plan.rungs):
        args += ["-map", f"[r{index}]", f"-threads:v:{index}", str(rung_threads[index])]
        args += [f"-b:v:{index}", f"{rung.video_kbps}k", f"-maxrate:v:{index}", f"{int(rung.video_kbps * 1.1)}k"]
        args += [f"-bufsize:v:{index}", f"{rung.video_kbps * 2}k"]
        group = f"{AUDIO_GROUP}," if plan.has_audio else ""
        stream_map.append(f"v:{index},{group}name:{rung.name}")
    if plan.has_audio:
        # One AAC encode that every rung refers to, instead of the same audio encoded per rung.
        args += ["-map", "0:a:0", "-b:a", f"{config['audio_kbps']}k"]
        stream_map.append(f"a:0,{AUDIO_GROUP},name:{AUDIO_NAME}")
    args += ["-c:v", "libx264", "-preset", config["x264_preset"], "-profile:v", "high", "-pix_fmt", "yuv420p"]
    args += ["-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0"]
    args += ["-force_key_frames", f"expr:gte(t,n_forced*{plan.segment_seconds})"]
    if plan.has_audio:
        args += ["-c:a", "aac", "-ac", "2", "-ar", "48000"]
    args += ["-f", "hls", "-hls_time", str(plan.segment_seconds), "-hls_playlist_type", "vod"]
    args += ["-hls_segment_type", "fmp4", "-hls_flags", "independent_segments"]
    args += ["-hls_fmp4_init_filename", "init.mp4", "-hls_segment_filename", str(out / "%v" / "seg_%05d.m4s")]
    args += [
        "-master_pl_name",
        keys.MASTER_PLAYLIST,
        "-var_stream_map",
        " ".join(stream_map),
        str(out / "%v" / "index.m3u8"),
    ]
    (out / THUMBS).mkdir(parents=True, exist_ok=True)
    args += ["-map", "[story]", "-c:v", "mjpeg", "-q:v", "5", "-f", "image2", str(out / THUMBS / "%05d.jpg")]
    args += ["-map", "[poster]", "-frames:v", "1", "-c:v", "mjpeg", "-q:v", "3", str(out / keys.POSTER)]
    args += ["-progress", "pipe:1", "-stats_period", "1"]
    return args


def run(
    plan: Plan,
    source: Path,
    out: Path,
    *,
    on_progress: Callable[[float | None], None],
) -> None:
    """Runs ffmpeg in its own process group and tiles the storyboard. `on_progress` gets the
    fraction done (from `-progress`) or None, at least every second, so the caller can keep its
    heartbeat even while ffmpeg is silent. The group is killed on timeout or on any exception (a
    Celery time limit, a revoke)."""
    timeout = encode_timeout(plan.duration)
    log_path = out / "ffmpeg.log"
    deadline = time.monotonic() + timeout
    with open(log_path, "wb") as log:
        process = sandbox.popen(
            ffmpeg_args(plan, source, out),
            cpu_seconds=cpu_limit(plan.duration),
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
            cwd=out,
        )
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
        try:
            while (line := _next_line(lines, deadline, timeout, log_path)) is not None:
                key, _, value = line.partition("=")
                if line and key == "out_time_us" and value.isdigit() and plan.duration:
                    on_progress(min(1.0, int(value) / 1e6 / plan.duration))
                elif not line:
                    on_progress(None)
            code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except BaseException:
            _kill_group(process)
            raise
    if code != 0:
        raise TranscodeFailed(
            "The video could not be transcoded.", f"ffmpeg exited with code {code}\n" + _tail(log_path)
        )
    _tile_storyboard(out)


def _pump(stream, lines: queue.Queue) -> None:
    for raw in stream:
        lines.put(raw.decode(errors="replace").strip())
    lines.put(None)


def _next_line(lines: queue.Queue, deadline: float, timeout: float, log_path: Path) -> str | None:
    """The next progress line; "" after a second of silence; None when ffmpeg closed its output."""
    if time.monotonic() > deadline:
        raise TranscodeFailed(f"Transcoding took longer than {timeout:.0f} seconds.", _tail(log_path))
    try:
        return lines.get(timeout=1)
    except queue.Empty:
        return ""


def _tile_storyboard(out: Path) -> None:
    """Packs the thumbnails into 10x10 sprite sheets (our own JPEGs: a cheap, trusted pass)."""
    thumbs = out / THUMBS
    if not any(thumbs.glob("*.jpg")):
        raise TranscodeFailed("The video's storyboard could not be made.", "ffmpeg wrote no storyboard thumbnails")
    (out / keys.STORYBOARD_FOLDER).mkdir(exist_ok=True)
    tile = f"tile={STORYBOARD_COLUMNS}x{STORYBOARD_ROWS}"
    args = ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-f", "image2"]
    args += [
        "-i",
        str(thumbs / "%05d.jpg"),
        "-vf",
        tile,
        "-q:v",
        "5",
        str(out / keys.STORYBOARD_FOLDER / "sprite_%03d.jpg"),
    ]
    result = sandbox.run(args, timeout=300)
    if result.returncode != 0:
        raise TranscodeFailed("The video's storyboard could not be made.", result.stderr.decode(errors="replace"))
    shutil.rmtree(thumbs)


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_bytes()[-limit:].decode(errors="replace")
    except OSError:
        return ""


def check_complete(plan: Plan, out: Path) -> None:
    """Fails a source that ffmpeg could only partly read (it exits 0 on a truncated file whose
    index promised more): the ladder must cover the probed duration."""
    playlist = out / plan.rungs[-1].name / "index.m3u8"
    encoded = sum(
        float(line[8:].split(",")[0]) for line in playlist.read_text().splitlines() if line.startswith("#EXTINF:")
    )
    if encoded < plan.duration - max(1.0, 0.05 * plan.duration):
        raise TranscodeFailed(
            f"The file is damaged: only {encoded:.1f} of its {plan.duration:.1f} seconds could be read.",
            _tail(out / "ffmpeg.log"),
        )


def write_storyboard_vtt(plan: Plan, out: Path) -> Path:
    """WebVTT cues pointing into the sprite sheets with `#xywh=`, by file name (relative to the
    VTT); tile size is read from the first sprite (ffmpeg keeps the aspect ratio)."""
    sprites = sorted((out / keys.STORYBOARD_FOLDER).glob("sprite_*.jpg"))
    if not sprites:
        raise TranscodeFailed("The video's storyboard could not be made.", "ffmpeg wrote no storyboard sprites")
    sheet_width, sheet_height = _jpeg_size(sprites[0])
    thumb_w, thumb_h = sheet_width // STORYBOARD_COLUMNS, sheet_height // STORYBOARD_ROWS
    per_sheet = STORYBOARD_COLUMNS * STORYBOARD_ROWS
    count = min(math.ceil(plan.duration / plan.storyboard_interval), per_sheet * len(sprites))
    lines = ["WEBVTT", ""]
    for index in range(count):
        start = index * plan.storyboard_interval
        end = min(plan.duration, start + plan.storyboard_interval)
        sheet, cell = divmod(index, per_sheet)
        row, column = divmod(cell, STORYBOARD_COLUMNS)
        lines += [
            f"{_timestamp(start)} --> {_timestamp(end)}",
            f"{sprites[sheet].name}#xywh={column * thumb_w},{row * thumb_h},{thumb_w},{thumb_h}",
            "",
        ]
    path = out / keys.STORYBOARD_VTT
    path.write_text("\n".join(lines))
    return path


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _jpeg_size(path: Path) -> tuple[int, int]:
    """Width and height from a JPEG's SOF marker (no imaging library needed)."""
    data = path.read_bytes()
    index = 2
    while index < len(data):
        marker, length = data[index + 1], int.from_bytes(data[index + 2 : index + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            height = int.from_bytes(data[index + 5 : index + 7], "big")
            width = int.from_bytes(data[index + 7 : index + 9], "big")
            return width, height
        index += 2 + length
    raise TranscodeFailed("The video's storyboard could not be made.", f"cannot read the size of {path.name}")
