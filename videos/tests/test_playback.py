"""Playback: signed URLs that any HLS player can use, on S3 and on the filesystem; progress,
history and view counts."""

import base64
import json
import threading
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

from accounts.tests.factories import UserFactory
from sessions_app.models import DeviceSession
from sessions_app.services import sessions_revoke_for_user
from testing import images as test_images
from testing.clients import assert_error, signed_in_client
from videos import keys
from videos.catalog.services import poster_set
from videos.models import Rendition, Video, WatchProgress
from videos.pipeline import jobs
from videos.tests.conftest import stored_keys, transcoded_video
from videos.tests.factories import DraftVideoFactory, VideoFactory

pytestmark = pytest.mark.django_db

MASTER = '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.64001e"\n360p/index.m3u8\n'
VARIANT = (
    "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n"
    '#EXT-X-MAP:URI="init_0.mp4"\n#EXTINF:4.000000,\nseg_00000.m4s\n#EXTINF:2.000000,\nseg_00001.m4s\n#EXT-X-ENDLIST\n'
)
VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nsprite_001.jpg#xywh=0,0,160,90\n"
SEGMENT = bytes(range(256)) * 40  # 10240 bytes


def published(video: Video) -> Video:
    """Gives a video a small published HLS version (files written straight to storage)."""
    prefix = f"{video.storage_prefix}hls/test-1/"
    files = {
        "master.m3u8": MASTER,
        "360p/index.m3u8": VARIANT,
        "360p/init_0.mp4": b"init" * 10,
        "360p/seg_00000.m4s": SEGMENT,
        "360p/seg_00001.m4s": SEGMENT[::-1],
        "poster.jpg": b"\xff\xd8poster",
        "storyboard/storyboard.vtt": VTT,
        "storyboard/sprite_001.jpg": b"\xff\xd8sprite",
    }
    for name, content in files.items():
        default_storage.save(prefix + name, ContentFile(content.encode() if isinstance(content, str) else content))
    Rendition.objects.create(
        video=video, name="360p", width=640, height=360, bandwidth=800000, codecs="avc1.64001e", playlist_key=""
    )
    Video.objects.filter(pk=video.pk).update(
        hls_prefix=prefix,
        master_key=prefix + "master.m3u8",
        poster_key=prefix + "poster.jpg",
        storyboard_key=prefix + "storyboard/storyboard.vtt",
    )
    video.refresh_from_db()
    return video


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def fetch(client, url: str, **headers):
    """What a player does with a URL: the API's through the test client, S3's over HTTP."""
    if url.startswith("http://testserver"):
        return client.get(local(url), **headers)
    answer = requests.get(url, headers={k.removeprefix("HTTP_").title(): v for k, v in headers.items()}, timeout=10)
    answer.content_bytes = answer.content
    return answer


def body(response) -> bytes:
    return (
        getattr(response, "content_bytes", None) or b"".join(response.streaming_content)
        if hasattr(response, "streaming_content")
        else response.content
    )


@pytest.fixture
def owner_client():
    return signed_in_client(UserFactory())


@pytest.fixture
def private_video(owner_client, backend):
    return published(VideoFactory(owner=owner_client.user, visibility=Video.Visibility.PRIVATE))


def playback(client, video):
    return client.get(f"/api/v1/videos/{video.pk}/playback")


# --- the playback answer and the signed files ------------------------------------------------------


