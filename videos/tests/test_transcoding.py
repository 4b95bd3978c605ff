"""Transcoding: the one-decode HLS ladder made by a real worker with real ffmpeg from generated clips,
faults (a worker SIGKILLed mid-job, stopped heartbeats, hostile files), re-transcoding, duplicate
deliveries, and the management commands.

Published output is checked the way a player would see it: every object under the video's HLS
prefix is downloaded with our own S3 client into a temp folder (keeping relative paths) and read
with ffprobe on local files only. Sources are small (at most 854x480) and short (a few seconds; 20-30 s
at 640x360 where a job must last long enough to be killed or reaped; one 3-minute clip at 192x108,
10 fps), so the module stays fast on two cores.
"""

import itertools
import math
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import UserFactory
from testing import clips, hls, processes
from testing.clients import assert_error, signed_in_client
from testing.race import run_concurrently
from testing.worker import WorkerProcess
from videos.models import Rendition, TranscodeJob, Video
from videos.pipeline import jobs, ladder
from videos.pipeline.probing import MediaInfo
from videos.pipeline.services import source_probe
from videos.quota import storage_used
from videos.tasks import transcode_video
from videos.tests.conftest import probed_video, stored_bytes, stored_keys
from videos.tests.factories import DraftVideoFactory, VideoFactory
from videos.uploads.services import source_upload
from vod.celery import app

Status = Video.Status
Job = TranscodeJob.Status
PIPELINE_TIMEOUT = 240  # seconds: an upper bound for one clip's probe + transcode on a busy 2-core machine
SPRITE = re.compile(r"^sprite_\d{3}\.jpg$")


# --- helpers --------------------------------------------------------------------------------------


def wait_for(condition, *, timeout: float, what: str, interval: float = 0.1):
    """Polls `condition()` until it returns something truthy, which is returned; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def settled(video_id, timeout: float = PIPELINE_TIMEOUT) -> Video:
    """The video once the pipeline is done with it: ready or failed."""
    return wait_for(
        lambda: Video.objects.filter(pk=video_id, status__in=[Status.READY, Status.FAILED]).first(),
        timeout=timeout,
        what=f"video {video_id} to be ready or failed",
    )


def put_source(client, video, path: Path):
    response = client.put(
        f"/api/v1/videos/{video.pk}/source", data=path.read_bytes(), content_type="application/octet-stream"
    )
    assert response.status_code == 200, response.content
    return response


def small_clip(media_factory) -> Path:
    """2 s, 320x180, 10 fps, with audio: one 180p rung."""
    return media_factory("small.mp4", seconds=2, width=320, height=180, fps=10)


def tiny_clip(media_factory) -> Path:
    return media_factory("tiny.mp4", seconds=2, width=160, height=90, fps=10)


def hls_versions(video) -> list[str]:
    """The version folders under `videos/<id>/hls/` in the bucket."""
    root = f"{video.storage_prefix}hls/"
    return sorted({key[len(root) :].split("/")[0] for key in stored_keys(root)})


def download(prefix: str, folder: Path) -> dict[str, int]:
    """Copies every object under `prefix` into `folder`, keeping relative paths; returns path -> size."""
    sizes = {}
    for key in stored_keys(prefix):
        relative = key[len(prefix) :]
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(stored_bytes(key))
        sizes[relative] = target.stat().st_size
    return sizes


def transcode_field(client, video) -> tuple[dict, dict]:
    """The `transcode` field of the video on `GET me/videos` and on the owner's `GET videos/{id}`."""
    listed = client.get("/api/v1/me/videos?limit=100")
    detail = client.get(f"/api/v1/videos/{video.pk}")
    assert listed.status_code == 200 and detail.status_code == 200
    item = next(item for item in listed.json()["results"] if item["id"] == str(video.pk))
    return item["transcode"], detail.json()["transcode"]


def assert_storyboard(local: Path, vtt_relative: str, duration: float) -> list[hls.Cue]:
    """The storyboard WebVTT parses, its cues run back to back from 0 to the end, and each one points
    at a non-empty cell of an existing JPEG sprite sheet (10x10 cells of 160 px, in time order)."""
    vtt = local / vtt_relative
    cues = hls.parse_storyboard_vtt(vtt.read_text())
    assert cues, "the storyboard has no cues"
    assert cues[0].start == 0
    assert all(abs(later.start - earlier.end) < 0.002 for earlier, later in itertools.pairwise(cues))
    assert all(cue.end > cue.start for cue in cues)
    assert abs(cues[-1].end - duration) <= 0.5, (cues[-1], duration)
    sheets = {}
    per_sheet = ladder.STORYBOARD_COLUMNS * ladder.STORYBOARD_ROWS
    for index, cue in enumerate(cues):
        assert SPRITE.match(cue.url), cue.url
        sprite = vtt.parent / cue.url
        assert sprite.is_file(), f"{cue.url} is not stored"
        if cue.url not in sheets:
            assert sprite.read_bytes()[:3] == b"\xff\xd8\xff", f"{cue.url} is not a JPEG"
            sheets[cue.url] = hls.gray_pixels(sprite)
        sheet_width, sheet_height, _ = sheets[cue.url]
        assert cue.w == ladder.THUMB_WIDTH and cue.h > 0
        sheet, cell = divmod(index, per_sheet)
        row, column = divmod(cell, ladder.STORYBOARD_COLUMNS)
        assert cue.url == f"sprite_{sheet + 1:03d}.jpg", (index, cue)
        assert (cue.x, cue.y) == (column * cue.w, row * cue.h), (index, cue)
        assert cue.x + cue.w <= sheet_width and cue.y + cue.h <= sheet_height, (cue, sheet_width, sheet_height)
        assert not hls.region_is_blank(sheets[cue.url], cue.x, cue.y, cue.w, cue.h), f"cue {index} shows an empty cell"
    assert len(sheets) == math.ceil(len(cues) / per_sheet)
    return cues


