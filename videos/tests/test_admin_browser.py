"""The admin as staff use it, in a real browser: Debian's headless Chromium, driven by Playwright,
against the live test server and a real Celery worker (S3 on moto, PostgreSQL, real ffmpeg).

A staff member signs in, uploads a generated clip through the add form, watches the job go to
`ready`, plays the change page's HLS preview past 1 s, re-transcodes the video with the list
action, and revokes a viewer's sessions, whose token the API then refuses. Screenshots of the list
and the change page go to test-artifacts/ (git-ignored).

Playwright's sync API runs an event loop, and Django's ORM refuses to run beside one, so every
query of the test happens before the browser opens or after it closes; in between the test reads
what the pages show, as staff would."""

import re
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings

from accounts.tests.factories import TEST_PASSWORD, UserFactory
from sessions_app.models import DeviceSession
from testing import browser as browser_tools
from testing.clients import signed_in_client
from videos.models import TranscodeJob, Video
from videos.tests.conftest import cross_origin_reads

pytestmark = pytest.mark.django_db(transaction=True)  # the live server and the worker must see the rows

ARTIFACTS = Path(django_settings.BASE_DIR) / "test-artifacts"
READY_TIMEOUT = 120  # seconds for the worker to probe and transcode the clip
PLAY_TIMEOUT = 40  # seconds for the preview to start and pass 1 s


@pytest.fixture
def browser_tools_present():
    problems = browser_tools.missing_browser_tools()
    if problems:
        pytest.fail("The browser test cannot run:\n  " + "\n  ".join(problems), pytrace=False)


def wait_for_page(page, url: str, condition, *, timeout: float, what: str) -> list[str]:
    """Reloads `url` until `condition(page)` returns true; the status texts seen on the way."""
    seen, deadline = [], time.monotonic() + timeout
    while True:
        page.goto(url)
        status = page.locator(".field-status_with_progress .readonly").inner_text().strip()
        if not seen or seen[-1] != status:
            seen.append(status)
        if condition(page):
            return seen
        assert "Failed" not in status, f"the video failed while waiting for {what}: {seen}"
        assert time.monotonic() < deadline, f"no {what} within {timeout}s; statuses seen: {seen}"
        time.sleep(1)


def succeeded_jobs(page) -> int:
    return page.locator("#transcode_jobs-group tbody tr.has_original", has_text="Succeeded").count()


def run_list_action(page, changelist_url: str, object_id: str, action: str) -> str:
    """Ticks one row, runs the action, confirms it; the message the admin answers with."""
    page.goto(changelist_url)
    page.check(f"input[name=_selected_action][value='{object_id}']")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    page.click("input[type=submit][value*='sure']")  # the confirmation page
    return page.locator("ul.messagelist li").first.inner_text()


def test_staff_upload_watch_preview_retranscode_and_revoke_in_the_admin(
    live_server, celery_worker, browser_tools_present, s3_bucket, media_factory
):
    # given a staff member with a password, a viewer signed in on the API, and a generated clip
    staff = UserFactory(is_staff=True, is_superuser=True)
    viewer = signed_in_client(UserFactory(email="viewer@example.com"))
    me = f"{live_server.url}/api/v1/users/me"
    viewer_auth = {"Authorization": f"Bearer {viewer.tokens.access}", "Connection": "close"}
    assert requests.get(me, headers=viewer_auth, timeout=10).status_code == 200
    clip = media_factory("admin-browser.mp4", seconds=6, width=640, height=360)
    admin = f"{live_server.url}/admin/"
    videos = f"{admin}videos/video/"

    ARTIFACTS.mkdir(exist_ok=True)
    with cross_origin_reads(s3_bucket, live_server.url), browser_tools.chromium() as chromium:
        page = chromium.new_page(viewport={"width": 1280, "height": 1000})
        try:
            # when the staff member signs in and uploads the clip through the add form
            page.goto(f"{admin}login/?next=/admin/")
            page.fill("#id_username", staff.email)
            page.fill("#id_password", TEST_PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(admin)
            assert page.locator("#video-dashboard").is_visible()
            page.goto(f"{videos}add/")
            page.set_input_files("#id_source", str(clip))
            page.fill("#id_title", "Clip from the admin")
            page.click("input[name=_save]")
            page.wait_for_url(re.compile(r".*/admin/videos/video/[0-9a-f-]{36}/change/$"))
            video_id = page.url.rstrip("/").split("/")[-2]
            change_url = page.url
            assert "Uploaded “Clip from the admin”" in page.locator("ul.messagelist").inner_text()

            # then the job runs to ready, as the change page shows
            statuses = wait_for_page(
                page, change_url, lambda p: succeeded_jobs(p) == 1, timeout=READY_TIMEOUT, what="a ready video"
            )
            assert statuses[-1] == "Ready" and len(statuses) >= 2, statuses
            renditions = page.locator("#renditions-group tbody tr.has_original").count()

            # and the HLS preview plays past 1 s
            page.evaluate("document.getElementById('hls-preview').play()")
            page.wait_for_function(
                "document.getElementById('hls-preview').currentTime > 1", timeout=PLAY_TIMEOUT * 1000
            )
            preview_time = page.evaluate("document.getElementById('hls-preview').currentTime")
            page.screenshot(path=str(ARTIFACTS / "admin-video-change.png"), full_page=True)
            page.goto(videos)
            page.wait_for_function(  # the row's poster thumbnail, through the admin's poster link
                "[...document.querySelectorAll('.field-poster img')].some((i) => i.complete && i.naturalWidth > 0)",
                timeout=10_000,
            )
            page.screenshot(path=str(ARTIFACTS / "admin-video-list.png"), full_page=True)
            assert page.locator(f"input[name=_selected_action][value='{video_id}']").is_visible()

            # when the video is re-transcoded from the list
            queued = run_list_action(page, videos, video_id, "retranscode")
            after_retranscode = wait_for_page(
                page, change_url, lambda p: succeeded_jobs(p) == 2, timeout=READY_TIMEOUT, what="the second job"
            )

            # and the viewer's sessions are revoked from the user list
            revoked = run_list_action(
                page, f"{admin}accounts/user/?q=viewer%40example.com", str(viewer.user.pk), "revoke_all_sessions"
            )
        finally:
            page.screenshot(path=str(ARTIFACTS / "admin-last-page.png"), full_page=True)

    assert preview_time > 1
    assert queued == "Queued a re-transcode of 1 video."
    assert after_retranscode[-1] == "Ready", after_retranscode
    assert revoked == "Revoked 1 session of 1 user."
    # then the viewer's token is refused at once
    refused = requests.get(me, headers=viewer_auth, timeout=10)
    assert refused.status_code == 401, refused.text
    # and the rows say the same: one ready video with two finished jobs, its ladder, a revoked session
    video = Video.objects.get(pk=video_id)
    assert (video.owner, video.status, video.renditions.count()) == (staff, Video.Status.READY, renditions)
    assert renditions == 1  # 360p: never above the source
    assert list(video.transcode_jobs.values_list("status", flat=True)) == [TranscodeJob.Status.SUCCEEDED] * 2
    assert list(DeviceSession.objects.filter(user=viewer.user).values_list("revoke_reason", flat=True)) == [
        DeviceSession.RevokeReason.STAFF
    ]