def test_a_private_video_plays_for_its_owner_through_signed_urls(owner_client, private_video, backend, api_client):
    # given the owner asks for playback
    answer = playback(owner_client, private_video)
    assert answer.status_code == 200, answer.content
    urls = answer.json()
    assert urls["expires_at"] and urls["renditions"][0]["name"] == "360p"
    # when a player with no credentials follows the master playlist
    master = api_client.get(local(urls["master_url"]))
    assert master.status_code == 200
    assert master["Content-Type"] == "application/vnd.apple.mpegurl"
    assert "360p/index.m3u8" in master.content.decode()
    variant_url = urls["master_url"].replace("master.m3u8", "360p/index.m3u8")
    variant = api_client.get(local(variant_url)).content.decode()
    # then every media URI resolves to the stored bytes: presigned S3 URLs, or API paths
    media = [line for line in variant.splitlines() if line and not line.startswith("#")]
    assert len(media) == 2
    if backend == "s3":
        assert all(uri.startswith("http") and "Signature" in uri for uri in media)
        assert 'URI="http' in variant
        assert requests.get(media[0], timeout=10).content == SEGMENT
    else:
        assert media == ["seg_00000.m4s", "seg_00001.m4s"]
        segment = api_client.get(local(variant_url.replace("index.m3u8", media[0])))
        assert b"".join(segment.streaming_content) == SEGMENT
    poster = fetch(api_client, urls["poster_url"])
    assert poster.status_code in (200, 302)


def test_the_storyboard_points_into_the_sprites(owner_client, private_video, backend, api_client):
    urls = playback(owner_client, private_video).json()
    vtt = api_client.get(local(urls["storyboard_url"]))
    assert vtt.status_code == 200 and vtt["Content-Type"] == "text/vtt"
    cue = vtt.content.decode().splitlines()[3]
    assert cue.endswith("#xywh=0,0,160,90")
    assert cue.startswith("http") if backend == "s3" else cue.startswith("sprite_001.jpg")


def test_another_user_cannot_get_a_private_videos_playback(private_video, auth_client, api_client):
    assert_error(playback(auth_client, private_video), 404, "not_found")
    assert_error(playback(api_client, private_video), 404, "not_found")


def test_an_unlisted_video_plays_for_anyone_with_the_link(api_client, backend):
    video = published(VideoFactory(visibility=Video.Visibility.UNLISTED))
    urls = playback(api_client, video).json()
    assert api_client.get(local(urls["master_url"])).status_code == 200


def test_a_video_that_is_not_ready_has_no_playback(owner_client):
    draft = DraftVideoFactory(owner=owner_client.user)
    assert_error(playback(owner_client, draft), 409, "video_not_ready")


def test_a_token_for_one_video_never_opens_another(owner_client, private_video, api_client):
    # given a second video of the same owner and a token for the first
    other = published(VideoFactory(owner=owner_client.user, visibility=Video.Visibility.PRIVATE))
    token = urlsplit(playback(owner_client, private_video).json()["master_url"]).path.split("/")[4]
    # when the token is used with the other video's paths, or the other's id is spliced in
    response = api_client.get(f"/api/v1/playback/{token}/../../{other.pk}/master.m3u8")
    assert response.status_code in (403, 404)
    payload, signature = token.split(":", 1)  # payload, then timestamp and signature
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "v": str(other.pk)}).encode()).decode().rstrip("=")
    spliced = f"{forged}:{signature}"
    assert_error(api_client.get(f"/api/v1/playback/{spliced}/master.m3u8"), 403, "playback_token_invalid")


def test_tampered_and_expired_tokens_are_refused(owner_client, private_video, api_client, settings):
    master = local(playback(owner_client, private_video).json()["master_url"])
    head, token, tail = master.rsplit("/", 2)[0], master.split("/")[4], "master.m3u8"
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert_error(api_client.get(f"{head}/{tampered}/{tail}"), 403, "playback_token_invalid")
    assert_error(api_client.get(f"{head}/garbage/{tail}"), 403, "playback_token_invalid")
    settings.PLAYBACK_TOKEN_TTL = timedelta(seconds=-1)
    expired = local(playback(owner_client, private_video).json()["master_url"])
    assert_error(api_client.get(expired), 403, "playback_token_expired")