def assert_published_ladder(video: Video, source: Path, expected: list[tuple[str, int, int]], folder: Path) -> dict:
    """Everything a player and the quota rely on, checked on the published version of `video`:
    master playlist, renditions (decodable, durations, aligned segments and keyframes, never above
    the source's short side), Rendition rows, poster, storyboard, one version in the bucket, sizes."""
    video.refresh_from_db()
    facts = hls.media_facts(source)
    prefix = video.hls_prefix
    # the video points into one published version, the only one in the bucket
    assert video.status == Status.READY and video.failure_reason == ""
    assert prefix.startswith(f"{video.storage_prefix}hls/") and prefix.endswith("/")
    assert (video.master_key, video.poster_key) == (prefix + "master.m3u8", prefix + "poster.jpg")
    assert video.storyboard_key.startswith(prefix) and video.storyboard_key.endswith(".vtt")
    assert hls_versions(video) == [prefix.rstrip("/").rsplit("/", 1)[1]]
    assert abs(video.duration - facts["duration"]) <= 0.5
    assert (video.width, video.height) == (facts["width"], facts["height"])
    sizes = download(prefix, folder)

    # the master playlist: one variant per expected rung, with BANDWIDTH, RESOLUTION and CODECS
    variants = hls.parse_master((folder / "master.m3u8").read_text())
    assert [(v.uri.split("/")[0], v.width, v.height) for v in variants] == expected
    source_short = min(facts["width"], facts["height"])
    for variant in variants:
        assert min(variant.width, variant.height) <= source_short, variant
        assert (variant.width > variant.height) == (facts["width"] > facts["height"]), "orientation changed"
        assert variant.bandwidth > 0
        assert any(codec.startswith("avc1.") for codec in variant.codecs), variant.codecs
        assert any(codec.startswith("mp4a.") for codec in variant.codecs) == facts["audio"], variant.codecs
    assert [v.bandwidth for v in variants] == sorted((v.bandwidth for v in variants), reverse=True)

    # Rendition rows are the master playlist's variants
    rows = {(r.name, r.width, r.height, r.bandwidth, r.codecs, r.playlist_key) for r in video.renditions.all()}
    assert rows == {
        (v.uri.split("/")[0], v.width, v.height, v.bandwidth, ",".join(v.codecs), prefix + v.uri) for v in variants
    }

    # every rendition is a complete VOD playlist whose every frame decodes, as long as the source
    expected_files = {"master.m3u8", "poster.jpg"}
    playlists, keyframes = {}, {}
    segment = ladder.profile()["segment_seconds"]
    for variant in variants:
        index = folder / variant.uri
        playlist = hls.parse_media_playlist(index.read_text())
        assert playlist.ended and playlist.playlist_type == "VOD"
        assert playlist.map_uri and (index.parent / playlist.map_uri).is_file()
        assert all((index.parent / uri).is_file() for _, uri in playlist.segments)
        assert all(round(duration) <= playlist.target_duration for duration in playlist.durations)
        assert all(abs(duration - segment) < 0.05 for duration in playlist.durations[:-1]), playlist.durations
        assert abs(sum(playlist.durations) - facts["duration"]) <= 0.5
        base = variant.uri.rsplit("/", 1)[0] + "/"
        expected_files |= {variant.uri, base + playlist.map_uri, *(base + uri for _, uri in playlist.segments)}
        probed = hls.probe_playlist(index)
        streams = {stream["codec_type"]: stream for stream in probed["streams"]}
        assert streams["video"]["codec_name"] == "h264"
        assert (streams["video"]["width"], streams["video"]["height"]) == (variant.width, variant.height)
        assert int(streams["video"]["nb_read_frames"]) == facts["frames"]
        assert "audio" not in streams, "audio belongs in the one shared audio rendition"
        assert abs(float(probed["format"]["duration"]) - facts["duration"]) <= 0.5, probed["format"]
        playlists[variant.uri] = playlist
        keyframes[variant.uri] = hls.keyframe_times(index)

    # audio is encoded once: one AAC rendition in one group that every video variant names
    master_text = (folder / "master.m3u8").read_text()
    audio = hls.audio_media(master_text)
    assert len(audio) == int(facts["audio"])
    assert all(v.attributes.get("AUDIO") == (audio[0]["GROUP-ID"] if audio else None) for v in variants)
    assert len(hls.audio_only_variants(master_text)) == len(audio)
    for media in audio:
        assert media["DEFAULT"] == "YES"
        index = folder / media["URI"]
        playlist = hls.parse_media_playlist(index.read_text())
        assert playlist.ended and abs(sum(playlist.durations) - facts["duration"]) <= 0.5
        base = media["URI"].rsplit("/", 1)[0] + "/"
        expected_files |= {media["URI"], base + playlist.map_uri, *(base + uri for _, uri in playlist.segments)}
        streams = hls.probe_playlist(index)["streams"]
        assert [(stream["codec_type"], stream["codec_name"]) for stream in streams] == [("audio", "aac")]

    # segments and keyframes are aligned across rungs; each segment starts on a keyframe
    first = variants[0].uri
    assert all(playlist.durations == playlists[first].durations for playlist in playlists.values())
    assert all(times == keyframes[first] for times in keyframes.values()), keyframes
    offset, boundary = keyframes[first][0], 0.0
    for duration in playlists[first].durations[:-1]:
        boundary += duration
        assert any(abs(time - (boundary + offset)) < 0.02 for time in keyframes[first]), (boundary, keyframes[first])

    # the poster is a JPEG frame of the top rung's size
    poster = folder / "poster.jpg"
    assert poster.read_bytes()[:3] == b"\xff\xd8\xff"
    assert hls.image_size(poster) == ("mjpeg", variants[0].width, variants[0].height)

    # the storyboard covers the whole duration
    vtt_relative = video.storyboard_key[len(prefix) :]
    cues = assert_storyboard(folder, vtt_relative, facts["duration"])
    storyboard_folder = vtt_relative.rsplit("/", 1)[0] + "/"
    expected_files |= {vtt_relative, *(storyboard_folder + cue.url for cue in cues)}

    # nothing else was stored (no ffmpeg log, no stray files), and every byte is counted
    assert set(sizes) == expected_files, set(sizes) ^ expected_files
    assert video.derived_size == sum(sizes.values()) > 0
    assert storage_used(owner=video.owner) == video.source_size + video.derived_size
    return {"variants": variants, "playlists": playlists, "cues": cues, "sizes": sizes}


def passwd_lines() -> list[bytes]:
    """Lines of this machine's /etc/passwd that would give its content away if stored anywhere."""
    return [line for line in Path("/etc/passwd").read_bytes().splitlines() if len(line) >= 12]


def assert_no_passwd_content(video) -> None:
    secrets = passwd_lines()
    assert secrets
    for key in stored_keys(video.storage_prefix):
        data = stored_bytes(key)
        leaked = [line for line in secrets if line in data]
        assert not leaked, f"{key} holds /etc/passwd content: {leaked[:2]}"


def assert_readable_reason(reason: str) -> None:
    """A sentence for the uploader: no trace, no exception name, no server path."""
    assert reason and reason[0].isupper() and reason.endswith("."), reason
    assert len(reason) <= 300, reason
    leaks = (
        "Traceback",
        "Error:",
        "Exception",
        "ffmpeg",
        "/etc/",
        tempfile.gettempdir(),
        str(django_settings.BASE_DIR),
    )
    for leak in (*leaks, str(django_settings.BASE_DIR)):
        assert leak not in reason, reason


# --- the ladder, end to end with the worker ---------------------------------------------------------

LADDERS = [
    pytest.param(
        {"name": "landscape.mp4", "seconds": 9, "width": 854, "height": 480, "fps": 10},
        [("480p", 854, 480), ("360p", 640, 360)],
        id="landscape-854x480-9s",
    ),
    pytest.param(
        {"name": "portrait.mp4", "seconds": 4, "width": 480, "height": 854, "fps": 10},
        [("480p", 480, 854), ("360p", 360, 640)],
        id="portrait-480x854-4s",
    ),
    pytest.param(
        {"name": "odd.mp4", "seconds": 4, "width": 321, "height": 241, "fps": 15, "odd": True},
        [("240p", 320, 240)],
        id="odd-321x241-4s",
    ),
    pytest.param(
        {"name": "long.mp4", "seconds": 180, "width": 192, "height": 108, "fps": 10, "audio": False},
        [("108p", 192, 108)],
        id="no-audio-192x108-3min",
    ),
]


