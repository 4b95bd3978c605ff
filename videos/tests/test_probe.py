"""The background probe of a stored source: ffprobe on the bytes (never the name or declared type),
a real clip filled in, anything else `failed` with a reason, and playlists that point at other
files refused without reading them. The source goes in through the API like a client's."""

import hashlib
import json
import subprocess
import time

import pytest

from testing import clips
from videos.models import TranscodeJob, Video
from videos.pipeline import services
from videos.pipeline.probing import NotPlayableMedia, media_info
from videos.tests.conftest import stored_bytes, stored_keys
from videos.tests.factories import DraftVideoFactory

Status = Video.Status


def upload_source(client, data: bytes, *, content_type: str = "application/octet-stream") -> Video:
    """A draft of the client's user with `data` as its source (status `uploaded`, probe not run)."""
    video = DraftVideoFactory(owner=client.user)
    response = client.put(f"/api/v1/videos/{video.id}/source", data=data, content_type=content_type)
    assert response.status_code == 200, response.content
    video.refresh_from_db()
    assert video.status == Status.UPLOADED
    return video


def _passwd_line() -> str:
    with open("/etc/passwd") as passwd:
        return passwd.readline().strip()


@pytest.fixture(scope="session")
def png_image(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("images") / "red.png"
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=red:s=64x48"]
    subprocess.run(
        [*args, "-frames:v", "1", str(path)],
        check=True,
        timeout=60,
    )
    return path.read_bytes()


HLS_ABSOLUTE = (
    b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"
)
HLS_RELATIVE = b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n../../../../../../../../etc/passwd\n#EXT-X-ENDLIST\n"
CONCAT = b"ffconcat version 1.0\nfile '/etc/passwd'\nduration 1\n"


def test_a_real_clip_is_probed_by_its_bytes(backend, auth_client, media_factory):
    # given: an MP4 declared as text: the declared type is never consulted
    data = media_factory("clip.mp4", seconds=2, width=320, height=240).read_bytes()
    video = upload_source(auth_client, data, content_type="text/plain")

    # when
    services.source_probe(video_id=video.id)

    # then
    video.refresh_from_db()
    assert video.status in (Status.UPLOADED, Status.PROCESSING), video.failure_reason
    assert video.failure_reason == ""
    assert video.duration == pytest.approx(2.0, abs=0.2)
    assert (video.width, video.height) == (320, 240)
    assert video.source_sha256 == hashlib.sha256(data).hexdigest()
    assert (video.source_info["video_codec"], video.source_info["audio_codec"]) == ("h264", "aac")
    assert stored_keys(video.storage_prefix) == [video.source_key]  # the probe stores nothing


def test_a_clip_in_another_container_without_sound_is_probed(auth_client, media_factory):
    # given
    data = media_factory("clip.mkv", seconds=1.5, width=640, height=360, audio=False).read_bytes()
    video = upload_source(auth_client, data)

    # when
    services.source_probe(video_id=video.id)

    # then
    video.refresh_from_db()
    assert video.failure_reason == ""
    assert video.duration == pytest.approx(1.5, abs=0.2)
    assert (video.width, video.height) == (640, 360)
    assert (video.source_info["container"], video.source_info["audio_codec"]) == ("matroska,webm", None)


@pytest.mark.parametrize(
    "kind", ["text", "png", "hls_file_url", "hls_relative_path", "ffconcat", "truncated_mp4", "empty_lookalike"]
)
def test_a_file_that_is_not_a_video_is_marked_failed_with_a_reason(kind, auth_client, media_factory, png_image):
    # given: whatever it is, the client calls it an MP4
    clip = media_factory("clip.mp4", seconds=2, width=320, height=240).read_bytes()
    data = {
        "text": b"Dear diary,\nthis is not a video at all.\n" * 20,
        "png": png_image,
        "hls_file_url": HLS_ABSOLUTE,
        "hls_relative_path": HLS_RELATIVE,
        "ffconcat": CONCAT,
        "truncated_mp4": clip[: len(clip) // 3],
        "empty_lookalike": b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100,
    }[kind]
    video = upload_source(auth_client, data, content_type="video/mp4")

    # when
    services.source_probe(video_id=video.id)

    # then
    video.refresh_from_db()
    assert video.status == Status.FAILED
    assert video.failure_reason.strip()
    assert "vod-probe-" not in video.failure_reason  # no server paths (the probe's temporary file)
    assert (video.duration, video.width, video.height) == (None, None, None)
    assert video.source_sha256 == hashlib.sha256(data).hexdigest()
    assert not TranscodeJob.objects.filter(video=video).exists()
    response = auth_client.get(f"/api/v1/videos/{video.id}")
    assert (response.json()["status"], response.json()["failure_reason"]) == ("failed", video.failure_reason)


@pytest.mark.parametrize("playlist", [HLS_ABSOLUTE, HLS_RELATIVE, CONCAT], ids=["hls-url", "hls-path", "ffconcat"])
def test_a_playlist_pointing_at_a_local_file_never_reads_it(playlist, auth_client):
    # given
    secret = _passwd_line()
    video = upload_source(auth_client, playlist)

    # when
    services.source_probe(video_id=video.id)

    # then: failed, and nothing of /etc/passwd anywhere: the row, the answer, storage
    video.refresh_from_db()
    assert video.status == Status.FAILED
    row = json.dumps(Video.objects.filter(pk=video.pk).values().get(), default=str)
    assert secret not in row and "root:" not in row
    assert secret not in auth_client.get(f"/api/v1/videos/{video.id}").content.decode()
    assert stored_keys(video.storage_prefix) == [video.source_key]
    assert stored_bytes(video.source_key) == playlist


@pytest.mark.timeout(180)
def test_the_worker_probes_a_real_clip_and_fails_a_text_file(celery_worker, auth_client, media_factory):
    # given: both sent through the API; the commit queues their probes to the real worker
    clip = media_factory("clip.mp4", seconds=2, width=320, height=240).read_bytes()
    good = upload_source(auth_client, clip)
    bad = upload_source(auth_client, b"plain text pretending to be an mp4\n" * 30, content_type="video/mp4")

    # when
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        good.refresh_from_db()
        bad.refresh_from_db()
        good_done = good.status == Status.FAILED or (
            good.source_sha256 and not TranscodeJob.objects.filter(video=good, status__in=["queued", "running"])
        )
        if good_done and bad.status == Status.FAILED:
            break
        time.sleep(0.25)

    # then: the clip is probed (and goes on to transcoding), the text file failed with a reason
    assert good.failure_reason == ""
    assert good.status in (Status.UPLOADED, Status.PROCESSING, Status.READY)
    assert good.duration == pytest.approx(2.0, abs=0.2)
    assert (good.width, good.height) == (320, 240)
    assert good.source_sha256 == hashlib.sha256(clip).hexdigest()
    assert bad.status == Status.FAILED
    assert bad.failure_reason.strip()


# --- hostile metadata ------------------------------------------------------------------------------


def test_junk_stream_tags_do_not_crash_the_probe(auth_client, tmp_path):
    # given an Ogg clip whose video stream says rotate=junk and duration=soon
    clip = clips.ogg_with_stream_tags(tmp_path / "junk.ogg", rotate="junk", duration="soon")
    assert (
        '"rotate": "junk"'
        in subprocess.run(
            ["ffprobe", "-v", "error", "-show_streams", "-print_format", "json", str(clip)],
            capture_output=True,
            text=True,
        ).stdout
    )
    video = upload_source(auth_client, clip.read_bytes())

    # when
    services.source_probe(video_id=video.id, queue_transcode=False)

    # then it is probed like any clip: the junk counts as no rotation
    video.refresh_from_db()
    assert (video.status, video.failure_reason) == (Status.UPLOADED, "")
    assert (video.width, video.height, video.source_info["rotation"]) == (160, 120, 0)
    assert video.duration == pytest.approx(1.0, abs=0.2)


GOOD_STREAM = {"codec_type": "video", "codec_name": "h264", "width": 320, "height": 240, "avg_frame_rate": "25/1"}
GOOD_FORMAT = {"format_name": "mov,mp4", "duration": "2.0"}


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "text",
        {"streams": "many", "format": GOOD_FORMAT},
        {"streams": [None, 3, "x"], "format": GOOD_FORMAT},
        {"streams": [{**GOOD_STREAM, "width": "wide"}], "format": GOOD_FORMAT},
        {"streams": [{**GOOD_STREAM, "height": [1]}], "format": GOOD_FORMAT},
        {"streams": [{**GOOD_STREAM, "width": True}], "format": GOOD_FORMAT},
        {"streams": [GOOD_STREAM], "format": {**GOOD_FORMAT, "duration": "NaN"}},
        {"streams": [GOOD_STREAM], "format": {**GOOD_FORMAT, "duration": "1e999"}},
        {"streams": [GOOD_STREAM], "format": {**GOOD_FORMAT, "duration": {"s": 1}}},
        {"streams": [GOOD_STREAM], "format": {"duration": "2.0"}},
        {"streams": [GOOD_STREAM], "format": "mp4"},
        {"streams": [GOOD_STREAM]},
    ],
)
def test_malformed_probe_output_is_a_reason_never_a_crash(data):
    with pytest.raises(NotPlayableMedia) as refused:
        media_info(data)
    assert str(refused.value).endswith(".")