def test_a_token_dies_with_its_viewers_access(owner_client, private_video, api_client):
    master = local(playback(owner_client, private_video).json()["master_url"])
    Video.objects.filter(pk=private_video.pk).update(owner=UserFactory())  # no longer theirs
    assert_error(api_client.get(master), 403, "playback_token_invalid")


@pytest.mark.parametrize("end", ["logout", "password_reset", "revoke"])
def test_a_token_dies_with_the_session_it_was_issued_to(
    end, owner_client, private_video, api_client, django_capture_on_commit_callbacks
):
    # given a signed-in viewer's playback URL, and one from another session of theirs
    master = local(playback(owner_client, private_video).json()["master_url"])
    other = signed_in_client(owner_client.user)
    other_master = local(playback(other, private_video).json()["master_url"])
    assert api_client.get(master).status_code == 200

    # when that session ends (its revocation reaches the session cache on commit)
    with django_capture_on_commit_callbacks(execute=True):
        if end == "logout":
            assert owner_client.post("/api/v1/auth/logout").status_code in (200, 204)
        elif end == "password_reset":
            sessions_revoke_for_user(user=owner_client.user, reason=DeviceSession.RevokeReason.PASSWORD_RESET)
        else:
            assert other.delete(f"/api/v1/sessions/{owner_client.device_session.pk}").status_code == 204

    # then its token is refused at the next playlist fetch; the other session's lives unless it ended too
    assert_error(api_client.get(master), 403, "playback_token_invalid")
    assert api_client.get(other_master).status_code == (403 if end == "password_reset" else 200)


@pytest.mark.parametrize(
    "path", ["../../etc/passwd", "360p/../../source/x.mp4", "source.bin", "360p/index.m3u8%00", "720p/index.m3u8"]
)
def test_only_files_of_the_published_version_are_served(owner_client, private_video, api_client, path):
    token = local(playback(owner_client, private_video).json()["master_url"]).split("/")[4]
    response = api_client.get(f"/api/v1/playback/{token}/{path}")
    assert response.status_code == 404


def test_segments_are_served_with_ranges_on_the_filesystem(owner_client, settings, tmp_path, api_client):
    # given filesystem storage
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    video = published(VideoFactory(owner=owner_client.user, visibility=Video.Visibility.PRIVATE))
    segment = local(playback(owner_client, video).json()["master_url"]).replace("master.m3u8", "360p/seg_00000.m4s")
    # when a player asks for ranges
    whole = api_client.get(segment)
    first = api_client.get(segment, HTTP_RANGE="bytes=0-99")
    last = api_client.get(segment, HTTP_RANGE="bytes=-10")
    open_ended = api_client.get(segment, HTTP_RANGE="bytes=10200-")
    beyond = api_client.get(segment, HTTP_RANGE="bytes=999999-")
    garbage = api_client.get(segment, HTTP_RANGE="pages=1-2")
    # then the answers are exact
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    assert b"".join(whole.streaming_content) == SEGMENT
    assert first.status_code == 206 and first["Content-Range"] == f"bytes 0-99/{len(SEGMENT)}"
    assert b"".join(first.streaming_content) == SEGMENT[:100]
    assert b"".join(last.streaming_content) == SEGMENT[-10:]
    assert last["Content-Range"] == f"bytes {len(SEGMENT) - 10}-{len(SEGMENT) - 1}/{len(SEGMENT)}"
    assert b"".join(open_ended.streaming_content) == SEGMENT[10200:]
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(SEGMENT)}"
    assert_error(garbage, 416, "range_not_satisfiable")
    assert whole["Access-Control-Allow-Origin"] == "*"


def test_public_videos_use_the_public_base_url_when_configured(api_client, settings):
    settings.PLAYBACK_PUBLIC_BASE_URL = "https://cdn.example.com/media"
    video = published(VideoFactory())
    urls = playback(api_client, video).json()
    assert urls["master_url"] == f"https://cdn.example.com/media/{video.master_key}"
    assert urls["expires_at"] is None