@pytest.fixture(scope="session")
def odd_clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("odd-clips")
    made = {}

    def factory(name: str, **options):
        if name not in made:
            made[name] = clips.odd_sized_clip(folder / name, **options)
        return made[name]

    return factory


@pytest.mark.parametrize(("clip", "expected"), LADDERS)
def test_an_uploaded_clip_is_published_as_a_playable_aligned_hls_ladder(
    clip, expected, celery_worker, media_factory, odd_clips, tmp_path
):
    # given a clip and its owner's draft video
    options = dict(clip)
    name, odd = options.pop("name"), options.pop("odd", False)
    source = odd_clips(name, **options) if odd else media_factory(name, **options)
    client = signed_in_client(UserFactory())
    video = DraftVideoFactory(owner=client.user)

    # when the clip is uploaded and the worker probes and transcodes it
    put_source(client, video, source)
    video = settled(video.pk)

    # then the published version is a complete, playable, aligned ladder with poster and storyboard
    assert video.status == Status.READY, video.failure_reason
    assert_published_ladder(video, source, expected, tmp_path / "hls")
    job = TranscodeJob.objects.get(video=video)
    assert (job.status, job.attempts, job.progress, job.error) == (Job.SUCCEEDED, 1, 1.0, "")
    assert job.output_prefix == video.hls_prefix and job.finished_at and job.worker
    # and the owner sees the finished job on both views
    listed, detail = transcode_field(client, video)
    assert listed == detail
    assert (listed["id"], listed["status"], listed["progress"], listed["attempts"], listed["error"]) == (
        str(job.pk),
        "succeeded",
        1.0,
        1,
        "",
    )


# --- the plan ------------------------------------------------------------------------------------


def _info(width: int, height: int, rotation: int = 0, duration: float = 60.0, audio: str | None = "aac") -> MediaInfo:
    return MediaInfo("mov,mp4", duration, width, height, "h264", audio, 25.0, rotation)


@pytest.mark.parametrize(
    ("width", "height", "rotation", "rungs", "portrait"),
    [
        (3840, 2160, 0, [1080, 720, 480, 360], False),
        (1920, 1080, 0, [1080, 720, 480, 360], False),
        (1280, 720, 0, [720, 480, 360], False),
        (1080, 1920, 0, [1080, 720, 480, 360], True),
        (1920, 1080, 90, [1080, 720, 480, 360], True),
        (1920, 1080, 270, [1080, 720, 480, 360], True),
        (854, 480, 0, [480, 360], False),
        (700, 500, 0, [480, 360], False),
        (640, 360, 0, [360], False),
        (640, 359, 0, [358], False),
        (321, 241, 0, [240], False),
        (180, 320, 0, [180], True),
    ],
)
def test_the_plan_never_goes_above_the_source_short_side(width, height, rotation, rungs, portrait):
    # given a probed source of these dimensions
    info = _info(width, height, rotation)
    # when the ladder is planned
    plan = ladder.plan_for(info)
    # then it keeps the profile's rungs that fit (or one rung at the source's own even size)
    assert [rung.short_side for rung in plan.rungs] == rungs
    assert all(rung.short_side <= min(width, height) for rung in plan.rungs)
    assert [rung.name for rung in plan.rungs] == [f"{side}p" for side in rungs]
    assert plan.portrait is portrait
    assert (plan.segment_seconds, plan.has_audio, plan.duration) == (4, True, 60.0)


def test_ffmpeg_reads_the_source_through_the_whitelists(tmp_path):
    # given a plan
    plan = ladder.plan_for(_info(854, 480))
    # when the ffmpeg command is built
    args = ladder.ffmpeg_args(plan, tmp_path / "source", tmp_path / "out")
    # then the input is opened with the file protocol only and plain containers only
    before_input = args[: args.index("-i")]
    assert before_input[before_input.index("-protocol_whitelist") + 1] == "file"
    formats = before_input[before_input.index("-format_whitelist") + 1].split(",")
    assert not {"hls", "applehttp", "concat", "image2", "tty", "subviewer", "data"} & set(formats)
    # and keyframes are fixed: a GOP of 2 s, no scene-cut keyframes, one forced every segment
    assert args[args.index("-g") + 1] == "50" and args[args.index("-sc_threshold") + 1] == "0"
    assert args[args.index("-force_key_frames") + 1] == "expr:gte(t,n_forced*4)"


def _rungs(*short_sides: int) -> list[ladder.Rung]:
    return [ladder.Rung(f"{side}p", side, 1000) for side in short_sides]


@pytest.mark.parametrize(
    ("short_sides", "cores", "rung_threads"),
    [
        ((1080, 720, 480, 360), 2, [3, 2, 2, 2]),
        ((1080, 720, 480, 360), 4, [6, 3, 2, 2]),
        ((1080, 720, 480, 360), 8, [12, 6, 3, 2]),
        ((1080, 720, 480, 360), 16, [24, 12, 5, 3]),
        ((480, 360), 2, [3, 2]),
        ((480, 360), 4, [6, 4]),
        ((180,), 1, [2]),
        ((180,), 0, [2]),
    ],
)
def test_the_cores_are_split_between_the_filters_and_the_rungs_by_pixel_rate(short_sides, cores, rung_threads):
    # when the threads of a ladder are planned for this many cores
    filters, threads = ladder.thread_counts(_rungs(*short_sides), cores)
    # then the filter graph gets every core, and the rungs about three threads per core between them,
    # by pixel rate, none above x264's own 1.5 per core, none below two (one would make x264 encode
    # in ffmpeg's main thread)
    assert (filters, threads) == (max(1, cores), rung_threads)


def test_the_cores_are_the_cpus_the_worker_may_run_on_unless_a_setting_says_otherwise(settings, monkeypatch):
    # given a worker whose affinity mask allows three CPUs
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 5})
    # then a transcode uses three, or what TRANSCODE_THREADS says
    settings.TRANSCODE_THREADS = 0
    assert ladder.available_cores() == 3
    settings.TRANSCODE_THREADS = 6
    assert ladder.available_cores() == 6


