"""The staff admin for content, through Django's test client: the video list's queries, the upload
form (through the upload services), actions with their confirmation, edits through the services,
the content editor role, and the dashboard. The browser walk-through is test_admin_browser.py."""

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory
from testing.clients import signed_in_client
from videos.catalog import selectors, services
from videos.models import Category, Rendition, Tag, TranscodeJob, Video
from videos.roles import CONTENT_EDITORS
from videos.tests.conftest import admin_client, stored_keys
from videos.tests.factories import CategoryFactory, DraftVideoFactory, VideoFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:videos_video_changelist")
ADD = reverse("admin:videos_video_add")
Status, Visibility, Job = Video.Status, Video.Visibility, TranscodeJob.Status
# the management forms of the read-only inlines, which a change form posts back
NO_INLINE_FORMS = {
    f"{inline}-{count}": "0"
    for inline in ("captions", "renditions", "transcode_jobs")
    for count in ("TOTAL_FORMS", "INITIAL_FORMS")
}


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def run_action(client, action: str, videos, *, confirm: bool = True):
    data = {"action": action, "_selected_action": [str(video.pk) for video in videos]}
    if confirm:
        data["confirm"] = "yes"
    return client.post(CHANGELIST, data, follow=confirm)


def many_videos(count: int, owners: int = 5) -> None:
    """`count` videos of several owners and categories, a running job on some, in a few queries."""
    users = [UserFactory() for _ in range(owners)]
    categories = [CategoryFactory() for _ in range(3)]
    videos = Video.objects.bulk_create(
        Video(
            owner=users[n % owners],
            title=f"Video {n}",
            category=categories[n % 3] if n % 4 else None,
            status=Status.READY if n % 2 else Status.PROCESSING,
            visibility=Visibility.PUBLIC,
            duration=60.0 + n,
            hls_prefix=f"videos/x/hls/{n}/",
            poster_key=f"videos/x/hls/{n}/poster.jpg",
        )
        for n in range(count)
    )
    TranscodeJob.objects.bulk_create(
        TranscodeJob(video=video, status=Job.RUNNING, progress=0.5, profile="default")
        for video in videos
        if video.status == Status.PROCESSING
    )


# --- the list ---------------------------------------------------------------------------------------


def test_the_video_list_runs_the_same_queries_for_1000_videos_as_for_10(staff, django_assert_num_queries):
    many_videos(10)
    with django_assert_num_queries(QUERIES_PER_LIST_PAGE) as few:
        assert staff.get(CHANGELIST).status_code == 200
    many_videos(990)
    with django_assert_num_queries(QUERIES_PER_LIST_PAGE) as many:
        response = staff.get(CHANGELIST)
    assert response.status_code == 200
    assert len(few.captured_queries) == len(many.captured_queries)
    page = response.content.decode()
    assert "1000 videos" in page
    assert page.count('loading="lazy"') == 25  # the page's 50 rows: the ready half has a poster
    assert page.count("(transcoding 50%)") == 25


# session, user, category filter, owner filter, count, rows (with owner, category and the newest job's
# status and progress), and the date hierarchy's range and days
QUERIES_PER_LIST_PAGE = 8


def test_the_list_filters_by_status_owner_and_category_and_searches_owner_email(staff):
    owner, other = UserFactory(email="maker@example.com"), UserFactory()
    music = CategoryFactory(name="Music", slug="music")
    mine = VideoFactory(owner=owner, title="Mine", category=music)
    theirs = DraftVideoFactory(owner=other, title="Theirs")

    def titles(**params) -> set[str]:
        return {video.title for video in staff.get(CHANGELIST, params).context["cl"].result_list}

    assert titles(status__exact="ready") == {"Mine"}
    assert titles(status__exact="draft") == {"Theirs"}
    assert titles(owner__id__exact=str(other.pk)) == {"Theirs"}
    assert titles(category__id__exact=str(music.pk)) == {"Mine"}
    assert titles(q="maker@example") == {"Mine"}
    assert titles(visibility__exact="private") == {theirs.title}
    assert mine.title in titles()