def test_a_public_video_made_private_moves_its_files_off_the_public_urls(
    owner_client, backend, settings, django_capture_on_commit_callbacks
):
    # given a public video whose files were handed out as plain public URLs
    settings.PLAYBACK_PUBLIC_BASE_URL = "https://cdn.example.com/media"
    video = published(VideoFactory(owner=owner_client.user))
    poster_set(video=video, data=test_images.picture(640, 360))
    old_master, old_poster = video.master_key, keys.poster_prefix(video.pk, video.custom_poster_id)
    assert playback(owner_client, video).json()["master_url"].endswith(old_master)
    assert stored_keys(old_poster)

    # when its owner makes it private, which queues the move after commit, and the task runs
    with django_capture_on_commit_callbacks() as queued:
        response = owner_client.patch(f"/api/v1/videos/{video.pk}", {"visibility": "private"}, format="json")
    assert response.status_code == 200 and len(queued) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.version_move(video_id=video.pk) is True

    # then nothing is left under the old keys, and the video plays from its new ones, signed
    video.refresh_from_db()
    assert video.master_key != old_master and not default_storage.exists(old_master)
    assert stored_keys(old_master.rsplit("/", 1)[0] + "/") == []
    master = playback(owner_client, video).json()["master_url"]
    assert "/playback/" in master and fetch(owner_client, master).status_code == 200
    assert Rendition.objects.get(video=video).playlist_key.startswith(video.hls_prefix)
    # and the uploaded poster moved too: the old URLs are gone, the new ones hold the same widths
    assert stored_keys(old_poster) == []
    assert [key.rsplit("/", 1)[1] for key in stored_keys(keys.poster_prefix(video.pk, video.custom_poster_id))] == [
        f"{width}.webp" for width in video.custom_poster_widths
    ]


def test_a_really_transcoded_video_plays_through_its_signed_urls(owner_client, media_factory, backend, api_client):
    # given a clip that went through the real pipeline
    video = transcoded_video(owner_client.user, media_factory("playback.mp4", seconds=3, width=640, height=360))
    # when the player follows the master playlist to the first segment
    urls = playback(owner_client, video).json()
    master = api_client.get(local(urls["master_url"])).content.decode()
    variant_path = next(line for line in master.splitlines() if line.endswith(".m3u8"))
    variant_url = urls["master_url"].replace("master.m3u8", variant_path)
    variant = api_client.get(local(variant_url)).content.decode()
    first = next(line for line in variant.splitlines() if line and not line.startswith("#"))
    segment = fetch(api_client, first if first.startswith("http") else variant_url.rsplit("/", 1)[0] + "/" + first)
    # then it gets the segment as stored
    stored = default_storage.open(
        Video.objects.get(pk=video.pk).hls_prefix + variant_path.rsplit("/", 1)[0] + "/seg_00000.m4s"
    ).read()
    assert body(segment) == stored


# --- progress, history, views ---------------------------------------------------------------------


def test_progress_is_one_row_per_viewer_and_completes_past_95_percent(auth_client):
    video = VideoFactory(duration=100.0)
    for position in (5, 42.5):
        assert (
            auth_client.put(f"/api/v1/videos/{video.pk}/progress", {"position": position}, format="json").status_code
            == 204
        )
    row = WatchProgress.objects.get(user=auth_client.user, video=video)
    assert (row.position, row.completed) == (42.5, False)
    auth_client.put(f"/api/v1/videos/{video.pk}/progress", {"position": 96}, format="json")
    row.refresh_from_db()
    assert row.completed is True
    assert WatchProgress.objects.filter(user=auth_client.user).count() == 1