def test_the_ffmpeg_command_carries_the_thread_counts_and_keeps_the_quality_settings(settings, tmp_path):
    # given four cores and a plan of three rungs
    settings.TRANSCODE_THREADS = 4
    plan = ladder.plan_for(_info(854, 480))
    # when the ffmpeg command is built
    args = ladder.ffmpeg_args(plan, tmp_path / "source", tmp_path / "out")
    # then the filter graph has four threads and each rung its own x264 thread count, set on the
    # HLS output (before its file name), not on the decoder
    assert args[args.index("-filter_complex_threads") + 1] == "4"
    hls_output = args.index(str(tmp_path / "out" / "%v" / "index.m3u8"))
    per_rung = [args[args.index(f"-threads:v:{index}") + 1] for index in range(len(plan.rungs))]
    assert per_rung == [str(count) for count in ladder.thread_counts(plan.rungs, 4)[1]] == ["6", "4"]
    assert args.index("-i") < args.index("-threads:v:1") < hls_output
    # and the quality settings stay the profile's
    assert args[args.index("-preset") + 1] == "veryfast" and args[args.index("-profile:v") + 1] == "high"
    assert [args[args.index(f"-b:v:{index}") + 1] for index in range(2)] == ["1400k", "800k"]


@pytest.mark.parametrize("cores", [1, 3])
def test_a_ladder_made_with_any_number_of_cores_is_complete_and_aligned(
    cores, settings, transactional_db, media_factory, tmp_path
):
    # given a worker told to use this many cores
    settings.TRANSCODE_THREADS = cores
    source = media_factory("landscape.mp4", seconds=9, width=854, height=480, fps=10)
    video = probed_video(UserFactory(), source)
    job = jobs.transcode_queue(video=video, enqueue=False)
    # when it is transcoded here
    assert jobs.run_job(job.pk) is True
    # then the published ladder is the same complete, aligned one
    assert_published_ladder(video, source, [("480p", 854, 480), ("360p", 640, 360)], tmp_path / "hls")


def test_the_transcode_task_is_redelivered_if_its_worker_dies_and_runs_on_the_transcode_queue():
    # given the task as registered with Celery
    # when it is routed
    route = app.amqp.router.route({}, transcode_video.name)
    # then it runs on the transcode queue, is acknowledged late and requeued if its worker is lost
    assert route["queue"].name == "transcode"
    assert transcode_video.acks_late is True
    assert transcode_video.reject_on_worker_lost is True


# --- pipeline properties, in process ----------------------------------------------------------------


def test_a_rotated_phone_clip_is_published_upright(transactional_db, media_factory, tmp_path):
    # given a 320x180 clip whose metadata says "rotate by 90 degrees" (a phone held upright)
    source = clips.rotated(small_clip(media_factory), tmp_path / "r.mp4", 90)
    video = probed_video(UserFactory(), source)
    job = jobs.transcode_queue(video=video, enqueue=False)
    # when it is transcoded
    assert jobs.run_job(job.pk) is True
    # then the ladder and the poster are portrait, never above the short side
    video.refresh_from_db()
    sizes = download(video.hls_prefix, tmp_path / "hls")
    variants = hls.parse_master((tmp_path / "hls" / "master.m3u8").read_text())
    assert [(v.width, v.height) for v in variants] == [(180, 320)]
    assert hls.image_size(tmp_path / "hls" / "poster.jpg") == ("mjpeg", 180, 320)
    probed = hls.probe_playlist(tmp_path / "hls" / variants[0].uri)
    video_stream = next(stream for stream in probed["streams"] if stream["codec_type"] == "video")
    assert (video_stream["width"], video_stream["height"]) == (180, 320)
    assert video.derived_size == sum(sizes.values())


def test_a_clip_shorter_than_a_second_is_published_with_a_storyboard(transactional_db, media_factory, tmp_path):
    # given a half-second clip (the probe accepts it)
    source = media_factory("blink.mp4", seconds=0.5, width=320, height=180, fps=10)
    video = probed_video(UserFactory(), source)
    job = jobs.transcode_queue(video=video, enqueue=False)
    # when it is transcoded
    published = jobs.run_job(job.pk)
    # then it is published like any other clip, its storyboard one cue long
    job.refresh_from_db()
    assert published is True, f"job {job.status}: {job.error!r}"
    published = assert_published_ladder(video, source, [("180p", 320, 180)], tmp_path / "hls")
    assert len(published["cues"]) == 1


def test_a_storyboard_longer_than_one_sheet_continues_on_the_next_sprite(
    transactional_db, settings, media_factory, tmp_path
):
    # given thumbnails every 0.1 s, so a 12 s clip needs 120 cells: one full sheet of 100 and a second one
    profile = settings.TRANSCODE_PROFILES[settings.TRANSCODE_PROFILE]
    settings.TRANSCODE_PROFILES = {
        **settings.TRANSCODE_PROFILES,
        settings.TRANSCODE_PROFILE: {**profile, "storyboard_min_interval": 0.1},
    }
    source = media_factory("storyboard.mp4", seconds=12, width=160, height=90, fps=10, audio=False)
    video = probed_video(UserFactory(), source)
    job = jobs.transcode_queue(video=video, enqueue=False)
    # when it is transcoded
    assert jobs.run_job(job.pk) is True
    # then the cues run over both sheets, in order, each on a cell that holds a thumbnail
    video.refresh_from_db()
    download(video.hls_prefix, tmp_path / "hls")
    cues = assert_storyboard(tmp_path / "hls", video.storyboard_key[len(video.hls_prefix) :], 12.0)
    assert len(cues) == 120
    assert {cue.url for cue in cues} == {"sprite_001.jpg", "sprite_002.jpg"}


def test_a_running_job_reports_progress_and_heartbeats_while_ffmpeg_encodes_so_the_reaper_leaves_it_alone(
    transactional_db, settings, media_factory, sent_transcodes
):
    # given heartbeats every 0.5 s, and a reaper that takes back a job silent for 3 s
    settings.TRANSCODE_HEARTBEAT_SECONDS = 0.5
    settings.TRANSCODE_HEARTBEAT_TIMEOUT = timedelta(seconds=3)
    # a slow preset keeps the encode well past the reaper's 3 s, whatever the machine's speed
    default = settings.TRANSCODE_PROFILES["default"]
    settings.TRANSCODE_PROFILES = {**settings.TRANSCODE_PROFILES, "default": {**default, "x264_preset": "slow"}}
    source = media_factory("heartbeat.mp4", seconds=30, width=640, height=360, fps=25, audio=False)
    video = probed_video(UserFactory(), source)
    job = jobs.transcode_queue(video=video, enqueue=False)
    outcome = {}

    def work():
        try:
            outcome["published"] = jobs.run_job(job.pk, worker="healthy:1")
        finally:
            connection.close()

    # when the job runs in a worker thread (its encode takes several seconds) while the reaper runs
    # every 0.2 s and the owner watches its progress
    worker = threading.Thread(target=work)
    worker.start()
    requeued, progress, started = 0, [], time.monotonic()
    while worker.is_alive() and time.monotonic() - started < PIPELINE_TIMEOUT:
        requeued += jobs.jobs_reap()["requeued"]
        current = TranscodeJob.objects.get(pk=job.pk)
        if current.status == Job.RUNNING and (not progress or progress[-1] != current.progress):
            progress.append(current.progress)
        time.sleep(0.2)
    worker.join(timeout=PIPELINE_TIMEOUT)
    elapsed = time.monotonic() - started

    # then the reaper never took the healthy job back, progress moved during the encode, and it published
    job.refresh_from_db()
    assert elapsed > 3.5, f"the job took {elapsed:.1f} s: too short to tell"
    assert requeued == 0, (
        f"a healthy running job was requeued after {elapsed:.1f} s (job now {job.status}, error {job.error!r}); "
        f"progress seen while running: {progress}"
    )
    assert any(0 < value < 0.9 for value in progress), f"no progress during the encode: {progress}"
    assert outcome == {"published": True}
    assert (job.status, job.attempts) == (Job.SUCCEEDED, 1)