def test_content_editors_see_owners_by_username_never_by_email(editor, superuser):
    # given a video whose owner has an email address
    owner = UserFactory(email="private.person@example.com", username="maker")
    video = VideoFactory(owner=owner, title="Mine")
    VideoFactory(owner=UserFactory(username="zed", email="zed.hidden@example.com"), title="Theirs")

    # when a content editor lists, filters, searches and opens videos
    listing = editor.get(CHANGELIST)
    change = editor.get(reverse("admin:videos_video_change", args=[video.pk]))
    confirmation = run_action(editor, "publish", [video], confirm=False)

    # then the owner shows as their username, and their email appears nowhere
    for page in (listing, change, confirmation):
        assert page.status_code == 200
        assert "maker" in page.content.decode()
        assert "private.person" not in page.content.decode() and "zed.hidden" not in page.content.decode()
    owner_filter = next(f for f in listing.context["cl"].filter_specs if f.field_path == "owner")
    assert [name for _, name in owner_filter.lookup_choices] == ["maker", "zed"]
    assert list(editor.get(CHANGELIST, {"q": "private.person"}).context["cl"].result_list) == []
    assert [v.title for v in editor.get(CHANGELIST, {"q": "maker"}).context["cl"].result_list] == ["Mine"]
    # while staff who may see users still find owners by email
    assert [
        v.title for v in admin_client(superuser).get(CHANGELIST, {"q": "private.person"}).context["cl"].result_list
    ] == ["Mine"]


# --- the upload form --------------------------------------------------------------------------------


def upload(client, path, **fields):
    with open(path, "rb") as handle:
        return client.post(ADD, {"source": handle, "visibility": "private", **fields})


def test_staff_upload_a_source_for_another_user_through_the_upload_services(
    staff, media_factory, django_capture_on_commit_callbacks, queued
):
    owner = UserFactory(email="creator@example.com")
    CategoryFactory(name="Talks", slug="talks")
    path = media_factory("admin-upload.mp4", seconds=1, width=320, height=180)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(
            staff,
            path,
            owner="Creator@Example.com",
            title="From the admin",
            tags="Cats, cats ,Dogs",
            category=Category.objects.get(slug="talks").pk,
        )
    video = Video.objects.get()
    assert response.status_code == 302 and response.url == reverse("admin:videos_video_change", args=[video.pk])
    assert (video.owner, video.title, video.status, video.visibility) == (
        owner,
        "From the admin",
        "uploaded",
        "private",
    )
    assert sorted(video.tags.values_list("name", flat=True)) == ["cats", "dogs"]
    assert video.category.slug == "talks"
    assert video.source_size == path.stat().st_size
    assert stored_keys(video.storage_prefix) == [video.source_key]
    assert queued == [("probe_source", str(video.pk))]  # then the worker probes and transcodes it
    assert selectors.catalog_search(query="admin").count() == 0  # private, not ready


def test_an_upload_without_an_owner_belongs_to_the_staff_member(staff, superuser, media_factory):
    response = upload(staff, media_factory("mine.mp4", seconds=1, width=320, height=180))
    video = Video.objects.get()
    assert response.status_code == 302
    assert video.owner == superuser and video.title.endswith("mine")  # the file name without extension


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"owner": "nobody@example.com"}, "owner", "No active user"),
        ({"tags": ",".join(f"t{n}" for n in range(21))}, "tags", "At most 20 tags."),
        ({"visibility": "everyone"}, "visibility", "Select a valid choice"),
        ({"title": "x" * 201}, "title", "at most 200 characters"),
    ],
)
def test_bad_upload_fields_show_the_form_again_and_store_nothing(staff, media_factory, fields, field, message):
    stored = stored_keys("videos/")
    response = upload(staff, media_factory("bad.mp4", seconds=1, width=320, height=180), **fields)
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors[field])
    assert not Video.objects.exists() and stored_keys("videos/") == stored


def test_content_editors_name_owners_by_username_and_cannot_probe_emails(editor, media_factory):
    # given an account with a known address
    owner = UserFactory(email="known@example.com", username="known")
    path = media_factory("editor.mp4", seconds=1, width=320, height=180)

    # when an editor names owners by email, existing or not, then by username
    errors = [
        upload(editor, path, owner=address).context["adminform"].form.errors["owner"]
        for address in ("known@example.com", "unknown@example.com")
    ]
    response = upload(editor, path, owner="Known")

    # then both addresses get the same answer, and the username works
    assert errors[0] == errors[1] == ["No active user with this username."]
    assert response.status_code == 302 and Video.objects.get().owner == owner


def test_an_upload_without_a_file_is_refused(staff):
    response = staff.post(ADD, {"title": "No file", "visibility": "private"})
    assert response.status_code == 200
    assert "This field is required." in response.context["adminform"].form.errors["source"]
    assert not Video.objects.exists()