@pytest.mark.parametrize(
    "stream",
    [
        {**GOOD_STREAM, "tags": {"rotate": "junk"}},
        {**GOOD_STREAM, "tags": "rotate=90"},
        {**GOOD_STREAM, "side_data_list": [{"rotation": "sideways"}]},
        {**GOOD_STREAM, "side_data_list": "rotation"},
        {**GOOD_STREAM, "side_data_list": [None, {"rotation": 1e400}]},
        {**GOOD_STREAM, "avg_frame_rate": "1/0"},
        {**GOOD_STREAM, "avg_frame_rate": 25},
        {**GOOD_STREAM, "avg_frame_rate": "abc/def"},
        {**GOOD_STREAM, "codec_name": 264},
        {**GOOD_STREAM, "disposition": "yes"},
    ],
)
def test_junk_in_optional_fields_is_ignored(stream):
    info = media_info({"streams": [stream, {"codec_type": "audio", "codec_name": None}], "format": GOOD_FORMAT})
    assert (info.width, info.height, info.duration, info.rotation) == (320, 240, 2.0, 0)
    assert info.frame_rate in (0.0, 25.0)


def test_any_other_probe_error_fails_the_video_with_a_readable_reason(auth_client, monkeypatch):
    # given a probe that breaks in a way nobody foresaw
    def broken(path):
        raise RuntimeError(f"unexpected trouble reading {path}")

    monkeypatch.setattr(services, "probe", broken)
    video = upload_source(auth_client, b"whatever" * 100)

    # when
    services.source_probe(video_id=video.id)

    # then the video ends failed (not `uploaded` forever) with a sentence, not the exception
    video.refresh_from_db()
    assert (video.status, video.failure_reason) == (Status.FAILED, "The file could not be read as a video.")