# --- faults: a worker killed mid-transcode ----------------------------------------------------------

KILL_QUEUE = "transcode-kill-test"


def _encoding_ffmpeg(worker: WorkerProcess) -> list[int]:
    return [pid for pid in processes.descendants(worker.process.pid) if processes.command_line(pid)[:1] == ["ffmpeg"]]


def test_a_worker_killed_mid_transcode_is_reaped_and_the_job_completes_exactly_once(
    transactional_db, settings, media_factory, tmp_path, monkeypatch
):
    # given a probed 20 s 640x360 source whose job is delivered to a worker of our own; that worker's
    # x264 runs at its slowest usual preset (an operator setting) so the encode is still going when it dies
    settings.TRANSCODE_HEARTBEAT_TIMEOUT = timedelta(seconds=1)
    source = media_factory("kill.mp4", seconds=20, width=640, height=360, fps=12, audio=False)
    video = probed_video(UserFactory(), source)
    job = jobs.transcode_queue(video=video, enqueue=False)
    monkeypatch.setenv("TRANSCODE_X264_PRESET", "veryslow")
    doomed = WorkerProcess(tmp_path / "doomed.log", queues=KILL_QUEUE, concurrency=1).start()
    monkeypatch.delenv("TRANSCODE_X264_PRESET")
    replacement = None
    try:
        transcode_video.apply_async((str(job.pk),), queue=KILL_QUEUE)
        # (the job's progress cannot tell "mid-transcode": it stays 0 until ffmpeg ends, see
        # test_a_running_job_reports_progress_and_heartbeats_while_ffmpeg_encodes_...; so wait for ffmpeg
        # itself to have run 2 s)
        wait_for(
            lambda: TranscodeJob.objects.filter(pk=job.pk, status=Job.RUNNING).exists() and _encoding_ffmpeg(doomed),
            timeout=120,
            what="the job to run ffmpeg",
        )
        time.sleep(2)
        running = TranscodeJob.objects.get(pk=job.pk)
        tree = processes.descendants(doomed.process.pid)
        assert running.status == Job.RUNNING and _encoding_ffmpeg(doomed), "the encode ended before the kill"
        # (and, as if its upload had begun, the killed attempt already stored a file under its prefix)
        orphan = default_storage.save(running.output_prefix + "360p/seg_00000.m4s", ContentFile(b"partial"))

        # when the worker, its pool process and its ffmpeg are SIGKILLed (a lost machine or container),
        # a worker starts again, and the reaper runs
        doomed.kill()
        processes.kill_all(tree)
        wait_for(lambda: not any(processes.alive(pid) for pid in tree), timeout=10, what="the killed processes")
        replacement = WorkerProcess(tmp_path / "replacement.log", queues="transcode", concurrency=1).start()
        reaped = wait_for(lambda: jobs.jobs_reap()["requeued"], timeout=30, what="the reaper to requeue")
        job = wait_for(
            lambda: TranscodeJob.objects.filter(pk=job.pk, status__in=[Job.SUCCEEDED, Job.FAILED]).first(),
            timeout=PIPELINE_TIMEOUT,
            what="the requeued job to finish",
        )
    finally:
        leftovers = processes.descendants(doomed.process.pid)
        doomed.kill()
        processes.kill_all(leftovers)
        if replacement is not None:
            replacement.stop()

    # then the job ran again and succeeded once: its second attempt is the one published version
    assert reaped == 1
    assert (job.status, job.attempts, job.error) == (Job.SUCCEEDED, 2, ""), job.error
    assert job.output_prefix.endswith(f"{job.pk.hex[:12]}-2/") and job.output_prefix != running.output_prefix
    video.refresh_from_db()
    assert video.hls_prefix == job.output_prefix
    assert hls_versions(video) == [job.output_prefix.rstrip("/").rsplit("/", 1)[1]]
    # and nothing of the killed attempt is left
    assert stored_keys(running.output_prefix) == [] and not default_storage.exists(orphan)
    # and there is one Rendition set, pointing into the published version, which plays
    assert list(Rendition.objects.filter(video=video).values_list("name", flat=True)) == ["360p"]
    assert_published_ladder(video, source, [("360p", 640, 360)], tmp_path / "hls")


# --- faults: the reaper ------------------------------------------------------------------------------


def _running_job(video: Video, *, attempts: int, heartbeat_age: timedelta, max_attempts: int = 3) -> TranscodeJob:
    beat = timezone.now() - heartbeat_age
    return TranscodeJob.objects.create(
        video=video,
        profile=django_settings.TRANSCODE_PROFILE,
        status=Job.RUNNING,
        attempts=attempts,
        max_attempts=max_attempts,
        worker="lost-host:4242",
        heartbeat_at=beat,
        lease_expires_at=beat + django_settings.TRANSCODE_LEASE,
        started_at=beat,
        progress=0.4,
        output_prefix=f"{video.storage_prefix}hls/{uuid.uuid4().hex[:12]}-{attempts}/",
    )


@pytest.fixture
def sent_transcodes(monkeypatch):
    """Records transcode tasks sent by the code under test instead of sending them."""
    sent = []
    monkeypatch.setattr(transcode_video, "apply_async", lambda args, **options: sent.append((args, options)))
    return sent


def test_a_job_whose_heartbeat_stopped_is_requeued_while_attempts_remain(
    db, sent_transcodes, django_capture_on_commit_callbacks
):
    # given a running job whose worker stopped beating 10 minutes ago, with a partial output
    video = VideoFactory(status=Status.PROCESSING, source_key="videos/x/source/abc", published_at=None)
    stuck = _running_job(video, attempts=1, heartbeat_age=timedelta(minutes=10))
    partial = default_storage.save(stuck.output_prefix + "360p/seg_00000.m4s", ContentFile(b"partial"))
    # and a healthy one on another video
    healthy = _running_job(VideoFactory(status=Status.PROCESSING), attempts=1, heartbeat_age=timedelta(seconds=3))

    # when the reaper runs (as beat or an operator would)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("reap_stuck_jobs", stdout=out)

    # then the stuck job is back in the queue and sent again; its partial output is gone
    assert out.getvalue().strip() == "requeued: 1, failed: 0, resent jobs: 0, resent probes: 0"
    stuck.refresh_from_db()
    assert (stuck.status, stuck.attempts) == (Job.QUEUED, 1) and stuck.attempts < stuck.max_attempts
    assert "stopped responding" in stuck.error
    assert [args for args, _ in sent_transcodes] == [(str(stuck.pk),)]
    assert not default_storage.exists(partial)
    video.refresh_from_db()
    assert video.status == Status.PROCESSING
    # and the healthy job is left alone
    healthy.refresh_from_db()
    assert healthy.status == Job.RUNNING