@pytest.mark.parametrize("limit", ["VIDEO_MAX_UPLOAD_BYTES", "VIDEO_USER_QUOTA_BYTES"])
def test_an_upload_over_the_size_limit_or_quota_leaves_no_video_and_no_stored_object(
    staff, media_factory, settings, limit
):
    path = media_factory("big.mp4", seconds=1, width=320, height=180)
    setattr(settings, limit, path.stat().st_size - 1)
    stored = stored_keys("videos/")
    response = upload(staff, path, title="Too big")
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["source"]
    assert errors and ("limit" in errors[0] or "quota" in errors[0].lower()), errors
    assert not Video.objects.exists() and stored_keys("videos/") == stored


def test_only_staff_with_the_add_permission_may_upload(media_factory):
    viewer = admin_client(UserFactory())  # not staff: sent to the login page
    assert viewer.get(ADD).status_code == 302
    clerk = admin_client(UserFactory(is_staff=True))  # staff without permissions
    assert clerk.get(ADD).status_code == 403
    assert upload(clerk, media_factory("x.mp4", seconds=1, width=320, height=180)).status_code == 403
    assert not Video.objects.exists()


# --- the change form --------------------------------------------------------------------------------


def test_edits_go_through_the_service_so_tags_are_normalised_and_search_follows(staff):
    video = VideoFactory(title="Old title", tags=["one"])
    fresh = Tag.objects.create(name="fresh")
    data = {
        "title": "Zanzibar sunsets",
        "description": "",
        "category": "",
        "tags": [fresh.pk],
        "visibility": "public",
        **NO_INLINE_FORMS,
    }
    response = staff.post(reverse("admin:videos_video_change", args=[video.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    video.refresh_from_db()
    assert video.title == "Zanzibar sunsets" and list(video.tags.values_list("name", flat=True)) == ["fresh"]
    assert list(selectors.catalog_search(query="zanzibar")) == [video]


def test_an_edit_with_too_many_tags_is_refused_on_the_form_and_changes_nothing(staff):
    video = VideoFactory(title="Kept", tags=["one"])
    tags = [Tag.objects.create(name=f"t{n}").pk for n in range(21)]
    data = {
        "title": "Changed",
        "tags": tags,
        "visibility": "public",
        **NO_INLINE_FORMS,
    }
    response = staff.post(reverse("admin:videos_video_change", args=[video.pk]), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["tags"] == ["At most 20 tags."]
    video.refresh_from_db()
    assert video.title == "Kept" and list(video.tags.values_list("name", flat=True)) == ["one"]


def test_the_change_page_shows_source_renditions_failed_jobs_and_a_preview_of_a_ready_video(staff):
    video = VideoFactory(
        source_key="videos/x/source/abc",
        source_size=5_000_000,
        source_info={"container": "mov,mp4", "video_codec": "h264", "audio_codec": "aac"},
        hls_prefix="videos/x/hls/v1/",
        master_key="videos/x/hls/v1/master.m3u8",
        poster_key="videos/x/hls/v1/poster.jpg",
        storyboard_key="videos/x/hls/v1/storyboard/storyboard.vtt",
    )
    Rendition.objects.create(
        video=video, name="720p", width=1280, height=720, bandwidth=3_000_000, codecs="avc1", playlist_key="k"
    )
    TranscodeJob.objects.create(
        video=video, status=Job.FAILED, profile="default", error="ffmpeg failed.", log_tail="Invalid data <found>"
    )
    page = staff.get(reverse("admin:videos_video_change", args=[video.pk])).content.decode()
    assert "h264 + aac in mov,mp4, 4.8\xa0MB" in page
    assert "3,000 kbit/s" in page
    assert "Invalid data &lt;found&gt;" in page  # the log tail, escaped
    assert 'id="hls-preview"' in page and "vendor/hls.js/hls.min.js" in page
    assert re.search(r'data-src="http://testserver/api/v1/playback/[^"]+/master\.m3u8"', page)
    assert reverse("admin:videos_video_poster", args=[video.pk]) in page


def test_the_poster_link_redirects_staff_to_a_signed_url_and_404s_without_a_poster(staff, editor):
    ready = VideoFactory(hls_prefix="videos/x/hls/v1/", poster_key="videos/x/hls/v1/poster.jpg")
    draft = DraftVideoFactory()
    for client in (staff, editor):
        response = client.get(reverse("admin:videos_video_poster", args=[ready.pk]))
        assert response.status_code == 302 and re.match(
            r"http://testserver/api/v1/playback/.+/poster\.jpg$", response.url
        )
    assert staff.get(reverse("admin:videos_video_poster", args=[draft.pk])).status_code == 404
    assert staff.get(reverse("admin:videos_video_poster", args=["not-a-uuid"])).status_code == 404
    assert (
        admin_client(UserFactory(is_staff=True)).get(reverse("admin:videos_video_poster", args=[ready.pk])).status_code
        == 404
    )


# --- actions ----------------------------------------------------------------------------------------


def test_retranscode_asks_first_then_queues_through_the_service_and_says_what_was_refused(
    staff, django_capture_on_commit_callbacks
):
    with_source = VideoFactory(title="Has source", source_key="videos/x/source/abc")
    without = DraftVideoFactory(title="No source")
    asked = run_action(staff, "retranscode", [with_source, without], confirm=False)
    assert asked.status_code == 200 and b"Yes, I\xe2\x80\x99m sure" in asked.content
    assert b"Has source" in asked.content and not TranscodeJob.objects.exists()
    only_refused = messages_of(run_action(staff, "retranscode", [without]))
    assert len(only_refused) == 1 and only_refused[0].startswith("Not queued:")  # no "0 videos" success
    with django_capture_on_commit_callbacks() as callbacks:
        done = run_action(staff, "retranscode", [with_source, without])
    assert list(TranscodeJob.objects.values_list("video_id", "status")) == [(with_source.pk, Job.QUEUED)]
    assert len(callbacks) == 1  # the Celery task, sent after commit
    said = messages_of(done)
    assert "Queued a re-transcode of 1 video." in said
    assert any("No source" in message and "no source to transcode" in message for message in said)


def test_publish_unpublish_and_feature_change_only_what_needs_it_and_say_so(staff):
    ready = VideoFactory(visibility=Visibility.PRIVATE, published_at=None, title="Ready")
    public = VideoFactory(title="Already public")
    said = messages_of(run_action(staff, "publish", [ready, public]))
    ready.refresh_from_db()
    assert ready.visibility == Visibility.PUBLIC and ready.published_at is not None  # via the service
    assert said == ["Published 1 video; 1 was already public."]
    assert messages_of(run_action(staff, "unpublish", [ready]))[0] == "Unpublished 1 video."
    assert Video.objects.get(pk=ready.pk).visibility == Visibility.PRIVATE
    assert messages_of(run_action(staff, "feature", [ready, public]))[0] == "Featured 2 videos."
    assert set(Video.objects.filter(is_featured=True)) == {ready, public}
    assert messages_of(run_action(staff, "unfeature", [public]))[0] == "Unfeatured 1 video."
    assert list(Video.objects.filter(is_featured=True)) == [ready]


def test_the_catalog_filters_featured_videos(staff, api_client):
    featured, plain = VideoFactory(is_featured=True), VideoFactory()
    body = api_client.get("/api/v1/videos", {"featured": "true"}).json()
    assert [item["id"] for item in body["results"]] == [str(featured.pk)]
    assert body["results"][0]["is_featured"] is True
    assert [item["id"] for item in api_client.get("/api/v1/videos", {"featured": "false"}).json()["results"]] == [
        str(plain.pk)
    ]
    assert api_client.get("/api/v1/videos", {"featured": "maybe"}).status_code == 400


def test_an_action_without_confirmation_changes_nothing(staff):
    video = VideoFactory(visibility=Visibility.PRIVATE)
    for action in ("publish", "unpublish", "feature", "unfeature", "retranscode"):
        assert run_action(staff, action, [video], confirm=False).status_code == 200
    video.refresh_from_db()
    assert (video.visibility, video.is_featured, video.transcode_jobs.count()) == (Visibility.PRIVATE, False, 0)


def test_delete_asks_then_deletes_through_the_service_which_cleans_storage(
    staff, queued, django_capture_on_commit_callbacks
):
    videos = [VideoFactory(), VideoFactory()]
    asked = staff.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [str(v.pk) for v in videos]})
    assert asked.status_code == 200 and Video.objects.count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            CHANGELIST,
            {"action": "delete_selected", "post": "yes", "_selected_action": [str(v.pk) for v in videos]},
            follow=True,
        )
    assert "Successfully deleted 2 videos." in messages_of(response)
    assert not Video.objects.exists()
    # one storage clean-up task per video (run by the worker; see test_catalog for what it removes)
    assert sorted(queued) == sorted(("delete_video_storage", str(v.pk)) for v in videos)


def test_delete_from_the_change_page_goes_through_the_service(staff, queued, django_capture_on_commit_callbacks):
    video = VideoFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(reverse("admin:videos_video_delete", args=[video.pk]), {"post": "yes"})
    assert response.status_code == 302 and not Video.objects.exists()
    assert queued == [("delete_video_storage", str(video.pk))]


# --- categories, tags, roles, dashboard -----------------------------------------------------------------


def test_category_slugs_are_prepopulated_and_tags_are_stored_lowercased(staff):
    page = staff.get(reverse("admin:videos_category_add")).content.decode()
    assert "prepopulate_init.js" in page and "&quot;#id_slug&quot;" in page and "&quot;#id_name&quot;" in page
    response = staff.post(reverse("admin:videos_tag_add"), {"name": "  Cats "})
    assert response.status_code == 302 and list(Tag.objects.values_list("name", flat=True)) == ["cats"]
    category = staff.post(reverse("admin:videos_category_add"), {"name": "Music", "slug": "Music"})
    assert category.status_code == 302 and list(Category.objects.values_list("slug", flat=True)) == ["music"]
    for name, slug in (("MUSIC", "other"), ("Other", "MUSIC")):
        twin = staff.post(reverse("admin:videos_category_add"), {"name": name, "slug": slug})
        assert twin.status_code == 200 and twin.context["adminform"].form.errors, (name, slug)
    assert Category.objects.count() == 1
    again = staff.post(reverse("admin:videos_tag_add"), {"name": "CATS"})
    assert again.status_code == 200 and "already exists" in str(again.context["adminform"].form.errors["name"])
    assert Tag.objects.count() == 1


def test_renaming_or_deleting_a_tag_keeps_search_in_step(staff):
    video = VideoFactory(title="Evening walk", tags=["cats"])
    tag = Tag.objects.get(name="cats")
    assert list(selectors.catalog_search(query="cats")) == [video]
    response = staff.post(reverse("admin:videos_tag_change", args=[tag.pk]), {"name": "Felines"})
    assert response.status_code == 302
    assert list(selectors.catalog_search(query="felines")) == [video]
    assert list(selectors.catalog_search(query="cats")) == []
    response = staff.post(reverse("admin:videos_tag_delete", args=[tag.pk]), {"post": "yes"})
    assert response.status_code == 302 and not Tag.objects.exists()
    assert list(selectors.catalog_search(query="felines")) == []


def test_a_content_editor_manages_videos_but_gets_403_on_users_and_sessions(editor):
    video = VideoFactory(visibility=Visibility.PRIVATE)
    assert editor.get(CHANGELIST).status_code == 200
    assert editor.get(reverse("admin:videos_video_change", args=[video.pk])).status_code == 200
    assert editor.get(ADD).status_code == 200
    assert editor.get(reverse("admin:videos_category_add")).status_code == 200
    assert run_action(editor, "publish", [video]).status_code == 200
    assert Video.objects.get(pk=video.pk).visibility == Visibility.PUBLIC
    for name in ("accounts_user", "sessions_app_devicesession", "accounts_outboundemail"):
        assert editor.get(reverse(f"admin:{name}_changelist")).status_code == 403, name
    user = UserFactory()
    assert editor.get(reverse("admin:accounts_user_change", args=[user.pk])).status_code == 403


def test_the_admin_index_shows_videos_by_status_jobs_and_storage(staff):
    VideoFactory(source_size=1_000_000, derived_size=500_000)
    DraftVideoFactory()
    failed = DraftVideoFactory(status=Status.FAILED)
    TranscodeJob.objects.create(video=failed, status=Job.FAILED, profile="default", finished_at=timezone.now())
    old = DraftVideoFactory(status=Status.FAILED)
    TranscodeJob.objects.create(
        video=old, status=Job.FAILED, profile="default", finished_at=timezone.now() - timezone.timedelta(days=2)
    )
    stats = selectors.staff_dashboard()
    assert dict((status, count) for status, _, count in stats["videos"]) == {
        "draft": 1,
        "uploaded": 0,
        "processing": 0,
        "ready": 1,
        "failed": 2,
    }
    assert stats["jobs"] == {"queued": 0, "running": 0, "failed_24h": 1, "succeeded_24h": 0}
    assert stats["stored_bytes"] == 1_500_000
    page = staff.get(reverse("admin:index")).content.decode()
    assert 'id="video-dashboard"' in page and "1.4\xa0MB" in page
    assert admin_client(UserFactory(is_staff=True)).get(reverse("admin:index")).content.count(b"video-dashboard") == 0


def test_the_api_follows_the_same_permissions_as_the_admin():
    """A content editor manages anyone's video through the API but not users; staff without
    permissions have no staff powers at all (private videos stay "not found")."""
    editor_user = UserFactory(is_staff=True)
    editor_user.groups.add(Group.objects.get(name=CONTENT_EDITORS))
    editor, clerk = signed_in_client(editor_user), signed_in_client(UserFactory(is_staff=True))
    video = DraftVideoFactory(title="Private draft")
    url = f"/api/v1/videos/{video.pk}"

    assert clerk.get(url).status_code == 404
    assert clerk.patch(url, {"title": "Taken over"}, format="json").status_code == 404
    assert editor.get(url).status_code == 200
    assert editor.patch(url, {"title": "Edited by staff"}, format="json").status_code == 200
    assert Video.objects.get(pk=video.pk).title == "Edited by staff"

    for client in (editor, clerk):
        assert client.get("/api/v1/users").status_code == 403
        assert (
            client.post(
                "/api/v1/users",
                {"email": "sneaky@example.com", "username": "sneaky", "password": "x" * 20},
                format="json",
            ).status_code
            == 403
        )
        assert client.post(f"/api/v1/users/{video.owner_id}/deactivate").status_code == 403
    assert Video.objects.get(pk=video.pk).owner.is_active
    assert not User.objects.filter(email="sneaky@example.com").exists()


def test_an_edit_writes_only_what_changed_so_a_stale_copy_loses_nothing():
    """Admin actions and forms hand `video_update` a copy read a moment earlier; a worker may have
    published a new version or a view been counted since: those columns must survive."""
    video = VideoFactory(title="Old", hls_prefix="videos/x/hls/v1/", view_count=1)
    stale = Video.objects.get(pk=video.pk)
    Video.objects.filter(pk=video.pk).update(hls_prefix="videos/x/hls/v2/", view_count=F("view_count") + 1)
    services.video_update(video=stale, title="New", is_featured=True, tags=["fresh"])
    video.refresh_from_db()
    assert (video.title, video.is_featured, video.hls_prefix, video.view_count) == ("New", True, "videos/x/hls/v2/", 2)
    assert list(video.tags.values_list("name", flat=True)) == ["fresh"]


def test_an_action_on_all_1005_filtered_videos_confirms_without_posting_1005_ids(staff):
    many_videos(1005)
    private = VideoFactory(visibility=Visibility.PRIVATE, title="Stays private")
    # "select all": the page's rows are ticked (one is enough here) and select_across is set
    one = str(Video.objects.filter(visibility=Visibility.PUBLIC).first().pk)
    select_all = {"action": "unpublish", "select_across": "1", "_selected_action": [one]}
    asked = staff.post(CHANGELIST + "?visibility__exact=public", {**select_all, "index": "0"})
    assert asked.status_code == 200
    page = asked.content.decode()
    assert 'name="select_across" value="1"' in page and page.count('name="_selected_action"') == 1
    assert page.count("<li>") >= 1005  # the question still lists every video
    done = staff.post(CHANGELIST + "?visibility__exact=public", {**select_all, "confirm": "yes"}, follow=True)
    assert messages_of(done) == ["Unpublished 1005 videos."]
    assert not Video.objects.filter(visibility=Visibility.PUBLIC).exists()
    assert Video.objects.get(pk=private.pk).title == "Stays private"


def test_the_users_api_asks_each_action_for_its_own_permission():
    reader = UserFactory(is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_user", content_type__app_label="accounts"))
    client = signed_in_client(reader)
    assert client.get("/api/v1/users").status_code == 200
    assert client.get(f"/api/v1/users/{reader.pk}").status_code == 200
    new = {"email": "new@example.com", "username": "newbie", "password": "a-long-passphrase-42"}
    assert client.post("/api/v1/users", new, format="json").status_code == 403
    assert client.post(f"/api/v1/users/{reader.pk}/deactivate").status_code == 403
    assert not User.objects.filter(email="new@example.com").exists()