def test_continue_watching_and_history(auth_client):
    started, finished, hidden = VideoFactory(duration=100), VideoFactory(duration=100), VideoFactory(duration=100)
    for video, position in ((started, 30), (finished, 99), (hidden, 10)):
        auth_client.put(f"/api/v1/videos/{video.pk}/progress", {"position": position}, format="json")
    Video.objects.filter(pk=hidden.pk).update(visibility=Video.Visibility.PRIVATE)  # no longer theirs to see
    watching = auth_client.get("/api/v1/me/continue-watching").json()["results"]
    assert [(item["video"]["id"], item["position"]) for item in watching] == [(str(started.pk), 30.0)]
    history = auth_client.get("/api/v1/me/history").json()["results"]
    assert {item["video"]["id"] for item in history} == {str(started.pk), str(finished.pk)}
    assert auth_client.delete(f"/api/v1/me/history/{started.pk}").status_code == 204
    assert len(auth_client.get("/api/v1/me/history").json()["results"]) == 1
    assert auth_client.delete("/api/v1/me/history").status_code == 204
    assert auth_client.get("/api/v1/me/history").json()["results"] == []


def test_history_shows_only_what_the_viewer_may_still_see(auth_client):
    # given a viewer who watched someone's public video
    video = VideoFactory(duration=100, title="Holiday")
    auth_client.put(f"/api/v1/videos/{video.pk}/progress", {"position": 99}, format="json")
    # when the owner makes it private and renames it
    Video.objects.filter(pk=video.pk).update(visibility=Video.Visibility.PRIVATE, title="Secret plans")
    # then the viewer's history shows nothing of it, while its owner's still does
    assert auth_client.get("/api/v1/me/history").json()["results"] == []
    owner = signed_in_client(video.owner)
    owner.put(f"/api/v1/videos/{video.pk}/progress", {"position": 10}, format="json")
    assert [item["video"]["title"] for item in owner.get("/api/v1/me/history").json()["results"]] == ["Secret plans"]
    # and it comes back if the video is shown again
    Video.objects.filter(pk=video.pk).update(visibility=Video.Visibility.UNLISTED)
    assert len(auth_client.get("/api/v1/me/history").json()["results"]) == 1


@pytest.mark.parametrize("position", [-1, "soon", None, 10**9])
def test_bad_progress_is_refused(auth_client, position):
    video = VideoFactory()
    response = auth_client.put(f"/api/v1/videos/{video.pk}/progress", {"position": position}, format="json")
    assert_error(response, 400, "validation_error")
    assert not WatchProgress.objects.exists()


def test_progress_needs_a_viewer_and_a_visible_video(auth_client, api_client):
    private = VideoFactory(visibility=Video.Visibility.PRIVATE)
    assert_error(
        auth_client.put(f"/api/v1/videos/{private.pk}/progress", {"position": 1}, format="json"), 404, "not_found"
    )
    assert_error(
        api_client.put(f"/api/v1/videos/{VideoFactory().pk}/progress", {"position": 1}, format="json"),
        401,
        "not_authenticated",
    )


def test_a_view_counts_once_per_viewer_per_window_after_ten_seconds(api_client, auth_client):
    video = VideoFactory()
    url = f"/api/v1/videos/{video.pk}/views"
    api_client.post(url, {"watched_seconds": 5}, format="json", REMOTE_ADDR="203.0.113.1")
    for _ in range(3):
        api_client.post(url, {"watched_seconds": 12}, format="json", REMOTE_ADDR="203.0.113.1")
    api_client.post(url, {"watched_seconds": 30}, format="json", REMOTE_ADDR="203.0.113.2")
    auth_client.put(f"/api/v1/videos/{video.pk}/progress", {"position": 15}, format="json")
    auth_client.put(f"/api/v1/videos/{video.pk}/progress", {"position": 25}, format="json")
    video.refresh_from_db()
    assert video.view_count == 3  # two anonymous viewers and one signed-in viewer
    assert api_client.get(f"/api/v1/videos/{video.pk}").json()["view_count"] == 3