def test_the_reaper_resends_jobs_left_queued_and_probes_of_videos_left_uploaded(
    db, sent_transcodes, django_capture_on_commit_callbacks, monkeypatch
):
    # given a job queued 40 minutes ago that no worker ever received (the broker lost it), and one
    # requeued by a failed attempt 40 minutes ago
    old = timezone.now() - timedelta(minutes=40)
    lost = TranscodeJob.objects.create(video=VideoFactory(status=Status.UPLOADED), profile="default")
    TranscodeJob.objects.filter(pk=lost.pk).update(created_at=old)
    requeued = _running_job(VideoFactory(status=Status.PROCESSING), attempts=1, heartbeat_age=timedelta(minutes=40))
    TranscodeJob.objects.filter(pk=requeued.pk).update(status=Job.QUEUED)
    # and a job queued a minute ago (workers are just busy)
    fresh = TranscodeJob.objects.create(video=VideoFactory(status=Status.UPLOADED), profile="default")
    # and a video uploaded 40 minutes ago with no job (its probe message was lost), one uploaded
    # a minute ago, and one uploaded long ago whose job is queued
    stalled = VideoFactory(status=Status.UPLOADED, source_key="videos/x/source/a")
    recent = VideoFactory(status=Status.UPLOADED, source_key="videos/x/source/b")
    Video.objects.filter(pk__in=[stalled.pk, lost.video_id]).update(updated_at=old)
    probes = []
    monkeypatch.setattr("videos.tasks.probe_source.delay", lambda video_id: probes.append(video_id))

    # when the reaper runs
    with django_capture_on_commit_callbacks(execute=True):
        result = jobs.jobs_reap()

    # then the two waiting jobs are sent again, and the stalled video's probe
    assert result == {"requeued": 0, "failed": 0, "resent_jobs": 2, "resent_probes": 1}
    assert sorted(args for args, _ in sent_transcodes) == sorted([(str(lost.pk),), (str(requeued.pk),)])
    assert probes == [str(stalled.pk)]
    assert str(fresh.pk) not in str(sent_transcodes) and str(recent.pk) not in probes
    # and a second run right after sends nothing again (each waits another timeout)
    sent_transcodes.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.jobs_reap() == {"requeued": 0, "failed": 0, "resent_jobs": 0, "resent_probes": 0}
    assert sent_transcodes == [] and probes == [str(stalled.pk)]


@pytest.mark.parametrize("video_status", [Status.PROCESSING, Status.READY])
def test_a_job_whose_heartbeat_stopped_on_its_last_attempt_fails(
    db, video_status, sent_transcodes, django_capture_on_commit_callbacks
):
    # given a job on its last attempt whose heartbeat stopped (a ready video is being re-transcoded)
    video = VideoFactory(status=video_status, source_key="videos/x/source/abc")
    published = None
    if video_status == Status.READY:
        video.hls_prefix = f"{video.storage_prefix}hls/published-1/"
        video.master_key = video.hls_prefix + "master.m3u8"
        video.save()
        published = default_storage.save(video.master_key, ContentFile(b"#EXTM3U\n"))
    stuck = _running_job(video, attempts=3, max_attempts=3, heartbeat_age=timedelta(minutes=10))

    # when the reaper runs
    with django_capture_on_commit_callbacks(execute=True):
        result = jobs.jobs_reap()

    # then the job fails for good and is not sent again
    assert result == {"requeued": 0, "failed": 1, "resent_jobs": 0, "resent_probes": 0}
    assert sent_transcodes == []
    stuck.refresh_from_db()
    assert (stuck.status, stuck.attempts) == (Job.FAILED, 3) and stuck.finished_at
    assert "no attempts left" in stuck.error
    video.refresh_from_db()
    if video_status == Status.READY:
        # and a ready video keeps playing its published version
        assert video.status == Status.READY and default_storage.exists(published)
    else:
        # and the video fails with a reason its owner can read
        assert video.status == Status.FAILED
        assert_readable_reason(video.failure_reason)


# --- faults: hostile and broken files -------------------------------------------------------------


def _hostile(kind: str, folder: Path, media_factory) -> Path:
    """A file uploaded as `upload.mp4`, whatever it really is."""
    path = folder / "upload.mp4"
    clip = media_factory("hostile-base.mp4", seconds=4, width=320, height=180, fps=10)
    if kind == "random":
        path.write_bytes(os.urandom(200_000))
    elif kind == "truncated":
        clips.truncated(clip, path)
    elif kind == "truncated-faststart":
        clips.truncated(clips.faststart(clip, folder / "faststart.mp4"), path)
    elif kind == "hls-passwd":
        path.write_text(
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXTINF:10.0,\nfile:///etc/passwd\n#EXTINF:10.0,\n/etc/passwd\n#EXT-X-ENDLIST\n"
        )
    elif kind == "hls-local-clip":
        segment = folder / "segment.ts"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-c", "copy", "-f", "mpegts", str(segment)], check=True
        )
        path.write_text(
            f"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:4.0,\nfile://{segment}\n#EXT-X-ENDLIST\n"
        )
    elif kind == "ffconcat-passwd":
        path.write_text("ffconcat version 1.0\nfile /etc/passwd\nfile 'file:/etc/passwd'\n")
    return path


def _published_summary(video: Video) -> str:
    """What was published instead of failing: duration claimed vs. media actually in the renditions."""
    lines = [f"ended {video.status}, duration {video.duration} s"]
    for rendition in video.renditions.all():
        playlist = hls.parse_media_playlist(stored_bytes(rendition.playlist_key).decode())
        lines.append(f"{rendition.name}: segments {playlist.durations} (total {sum(playlist.durations):.2f} s)")
    return "; ".join(lines)


@pytest.mark.parametrize(
    "kind",
    ["random", "truncated", "truncated-faststart", "hls-passwd", "hls-local-clip", "ffconcat-passwd"],
)
def test_a_broken_or_hostile_upload_fails_with_a_readable_reason_and_leaks_nothing(
    kind, celery_worker, media_factory, tmp_path
):
    # given a file named .mp4 that is not a whole plain video
    upload = _hostile(kind, tmp_path, media_factory)
    client = signed_in_client(UserFactory())
    video = DraftVideoFactory(owner=client.user)

    # when it is uploaded and the worker handles it
    put_source(client, video, upload)
    video = settled(video.pk)

    # then the video failed with a reason its owner can read, and nothing was published
    assert video.status == Status.FAILED, _published_summary(video)
    assert_readable_reason(video.failure_reason)
    body = client.get(f"/api/v1/videos/{video.pk}").json()
    assert (body["status"], body["failure_reason"]) == ("failed", video.failure_reason)
    assert stored_keys(f"{video.storage_prefix}hls/") == []
    assert (video.hls_prefix, video.master_key, video.renditions.count()) == ("", "", 0)
    # and no stored object holds anything read from another file
    assert stored_keys(video.storage_prefix) == [video.source_key]
    assert stored_bytes(video.source_key) == upload.read_bytes()
    assert_no_passwd_content(video)


