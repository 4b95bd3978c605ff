"""Playback in a real browser: Debian's headless Chromium, driven by Playwright, plays a really
transcoded private video with hls.js through its signed playback URL alone (no cookies, no
headers), on S3 and on the filesystem, past 3 seconds and across a forced rendition switch, and
shows its caption track's cue at 5 s on time.

Needs /usr/bin/chromium and node_modules/hls.js, which `make test` installs; without them the test
fails (it never skips). A screenshot per backend goes to test-artifacts/ (git-ignored)."""

import time
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings

from accounts.tests.factories import UserFactory
from testing import browser as browser_tools
from testing.browser import HlsPlayer, harmless_player_error
from testing.clients import signed_in_client
from videos.captions.services import caption_create
from videos.models import Video
from videos.tests.conftest import cross_origin_reads, transcoded_video

pytestmark = pytest.mark.django_db(transaction=True)  # the live server's thread must see the rows

ARTIFACTS = Path(django_settings.BASE_DIR) / "test-artifacts"
CUE_TEXT = "Five seconds in"
CUES = f"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nOne\n\n00:00:05.000 --> 00:00:06.500\n{CUE_TEXT}\n".encode()
PLAY_TIMEOUT = 40  # seconds for the player to start and reach 3 s of an 8 s clip
SWITCH_TIMEOUT = 15  # seconds for a forced rendition switch to show on screen


@pytest.fixture
def browser_tools_present():
    """Fails (never skips) when Chromium, hls.js or Playwright is missing, before any work is done."""
    problems = browser_tools.missing_browser_tools()
    if problems:
        pytest.fail("The browser test cannot run:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def bucket_cors(backend, s3_bucket, live_server):
    if backend != "s3":
        yield
        return
    with cross_origin_reads(s3_bucket, live_server.url):
        yield


def transcoded_private_video(owner, media_factory) -> Video:
    """An 8 s 854x480 clip with audio through the real pipeline: rungs 480p and 360p."""
    path = media_factory("browser.mp4", seconds=8, width=854, height=480)
    return transcoded_video(owner, path, visibility=Video.Visibility.PRIVATE)


def test_hls_js_in_chromium_plays_a_private_video_through_its_signed_url(
    backend, live_server, browser_tools_present, bucket_cors, media_factory
):
    timings = {}
    started = time.monotonic()
    # given a really transcoded private video, and its owner's playback answer from the live server
    owner = signed_in_client(UserFactory())
    video = transcoded_private_video(owner.user, media_factory)
    assert {r.name for r in video.renditions.all()} == {"480p", "360p"}
    # with two caption tracks, added after the transcode (none needs another): a cue at 5.0 s
    caption_create(video=video, language="en", label="English", kind="captions", is_default=True, content=CUES)
    caption_create(video=video, language="fr", label="Français", kind="subtitles", content=CUES)
    timings["transcode"] = time.monotonic() - started
    answer = requests.get(
        f"{live_server.url}/api/v1/videos/{video.pk}/playback",
        # no keep-alive: the live server's thread would hold its database connection past the test
        headers={"Authorization": f"Bearer {owner.tokens.access}", "Connection": "close"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    master_url = answer.json()["master_url"]
    assert master_url.startswith(f"{live_server.url}/api/v1/playback/")

    # when hls.js in Chromium, on the API's origin, gets that URL and nothing else (the browser
    # opens only now: Playwright's sync API runs an event loop, and Django's ORM refuses to run
    # beside one, so every query of the test happens before or in the live server's thread)
    with browser_tools.chromium() as chromium:
        page = chromium.new_page(viewport={"width": 854, "height": 520})
        page.goto(f"{live_server.url}/health/live")
        player = HlsPlayer(page)
        try:
            player.start(master_url)
            playing = player.wait_for("video.currentTime >= 3", timeout=PLAY_TIMEOUT, what="playback to reach 3 s")
            timings["to 3 s"] = time.monotonic() - started - timings["transcode"]
            assert not [e for e in playing["errors"] if e["fatal"]], player.report()
            # and is made to switch to the other rendition
            assert playing["levelCount"] >= 2, player.report()
            target = next(level for level in range(playing["levelCount"]) if level != playing["currentLevel"])
            position, seen = playing["currentTime"], len(playing["switches"])
            player.switch_level(target)
            after = player.wait_for(
                f"player.switches.slice({seen}).some((s) => s.level === {target})"
                f" && video.videoHeight === hls.levels[{target}].height"
                f" && (video.currentTime > {position} + 0.5 || video.ended)",
                timeout=SWITCH_TIMEOUT,
                what=f"a switch to level {target} while playback goes on",
            )
            timings["switch"] = time.monotonic() - started - timings["transcode"] - timings["to 3 s"]
            # and plays on to the cue at 5.0 s, which the default track shows then
            cued = player.wait_for(
                f"player.cues.some((cue) => cue.text === {CUE_TEXT!r})", timeout=PLAY_TIMEOUT, what="the cue at 5 s"
            )
            report = player.report()
            cookies = page.context.cookies()
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"browser-playback-{backend}.png"))

    # then it played on, with no player error but harmless stalls, through both renditions
    assert after["currentTime"] >= 3 and after["currentTime"] > position, report
    assert after["mediaError"] is None, report
    errors = [e for e in after["errors"] if not harmless_player_error(e)]
    assert not errors, report
    assert sorted(level["height"] for level in after["levels"]) == [360, 480], report
    assert {fragment["level"] for fragment in after["fragments"]} >= {target}, report
    assert after["videoHeight"] == after["levels"][target]["height"], report  # the picture changed too
    # with the URLs alone: no cookies, no credentials; media from S3 (presigned) or the API (token path)
    assert cookies == [], cookies
    assert not [r for r in player.requests if {"authorization", "cookie"} & r["headers"].keys()], report
    media = [fragment["url"] for fragment in after["fragments"] if fragment["type"] != "subtitle"]
    if backend == "s3":
        endpoint = django_settings.STORAGES["default"]["OPTIONS"]["endpoint_url"]
        assert all(url.startswith(endpoint) and "Signature=" in url for url in media), media
    else:
        assert all(url.startswith(master_url.rsplit("/", 1)[0] + "/") for url in media), media
    # and the player listed both subtitle tracks of the master playlist, and showed the cue on time
    assert cued["subtitleTracks"] == [
        {"name": "English", "lang": "en", "default": True, "forced": False},
        {"name": "Français", "lang": "fr", "default": False, "forced": False},
    ], report
    cue = next(cue for cue in cued["cues"] if cue["text"] == CUE_TEXT)
    assert cue["label"] == "English" and cue["mode"] == "showing", cued["cues"]
    assert abs(cue["start"] - 5.0) <= 0.2 and abs(cue["end"] - 6.5) <= 0.2, cue
    assert abs(cue["at"] - 5.0) <= 0.2, cue  # on screen when the video was at 5.0 s
    # through the API's token path (the VTT is served with its timestamp map), as everything under a token
    subtitles = [fragment["url"] for fragment in cued["fragments"] if fragment["type"] == "subtitle"]
    assert subtitles and all(url.startswith(master_url.rsplit("/", 1)[0] + "/captions/") for url in subtitles)
    harmless = [e["details"] for e in after["errors"]]
    print(
        f"\n{backend}: {', '.join(f'{k} {v:.1f}s' for k, v in timings.items())}; cue shown at {cue['at']:.2f} s;"
        f" harmless errors: {harmless}"
    )