def test_an_anonymous_viewer_is_one_ip_whatever_the_user_agent(api_client):
    # given one address rotating its User-Agent
    video = VideoFactory()
    for number in range(5):
        api_client.post(
            f"/api/v1/videos/{video.pk}/views",
            {"watched_seconds": 30},
            format="json",
            REMOTE_ADDR="203.0.113.7",
            HTTP_USER_AGENT=f"Player/{number}",
        )
    # then it counted once
    video.refresh_from_db()
    assert video.view_count == 1


def test_anonymous_view_reports_are_throttled_per_ip(api_client, auth_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "views": "3/hour"},
    }
    videos = VideoFactory.create_batch(5)

    def report(client, video, ip):
        return client.post(f"/api/v1/videos/{video.pk}/views", {"watched_seconds": 30}, format="json", REMOTE_ADDR=ip)

    # when one anonymous address reports views of five videos
    answers = [report(api_client, video, "203.0.113.8").status_code for video in videos]
    # then the fourth and fifth are refused, and counted nowhere
    assert answers == [204, 204, 204, 429, 429]
    assert sorted(Video.objects.filter(pk__in=[v.pk for v in videos]).values_list("view_count", flat=True)) == [
        0,
        0,
        1,
        1,
        1,
    ]
    assert_error(report(api_client, videos[0], "203.0.113.8"), 429, "throttled")
    # while another address, and a signed-in viewer on the same one, still report
    assert report(api_client, videos[4], "203.0.113.9").status_code == 204
    assert report(auth_client, videos[4], "203.0.113.8").status_code == 204


@pytest.mark.django_db(transaction=True)
def test_concurrent_progress_updates_leave_one_row_each_and_exact_view_counts():
    # given 20 viewers and one video
    video = VideoFactory(duration=600.0)
    clients = [signed_in_client(UserFactory()) for _ in range(20)]
    barrier = threading.Barrier(40)
    failures = []

    def viewer(client, offset):
        try:
            barrier.wait(timeout=30)
            for step in range(5):  # 20 viewers x 2 threads x 5 = 200 updates
                response = client.put(
                    f"/api/v1/videos/{video.pk}/progress", {"position": 11 + offset + step}, format="json"
                )
                if response.status_code != 204:
                    failures.append(response.status_code)
        finally:
            connection.close()

    # when each viewer sends updates from two threads at once
    threads = [threading.Thread(target=viewer, args=(c, o)) for c in clients for o in (0, 100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # then nothing failed, each viewer has one row, and each was counted once
    assert failures == []
    assert WatchProgress.objects.filter(video=video).count() == 20
    assert set(WatchProgress.objects.values_list("user_id", flat=True)) == {c.user.pk for c in clients}
    video.refresh_from_db()
    assert video.view_count == 20


def test_tokens_are_issued_per_step_and_still_expire_on_time(settings, monkeypatch):
    from videos.playback import signing

    # given a 6 h lifetime (a 5 min step)
    settings.PLAYBACK_TOKEN_TTL = timedelta(hours=6)
    video, now = VideoFactory(), 1_800_000_000 + 17
    monkeypatch.setattr(signing.time, "time", lambda: now)
    first, expires = signing.issue_token(video=video, user=None)

    # when it is issued again later in the same step, and in the next one
    monkeypatch.setattr(signing.time, "time", lambda: now + 200)
    same, _ = signing.issue_token(video=video, user=None)
    monkeypatch.setattr(signing.time, "time", lambda: now + 300)
    later, _ = signing.issue_token(video=video, user=None)

    # then one step gives one token, it expires at most a step early, and it reads as before
    assert same == first != later
    assert now + 6 * 3600 - 300 < expires.timestamp() <= now + 6 * 3600
    assert signing.read_token(first).video_id == str(video.pk)
    monkeypatch.setattr(signing.time, "time", lambda: expires.timestamp() + 1)
    with pytest.raises(signing.PlaybackTokenExpired):
        signing.read_token(first)