def test_the_transcoder_probes_again_and_refuses_a_playlist_whose_probe_was_skipped(transactional_db, tmp_path):
    # given a failed video whose source is an HLS playlist named .mp4 pointing at /etc/passwd
    upload = tmp_path / "upload.mp4"
    upload.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n")
    video = DraftVideoFactory(owner=UserFactory())
    with open(upload, "rb") as stream:
        source_upload(video=video, stream=stream, content_length=upload.stat().st_size, enqueue_probe=False)
    source_probe(video_id=video.pk, queue_transcode=False)
    video.refresh_from_db()
    assert video.status == Status.FAILED

    # when an operator transcodes it anyway
    with pytest.raises(CommandError) as raised:
        call_command("transcode", str(video.pk), "--sync", stdout=StringIO())

    # then the transcoder refuses it with a readable reason, and stores nothing
    job = TranscodeJob.objects.get(video=video)
    assert (job.status, job.attempts) == (Job.FAILED, 1)
    assert_readable_reason(job.error)
    assert job.error in str(raised.value)
    video.refresh_from_db()
    assert video.status == Status.FAILED
    assert_readable_reason(video.failure_reason)
    assert stored_keys(f"{video.storage_prefix}hls/") == []
    assert_no_passwd_content(video)


# --- re-transcoding --------------------------------------------------------------------------------


def test_re_transcoding_a_ready_video_publishes_a_new_version_and_it_stays_playable_meanwhile(
    celery_worker, media_factory, tmp_path
):
    # given a ready video, transcoded by the worker
    source = media_factory("retranscode.mp4", seconds=8, width=320, height=180, fps=10)
    client = signed_in_client(UserFactory())
    video = DraftVideoFactory(owner=client.user)
    put_source(client, video, source)
    video = settled(video.pk)
    assert_published_ladder(video, source, [("180p", 320, 180)], tmp_path / "old")
    old_prefix, old_keys = video.hls_prefix, stored_keys(video.hls_prefix)

    # when its owner asks for a new transcode
    response = client.post(f"/api/v1/videos/{video.pk}/transcode")

    # then a job is accepted
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["attempts"], body["progress"], body["error"]) == ("queued", 0, 0.0, "")
    # and while it runs the video stays ready on its old version, and a second request is refused
    seen, refused_while_running = set(), None

    def finished():
        nonlocal refused_while_running
        # (the video and the bucket are read before the job: if the job is still unfinished after,
        # they were read before it published)
        current, keys_now = Video.objects.get(pk=video.pk), stored_keys(old_prefix)
        job = TranscodeJob.objects.get(pk=body["id"])
        seen.add(job.status)
        if job.status in (Job.QUEUED, Job.RUNNING):
            assert (current.status, current.hls_prefix, current.master_key) == (
                Status.READY,
                old_prefix,
                old_prefix + "master.m3u8",
            )
            assert keys_now == old_keys
            if job.status == Job.RUNNING and refused_while_running is None:
                assert client.get(f"/api/v1/videos/{video.pk}").json()["status"] == "ready"
                refused_while_running = client.post(f"/api/v1/videos/{video.pk}/transcode")
                listed, _ = transcode_field(client, current)
                assert (listed["id"], listed["status"]) == (body["id"], "running")
        return job if job.status in (Job.SUCCEEDED, Job.FAILED) else None

    job = wait_for(finished, timeout=PIPELINE_TIMEOUT, what="the re-transcode", interval=0.05)
    assert Job.RUNNING in seen, f"the job was never seen running: {seen}"
    assert_error(refused_while_running, 409, "transcode_in_progress")

    # and the new version replaced the old one, which is deleted
    assert (job.status, job.attempts) == (Job.SUCCEEDED, 1), job.error
    video.refresh_from_db()
    assert video.status == Status.READY and video.hls_prefix == job.output_prefix != old_prefix
    wait_for(lambda: stored_keys(old_prefix) == [], timeout=30, what="the old version to be deleted")
    assert_published_ladder(video, source, [("180p", 320, 180)], tmp_path / "new")
    listed, detail = transcode_field(client, video)
    assert listed == detail and (listed["id"], listed["status"]) == (body["id"], "succeeded")


@pytest.mark.parametrize("job_status", [Job.QUEUED, Job.RUNNING])
def test_a_second_transcode_while_one_is_queued_or_running_is_refused(db, job_status):
    # given a video whose transcode is queued or running
    client = signed_in_client(UserFactory())
    video = VideoFactory(owner=client.user, source_key="videos/x/source/abc")
    TranscodeJob.objects.create(video=video, profile="default", status=job_status)
    # when its owner asks for another one
    response = client.post(f"/api/v1/videos/{video.pk}/transcode")
    # then it is refused and no job is added
    assert_error(response, 409, "transcode_in_progress")
    assert TranscodeJob.objects.filter(video=video).count() == 1


def test_transcoding_a_draft_without_a_source_is_refused(db):
    # given a draft with no source
    client = signed_in_client(UserFactory())
    video = DraftVideoFactory(owner=client.user)
    # when its owner asks for a transcode
    response = client.post(f"/api/v1/videos/{video.pk}/transcode")
    # then
    assert_error(response, 409, "no_source")
    assert not TranscodeJob.objects.filter(video=video).exists()


@pytest.mark.parametrize("visibility", [Video.Visibility.PRIVATE, Video.Visibility.PUBLIC])
def test_transcoding_another_users_video_is_not_found(db, visibility):
    # given someone else's ready video (private, or public and listed in the catalog)
    client = signed_in_client(UserFactory())
    video = VideoFactory(visibility=visibility, source_key="videos/x/source/abc")
    # when a signed-in user who does not own it asks for a transcode
    response = client.post(f"/api/v1/videos/{video.pk}/transcode")
    # then
    assert_error(response, 404, "not_found")
    assert not TranscodeJob.objects.filter(video=video).exists()


def test_transcoding_needs_a_signed_in_user(db, api_client):
    # given a video with a source
    video = VideoFactory(source_key="videos/x/source/abc")
    # when an anonymous client asks for a transcode
    response = api_client.post(f"/api/v1/videos/{video.pk}/transcode")
    # then
    assert_error(response, 401, "not_authenticated")
    assert not TranscodeJob.objects.filter(video=video).exists()


def test_staff_can_re_transcode_any_video(db, staff_client, sent_transcodes, django_capture_on_commit_callbacks):
    # given someone else's ready video
    video = VideoFactory(source_key="videos/x/source/abc")
    # when staff ask for a transcode
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"/api/v1/videos/{video.pk}/transcode")
    # then a job is queued and sent to the transcode task
    assert response.status_code == 202, response.content
    job = TranscodeJob.objects.get(video=video)
    assert (response.json()["id"], job.status) == (str(job.pk), Job.QUEUED)
    assert [args for args, _ in sent_transcodes] == [(str(job.pk),)]


# --- duplicate deliveries ----------------------------------------------------------------------------


def test_a_duplicate_delivery_of_a_finished_job_does_nothing(transactional_db, media_factory):
    # given a job that ran and published
    video = probed_video(UserFactory(), tiny_clip(media_factory))
    job = jobs.transcode_queue(video=video, enqueue=False)
    assert jobs.run_job(job.pk, worker="first:1") is True
    video.refresh_from_db()
    keys, renditions = stored_keys(video.storage_prefix), set(video.renditions.values_list("pk", flat=True))
    before = (video.hls_prefix, video.derived_size, video.updated_at)

    # when the task is delivered again, to the same or another worker
    again = [jobs.run_job(job.pk, worker=name) for name in ("first:1", "second:2")]

    # then nothing runs and nothing new is published
    assert again == [False, False]
    job.refresh_from_db()
    assert (job.status, job.attempts, job.worker) == (Job.SUCCEEDED, 1, "first:1")
    video.refresh_from_db()
    assert (video.hls_prefix, video.derived_size, video.updated_at) == before
    assert stored_keys(video.storage_prefix) == keys
    assert set(video.renditions.values_list("pk", flat=True)) == renditions


def test_two_concurrent_deliveries_of_one_job_run_it_once(transactional_db, media_factory):
    # given a queued job
    video = probed_video(UserFactory(), tiny_clip(media_factory))
    job = jobs.transcode_queue(video=video, enqueue=False)

    # when two workers claim it at the same moment
    outcomes = run_concurrently(lambda i: jobs.run_job(job.pk, worker=f"racer:{i}"), threads=2)

    # then exactly one ran it and published one version
    assert [outcome.error for outcome in outcomes] == [None, None]
    assert sorted(outcome.value for outcome in outcomes) == [False, True]
    winner = next(i for i, outcome in enumerate(outcomes) if outcome.value)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.worker) == (Job.SUCCEEDED, 1, f"racer:{winner}")
    video.refresh_from_db()
    assert video.status == Status.READY
    assert hls_versions(video) == [job.output_prefix.rstrip("/").rsplit("/", 1)[1]]
    assert video.renditions.count() == 1


# --- management commands ----------------------------------------------------------------------------


def test_manage_transcode_sync_transcodes_here(transactional_db, media_factory, tmp_path):
    # given a probed video
    source = small_clip(media_factory)
    video = probed_video(UserFactory(), source)
    # when an operator runs `manage.py transcode <id> --sync`
    out = StringIO()
    call_command("transcode", str(video.pk), "--sync", stdout=out)
    # then the video is ready in this process, with one job that succeeded
    assert f"Video {video.pk} is ready (1 renditions)" in out.getvalue()
    job = TranscodeJob.objects.get(video=video)
    assert (job.status, job.attempts) == (Job.SUCCEEDED, 1)
    assert_published_ladder(video, source, [("180p", 320, 180)], tmp_path / "hls")


def test_manage_transcode_without_sync_queues_the_job(db, sent_transcodes, django_capture_on_commit_callbacks):
    # given a ready video
    video = VideoFactory(source_key="videos/x/source/abc")
    # when an operator runs `manage.py transcode <id>`
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("transcode", str(video.pk), stdout=out)
    # then a job is queued for the workers
    job = TranscodeJob.objects.get(video=video)
    assert job.status == Job.QUEUED and f"Queued transcode job {job.pk}" in out.getvalue()
    assert [args for args, _ in sent_transcodes] == [(str(job.pk),)]


@pytest.mark.parametrize("video_id", [str(uuid.uuid4()), "not-a-uuid"], ids=["unknown-uuid", "not-a-uuid"])
def test_manage_transcode_of_an_unknown_video_is_a_command_error(db, video_id):
    # given no such video
    # when an operator transcodes it
    with pytest.raises(CommandError) as raised:
        call_command("transcode", video_id, "--sync", stdout=StringIO())
    # then the command says so
    assert video_id in str(raised.value)


def test_manage_transcode_while_one_is_in_progress_is_a_command_error(db):
    # given a video whose transcode is running
    video = VideoFactory(source_key="videos/x/source/abc")
    TranscodeJob.objects.create(video=video, profile="default", status=Job.RUNNING)
    # when an operator transcodes it again
    with pytest.raises(CommandError) as raised:
        call_command("transcode", str(video.pk), stdout=StringIO())
    # then the command refuses
    assert "already queued or running" in str(raised.value)


def test_manage_transcode_force_replaces_a_job_in_progress(db, sent_transcodes, django_capture_on_commit_callbacks):
    # given a video whose transcode is stuck running, with a partial output
    video = VideoFactory(status=Status.PROCESSING, source_key="videos/x/source/abc")
    stuck = _running_job(video, attempts=1, heartbeat_age=timedelta(seconds=5))
    partial = default_storage.save(stuck.output_prefix + "360p/seg_00000.m4s", ContentFile(b"partial"))
    # when an operator forces a new transcode
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("transcode", str(video.pk), "--force", stdout=out)
    # then the old job failed (its worker loses the attempt), its output is gone, a new job is sent
    stuck.refresh_from_db()
    assert stuck.status == Job.FAILED and "superseded" in stuck.error
    assert not default_storage.exists(partial)
    new = TranscodeJob.objects.get(video=video, status=Job.QUEUED)
    assert [args for args, _ in sent_transcodes] == [(str(new.pk),)]
    assert str(new.pk) in out.getvalue()


def test_manage_import_video_sync_creates_a_ready_video(transactional_db, media_factory, tmp_path):
    # given a local clip and a user
    user = UserFactory()
    source = tmp_path / "Holiday in Rome.mp4"
    shutil.copy(small_clip(media_factory), source)
    # when an operator imports it for that user (email in another case)
    out = StringIO()
    call_command("import_video", str(source), "--owner", user.email.upper(), "--sync", stdout=out)
    # then the user owns a ready video made from it, its source stored and transcoded here
    video = Video.objects.get(owner=user)
    assert f"Video {video.pk} is ready" in out.getvalue()
    assert (video.title, video.visibility, video.source_size) == (
        "Holiday in Rome",
        Video.Visibility.PRIVATE,
        source.stat().st_size,
    )
    assert "Holiday" not in video.source_key
    assert stored_bytes(video.source_key) == source.read_bytes()
    assert_published_ladder(video, source, [("180p", 320, 180)], tmp_path / "hls")


@pytest.mark.parametrize("problem", ["unknown-owner", "missing-file"])
def test_manage_import_video_refuses_what_it_cannot_import(db, problem, media_factory, tmp_path):
    # given an unknown owner, or a path with no file
    user = UserFactory()
    source = small_clip(media_factory)
    owner = "nobody@example.com" if problem == "unknown-owner" else user.email
    path = source if problem == "unknown-owner" else tmp_path / "missing.mp4"
    # when an operator imports it
    with pytest.raises(CommandError):
        call_command("import_video", str(path), "--owner", owner, "--sync", stdout=StringIO())
    # then nothing is created
    assert not Video.objects.exists()
