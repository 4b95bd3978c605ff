"""The read cache of anonymous answers (vod.response_cache) on the real Redis: hits cost no SQL,
every write that changes an answer shows on the next anonymous read, signed-in viewers and
non-public videos never share a cached body, entries die before the signed URLs inside them,
junk cannot fill the cache; ETags and conditional GETs; Cache-Control and Vary."""

import time
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.tests.factories import PlanFactory, SubscriptionFactory, UserFactory
from testing.clients import signed_in_client
from videos.catalog import services as catalog_services
from videos.library import services as library_services
from videos.models import Category, Follow, Playlist, Tag, Video
from videos.playback import signing as playback_signing
from videos.playback import viewer_state
from videos.tests.conftest import admin_client
from videos.tests.factories import CategoryFactory, VideoFactory
from videos.tests.test_admin import run_action
from vod import response_cache

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("cheap_password_hashing", "read_cache")]

VIDEOS = "/api/v1/videos"
CHANNELS = "/api/v1/channels"
CATEGORIES = "/api/v1/categories"


def video(**fields) -> Video:
    fields.setdefault("title", "Plain clip")
    fields.setdefault("description", "")
    return VideoFactory(**fields)


def with_poster(**fields) -> Video:
    """A ready video with a published version, so its answers carry signed poster URLs."""
    prefix = f"videos/{uuid.uuid4()}/v1/"
    return video(hls_prefix=prefix, master_key=prefix + "master.m3u8", poster_key=prefix + "poster.jpg", **fields)


def queries(client, url, **headers) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    return response, len(captured)


def entries() -> list[bytes]:
    """The stored answers in Redis (not the generation counter, throttles or due bumps)."""
    return list(cache._cache.get_client().scan_iter(match="*anon-cache:entry:*"))


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Runs a write as if its transaction committed: the test's own transaction never does."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_the_tests_use_the_real_redis():
    assert settings.CACHES["default"]["BACKEND"] == "vod.redis_cache.RedisCache"


def test_the_cache_reuses_one_redis_client_across_calls():
    # Django's own backend builds a client per call (vod.redis_cache says why that matters)
    clients = [cache._cache.get_client(), cache._cache.get_client("key", write=True), cache._cache.get_client()]
    assert len({id(client) for client in clients}) == 1
    assert cache.set("reused", 1) is None and cache.get("reused") == 1


# --- hits ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        VIDEOS,
        f"{VIDEOS}/",
        f"{VIDEOS}?q=plain&ordering=relevance&limit=5",
        f"{VIDEOS}?ordering=most_viewed&tag=music",
        "detail",
        CATEGORIES,
        f"{CHANNELS}/maker",
        f"{CHANNELS}/maker/videos?ordering=newest",
        f"{CHANNELS}/maker/playlists",
    ],
)
def test_a_repeated_anonymous_read_is_served_from_the_cache_without_sql(path):
    # given a channel with a public video (tagged) and a public playlist
    owner = UserFactory(username="maker")
    shown = with_poster(owner=owner, tags=["music"])
    library_services.playlist_create(owner=owner, title="Mix", visibility=Playlist.Visibility.PUBLIC)
    CategoryFactory()
    url = f"{VIDEOS}/{shown.pk}" if path == "detail" else path
    client = APIClient()

    # when it is read twice
    first, first_queries = queries(client, url)
    second, second_queries = queries(client, url)

    # then the second answer is the first's bytes, without a query, and says so to a CDN
    assert first.status_code == 200, first.content
    assert first_queries > 0 and second_queries == 0
    assert second.content == first.content and second["ETag"] == first["ETag"]
    assert settings.ANON_CACHE_MAX_AGE < settings.ANON_CACHE_SECONDS  # the defaults: a CDN keeps it less
    assert first["Cache-Control"] == f"public, max-age={settings.ANON_CACHE_MAX_AGE}"
    assert second["Cache-Control"].startswith("public, max-age=")
    assert 0 <= int(second["Cache-Control"].rpartition("=")[2]) <= settings.ANON_CACHE_MAX_AGE
    for response in (first, second):
        assert {"Accept", "Authorization", "Cookie"} <= {v.strip() for v in response["Vary"].split(",")}
        assert response["Content-Type"] == "application/json"


def test_a_hit_is_one_round_trip_to_the_cache(monkeypatch):
    # given a cached list
    video()
    client = APIClient()
    client.get(VIDEOS)
    calls = []

    def counted(name, real):
        def call(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)

        return call

    for name in ("get", "get_many", "set", "add", "incr", "delete"):
        monkeypatch.setattr(cache, name, counted(name, getattr(cache, name)))

    # when it is read again, then one multi-get fetched the generation and the entry
    assert queries(client, VIDEOS)[1] == 0
    assert calls == ["get_many"]


def test_the_trailing_slash_and_the_order_of_parameters_share_one_entry():
    video(tags=["music"])
    client = APIClient()
    assert client.get(f"{VIDEOS}?tag=music&limit=5").status_code == 200
    assert queries(client, f"{VIDEOS}/?limit=5&tag=music")[1] == 0
    assert len(entries()) == 1


def test_other_parameters_values_and_formats_get_their_own_entries():
    # given a cached list
    video(title="Alpha"), video(title="Beta", tags=["x"])
    client = APIClient()
    everything = client.get(VIDEOS).json()

    # then another filter, page size or indentation is not answered from it
    assert [v["title"] for v in client.get(f"{VIDEOS}?tag=x").json()["results"]] == ["Beta"]
    assert len(client.get(f"{VIDEOS}?limit=1").json()["results"]) == 1
    indented = client.get(VIDEOS, HTTP_ACCEPT="application/json; indent=4")
    assert indented.content.startswith(b"{\n    ") and indented.json() == everything
    assert client.get(VIDEOS).json() == everything
    assert len(entries()) == 4


def test_the_next_link_of_a_cached_page_is_the_requests_host():
    for _ in range(3):
        video()
    client = APIClient()
    page = client.get(f"{VIDEOS}?limit=2", HTTP_HOST="testserver").json()
    assert urlsplit(page["next"]).netloc == "testserver"
    other = client.get(f"{VIDEOS}?limit=2", HTTP_HOST="localhost").json()
    assert urlsplit(other["next"]).netloc == "localhost"


# --- who shares a cached answer ------------------------------------------------------------------


def test_a_signed_in_viewer_gets_their_own_fields_never_the_anonymous_ones():
    # given a public video the viewer liked, and the anonymous list and detail cached
    shown = with_poster()
    viewer = signed_in_client(UserFactory())
    library_services.rating_set(user=viewer.user, video=shown, value="like")
    anonymous = APIClient()
    anonymous_list = anonymous.get(VIDEOS)
    anonymous.get(f"{VIDEOS}/{shown.pk}")
    assert anonymous_list.json()["results"][0]["my_rating"] is None

    # when the viewer reads both
    mine, mine_queries = queries(viewer, VIDEOS)
    detail, detail_queries = queries(viewer, f"{VIDEOS}/{shown.pk}")

    # then their answers are computed for them (their rating), private, not stored
    assert mine_queries > 0 and detail_queries > 0
    assert mine.json()["results"][0]["my_rating"] == "like" and detail.json()["my_rating"] == "like"
    assert mine["Cache-Control"] == detail["Cache-Control"] == "private, no-cache"
    assert len(entries()) == 2
    # and anonymous viewers still get the anonymous body
    assert anonymous.get(VIDEOS).json()["results"][0]["my_rating"] is None


def test_the_owner_of_a_video_gets_their_own_fields_after_an_anonymous_read():
    owner = signed_in_client(UserFactory())
    mine = video(owner=owner.user)
    assert "source_size" not in APIClient().get(f"{VIDEOS}/{mine.pk}").json()
    answer = owner.get(f"{VIDEOS}/{mine.pk}")
    assert "source_size" in answer.json() and answer["Cache-Control"] == "private, no-cache"


def test_a_session_cookie_gets_the_shared_page_privately():
    # the API authenticates no one by cookie: the answer is the anonymous one, but not for a CDN to keep
    video()
    client = APIClient()
    shared = client.get(VIDEOS)
    client.cookies[settings.SESSION_COOKIE_NAME] = "whatever"
    response, count = queries(client, VIDEOS)
    assert count == 0 and response.content == shared.content and response["Cache-Control"] == "private, no-cache"


# --- signed-in pages from the shared one ------------------------------------------------------------


@pytest.fixture
def gated_page():
    """A page with a free video the viewer liked, one they disliked, a gold video (their plan), a
    silver one (not theirs), and their own silver one; and a signed-in subscriber to gold."""
    viewer = signed_in_client(UserFactory())
    gold, silver = PlanFactory(code="gold"), PlanFactory(code="silver")
    SubscriptionFactory(user=viewer.user, plan=gold)
    liked, disliked = with_poster(title="Liked"), with_poster(title="Disliked")
    library_services.rating_set(user=viewer.user, video=liked, value="like")
    library_services.rating_set(user=viewer.user, video=disliked, value="dislike")
    for title, plan, owner in (("Gold", gold, None), ("Silver", silver, None), ("Mine", silver, viewer.user)):
        shown = with_poster(title=title, **({"owner": owner} if owner else {}))
        catalog_services.video_update(video=shown, required_plans=[plan.code])
    return viewer


def _without_posters(answer) -> list[dict]:
    return [{k: v for k, v in row.items() if not k.startswith("poster_url")} for row in answer.json()["results"]]


def _poster_viewer(row: dict) -> str:
    """Whom the token in a poster URL was signed for ("" for no one)."""
    token = resolve(urlsplit(row["poster_url"]).path).kwargs["token"]
    return str(playback_signing.read_token(token).user_id or "")


@pytest.mark.parametrize("cached", ["hit", "miss"])
def test_a_signed_in_page_is_the_shared_one_with_the_viewers_fields(gated_page, settings, cached):
    # given the viewer's page computed for them alone (as with the cache off)
    viewer = gated_page
    settings.ANON_CACHE_SECONDS = 0
    computed, computed_queries = queries(viewer, VIDEOS)
    settings.ANON_CACHE_SECONDS = 300
    if cached == "hit":
        APIClient().get(VIDEOS)

    # when they read it with the shared page in the cache, or first of anyone
    mine, mine_queries = queries(viewer, VIDEOS)

    # then it says what the computed one says (rating, access: granted through their plan and as owner)
    by_title = {row["title"]: row for row in mine.json()["results"]}
    assert _without_posters(mine) == _without_posters(computed)
    assert {title: row["access"] for title, row in by_title.items()} == {
        "Liked": "free",
        "Disliked": "free",
        "Gold": "granted",
        "Silver": "locked",
        "Mine": "granted",
    }
    assert (by_title["Liked"]["my_rating"], by_title["Disliked"]["my_rating"]) == ("like", "dislike")
    # and the posters of what is granted to them are signed for them (a token for no one opens no
    # gated video); the others are the shared ones
    viewer_id = str(viewer.user.pk)
    assert [_poster_viewer(by_title[t]) for t in ("Gold", "Mine")] == [viewer_id, viewer_id]
    assert [_poster_viewer(by_title[t]) for t in ("Liked", "Silver")] == ["", ""]
    # and it is private; the shared page is stored once, anonymous viewers get it without SQL
    assert mine["Cache-Control"] == "private, no-cache" and len(entries()) == 1
    anonymous, anonymous_queries = queries(APIClient(), VIDEOS)
    assert anonymous_queries == 0 and {row["my_rating"] for row in anonymous.json()["results"]} == {None}
    if cached == "hit":
        assert mine_queries < computed_queries


def test_staff_who_may_view_videos_are_granted_every_gated_video_on_the_shared_page(gated_page, superuser):
    APIClient().get(VIDEOS)
    staff = signed_in_client(superuser)
    assert {row["title"]: row["access"] for row in staff.get(VIDEOS).json()["results"]} == {
        "Liked": "free",
        "Disliked": "free",
        "Gold": "granted",
        "Silver": "granted",
        "Mine": "granted",
    }


def test_filtering_by_access_is_computed_for_the_viewer_and_not_stored(gated_page):
    viewer = gated_page
    APIClient().get(VIDEOS)
    granted = viewer.get(VIDEOS, {"access": "granted"})
    assert sorted(row["title"] for row in granted.json()["results"]) == ["Gold", "Mine"]
    assert APIClient().get(VIDEOS, {"access": "granted"}).json()["results"] == []
    assert len(entries()) == 2  # the page and the anonymous `access=granted`; not the viewer's


def test_a_like_shows_at_once_on_the_likers_page_served_from_the_shared_one(committed):
    shown = video()
    viewer = signed_in_client(UserFactory())
    APIClient().get(VIDEOS)
    viewer.get(VIDEOS)
    with committed():
        library_services.rating_set(user=viewer.user, video=shown, value="like")
    assert viewer.get(VIDEOS).json()["results"][0]["my_rating"] == "like"


def test_a_signed_in_page_is_computed_and_given_the_viewers_fields_while_redis_is_unreachable(gated_page, monkeypatch):
    # given a read cache that refuses every call (sign-in's session check keeps its own cache)
    viewer = gated_page

    class Unreachable:
        def __getattr__(self, name):
            def refuse(*args, **kwargs):
                raise redis.exceptions.ConnectionError("down")

            return refuse

    monkeypatch.setattr(response_cache, "cache", Unreachable())
    response = viewer.get(VIDEOS)
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-cache"
    by_title = {row["title"]: (row["access"], row["my_rating"]) for row in response.json()["results"]}
    assert by_title == {
        "Liked": ("free", "like"),
        "Disliked": ("free", "dislike"),
        "Gold": ("granted", None),
        "Silver": ("locked", None),
        "Mine": ("granted", None),
    }
    monkeypatch.undo()
    assert entries() == []


@pytest.mark.parametrize(
    ("query", "status"), [({"cursor": "junk"}, 404), ({"ordering": "junk"}, 400), ({"limit": "0"}, 400)]
)
def test_a_signed_in_read_of_a_bad_page_gets_the_error_and_stores_nothing(gated_page, query, status):
    response = gated_page.get(VIDEOS, query)
    assert response.status_code == status and "code" in response.json()
    assert entries() == []


def test_an_unlisted_videos_detail_is_private_and_never_stored():
    # given an unlisted video
    shown = with_poster(visibility=Video.Visibility.UNLISTED)
    client = APIClient()

    # when anyone with the link reads it twice
    first, _ = queries(client, f"{VIDEOS}/{shown.pk}")
    second, second_queries = queries(client, f"{VIDEOS}/{shown.pk}")

    # then it is answered, privately, computed each time
    assert first.status_code == second.status_code == 200
    assert first["Cache-Control"] == "private, no-cache" and second_queries > 0
    assert entries() == []


def test_a_gated_videos_anonymous_detail_is_shared_but_a_subscriber_gets_their_own():
    # given a public video a plan unlocks, and a subscriber to that plan
    shown = with_poster()
    gold = PlanFactory(code="gold")
    catalog_services.video_update(video=shown, required_plans=[gold.code])
    subscriber = signed_in_client(UserFactory())
    SubscriptionFactory(user=subscriber.user, plan=gold)
    url = f"{VIDEOS}/{shown.pk}"

    # when anonymous viewers read it twice, then the subscriber
    first, _ = queries(APIClient(), url)
    second, second_queries = queries(APIClient(), url)
    theirs = subscriber.get(url)

    # then anonymous viewers share one locked answer (as the list pages show it), the subscriber's is
    # computed for them and says granted
    assert first.json()["access"] == "locked" and second_queries == 0 and second.content == first.content
    assert first["Cache-Control"].startswith("public, max-age=") and len(entries()) == 1
    assert theirs.json()["access"] == "granted" and theirs["Cache-Control"] == "private, no-cache"


def test_a_private_videos_detail_is_never_cached_for_anonymous_viewers():
    owner = signed_in_client(UserFactory())
    hidden = video(owner=owner.user, visibility=Video.Visibility.PRIVATE)
    assert owner.get(f"{VIDEOS}/{hidden.pk}").status_code == 200
    for _ in range(2):
        assert APIClient().get(f"{VIDEOS}/{hidden.pk}").status_code == 404
    assert entries() == []


def test_errors_are_not_cached():
    client = APIClient()
    assert client.get(f"{VIDEOS}?limit=0").status_code == 400
    assert client.get(f"{CHANNELS}/nobody").status_code == 404
    assert entries() == []


# --- signed URLs and abuse -----------------------------------------------------------------------


def test_a_cached_entry_never_outlives_the_signed_urls_inside_it(settings):
    # given playback tokens that live 2 minutes and a cache asked to keep answers an hour
    settings.PLAYBACK_TOKEN_TTL = timedelta(minutes=2)
    settings.ANON_CACHE_SECONDS = 3600
    shown = with_poster()

    # when the detail is cached
    body = APIClient().get(f"{VIDEOS}/{shown.pk}").json()

    # then the entry (and what a CDN is told) lives at most half the token's life, and the token
    # in the poster URL outlives it
    token = urlsplit(body["poster_url"]).path.split("/")[4]
    expires = signing.loads(token, salt="videos.playback")["e"]
    [key] = entries()
    entry_ttl = cache._cache.get_client().ttl(key)
    assert 0 < entry_ttl <= 60
    assert expires - time.time() >= 2 * entry_ttl - 2
    cached = APIClient().get(f"{VIDEOS}/{shown.pk}")
    assert int(cached["Cache-Control"].rpartition("=")[2]) <= 60


def test_junk_query_strings_are_answered_but_not_stored():
    video()
    client = APIClient()
    for n in range(20):
        assert client.get(f"{VIDEOS}?utm_source={n}").status_code == 200
    assert client.get(f"{VIDEOS}?q={'a' * 150}&tag={'b' * 1000}").status_code == 200
    assert client.get(VIDEOS + "?q=%F0%9F%8E%AC&tag=%00").status_code in (200, 400)
    assert len(entries()) <= 1  # the last one, when it is a 200
    assert queries(client, f"{VIDEOS}?utm_source=0")[1] > 0


def test_keys_are_fixed_length_hashes_whatever_the_request():
    video()
    APIClient().get(f"{VIDEOS}?q={'é' * 200}")
    [key] = entries()
    assert len(key) < 120


def test_the_setting_turns_the_cache_off(settings):
    settings.ANON_CACHE_SECONDS = 0
    video()
    client = APIClient()
    first = client.get(VIDEOS)
    second, count = queries(client, VIDEOS)
    assert count > 0 and entries() == []
    assert first["Cache-Control"] == "public, no-cache" and first["ETag"] == second["ETag"]


def test_a_lost_generation_never_revives_old_entries():
    video(title="Before")
    client = APIClient()
    client.get(VIDEOS)
    old = response_cache.generation()
    cache.delete(response_cache.GENERATION_KEY)
    assert response_cache.generation() > old
    assert queries(client, VIDEOS)[1] > 0


# --- ETag and conditional GET --------------------------------------------------------------------


@pytest.mark.parametrize("target", ["list", "detail"])
def test_a_matching_if_none_match_is_a_304_without_a_body(target):
    shown = with_poster()
    url = VIDEOS if target == "list" else f"{VIDEOS}/{shown.pk}"
    client = APIClient()
    etag = client.get(url)["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        answer, count = queries(client, url, HTTP_IF_NONE_MATCH=header)
        assert answer.status_code == 304 and answer.content == b"" and count == 0
        assert answer["ETag"] == etag and answer["Cache-Control"].startswith("public")
        assert "Authorization" in answer["Vary"]


def test_a_signed_in_viewer_gets_an_etag_of_their_body_and_304s(settings):
    settings.PLAYBACK_PUBLIC_BASE_URL = "https://cdn.example.com"  # no per-request signatures in the body
    shown = video()
    viewer = signed_in_client(UserFactory())
    library_services.rating_set(user=viewer.user, video=shown, value="like")
    first = viewer.get(f"{VIDEOS}/{shown.pk}")
    assert first["ETag"] != APIClient().get(f"{VIDEOS}/{shown.pk}", HTTP_HOST="localhost")["ETag"]
    again = viewer.get(f"{VIDEOS}/{shown.pk}", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b"" and again["Cache-Control"] == "private, no-cache"
    listed = viewer.get(VIDEOS)
    assert viewer.get(VIDEOS, HTTP_IF_NONE_MATCH=listed["ETag"]).status_code == 304


def test_signed_poster_urls_hold_still_so_a_page_with_posters_304s(monkeypatch):
    # given a signed-in viewer and a video whose answers carry poster URLs signed for them
    shown = with_poster()
    viewer = signed_in_client(UserFactory())
    step_start = int(time.time()) // 300 * 300  # the default 6 h lifetime's 5 min step

    # when they read the list and the video, and again seconds later in the same step
    monkeypatch.setattr(time, "time", lambda: step_start + 1.0)
    listed, detail = viewer.get(VIDEOS), viewer.get(f"{VIDEOS}/{shown.pk}")
    monkeypatch.setattr(time, "time", lambda: step_start + 3.0)

    # then the signed URLs are the same (tokens are issued per step, not per second), so both 304
    assert "/playback/" in detail.json()["poster_url"]
    assert viewer.get(f"{VIDEOS}/{shown.pk}").json()["poster_url"] == detail.json()["poster_url"]
    assert viewer.get(VIDEOS, HTTP_IF_NONE_MATCH=listed["ETag"]).status_code == 304
    assert viewer.get(f"{VIDEOS}/{shown.pk}", HTTP_IF_NONE_MATCH=detail["ETag"]).status_code == 304


@pytest.mark.parametrize(
    "junk",
    ["garbage", '"', "W/", '"' + "a" * 5000 + '"', "\x00", ", , ,", 'W/"nope"', '"\u00e9"'],
)
def test_junk_if_none_match_gets_the_full_answer(junk):
    video()
    answer = APIClient().get(VIDEOS, HTTP_IF_NONE_MATCH=junk)
    assert answer.status_code == 200 and answer.json()["results"]


# --- every write shows on the next anonymous read ------------------------------------------------


def _read(client, url):
    response = client.get(url)
    return response.status_code, response.json() if response.status_code == 200 else None


WRITES = {}


def write(name):
    def register(function):
        WRITES[name] = function
        return function

    return register


@write("publish")
def _publish(shown, url):
    pending = video(owner=shown.owner, status=Video.Status.PROCESSING, published_at=None, title="New one")
    pending.status = Video.Status.READY  # what the pipeline's publish step saves
    pending.publish_if_due()
    pending.save(update_fields=["status", "published_at", "updated_at"])
    return VIDEOS


@write("edit")
def _edit(shown, url):
    catalog_services.video_update(video=shown, title="Renamed")
    return url


@write("delete")
def _delete(shown, url):
    catalog_services.video_delete(video=shown)
    return url


@write("visibility")
def _visibility(shown, url):
    catalog_services.video_update(video=shown, visibility=Video.Visibility.PRIVATE)
    return VIDEOS


@write("featured")
def _featured(shown, url):
    catalog_services.video_update(video=shown, is_featured=True)
    return f"{VIDEOS}?featured=true"


@write("tags")
def _tags(shown, url):
    catalog_services.video_update(video=shown, tags=["jazz"])
    return f"{VIDEOS}?tag=jazz"


@write("tag renamed")
def _tag_renamed(shown, url):
    tag = Tag.objects.get(name="music")
    tag.name = "tunes"
    catalog_services.tag_save(tag=tag)
    return url


@write("category")
def _category(shown, url):
    catalog_services.video_update(video=shown, category=CategoryFactory(slug="docs"))
    return f"{VIDEOS}?category=docs"


@write("category renamed")
def _category_renamed(shown, url):
    Category.objects.filter(slug="shelf").get().delete()
    return CATEGORIES


@write("plans")
def _plans(shown, url):
    catalog_services.video_update(video=shown, required_plans=[PlanFactory(code="gold").code])
    return url


@write("display name")
def _display_name(shown, url):
    account_services.user_update_profile(user=shown.owner, display_name="New Name")
    return f"{CHANNELS}/maker"


@write("avatar")
def _avatar(shown, url):
    owner = shown.owner
    owner.avatar_id = uuid.uuid4()
    owner.save(update_fields=["avatar_id", "updated_at"])
    return f"{CHANNELS}/maker"


@write("deactivation")
def _deactivation(shown, url):
    account_services.user_deactivate(user=shown.owner)
    return f"{CHANNELS}/maker/videos"


@write("public playlist")
def _playlist(shown, url):
    library_services.playlist_create(owner=shown.owner, title="Fresh", visibility=Playlist.Visibility.PUBLIC)
    return f"{CHANNELS}/maker/playlists"


@write("playlist item")
def _playlist_item(shown, url):
    playlist = Playlist.objects.get(title="Mix")
    library_services.item_add(playlist=playlist, video=shown)
    return f"{CHANNELS}/maker/playlists"


@write("follow")
def _follow(shown, url):
    library_services.follow(follower=UserFactory(), channel=shown.owner)
    return f"{CHANNELS}/maker"


@write("unfollow")
def _unfollow(shown, url):
    follower = Follow.objects.get(channel=shown.owner).follower
    library_services.unfollow(follower=follower, channel=shown.owner)
    return f"{CHANNELS}/maker"


@write("rating")
def _rating(shown, url):
    library_services.rating_set(user=UserFactory(), video=shown, value="dislike")
    return url


@write("view")
def _view(shown, url):
    viewer_state.view_count_once(video=shown, viewer="anon:someone")
    return url


@pytest.mark.parametrize("name", list(WRITES))
def test_each_write_shows_on_the_next_anonymous_read(name, committed):
    # given a channel's video (tagged, on a public playlist, followed once) on a shelf, and
    # every read that write can change cached
    owner = UserFactory(username="maker")
    shown = video(owner=owner, tags=["music"])
    library_services.playlist_create(owner=owner, title="Mix", visibility=Playlist.Visibility.PUBLIC)
    library_services.follow(follower=UserFactory(), channel=owner)
    CategoryFactory(slug="shelf")
    detail = f"{VIDEOS}/{shown.pk}"
    client = APIClient()
    reads = [
        detail,
        VIDEOS,
        f"{VIDEOS}?featured=true",
        f"{VIDEOS}?tag=jazz",
        f"{VIDEOS}?category=docs",
        CATEGORIES,
        f"{CHANNELS}/maker",
        f"{CHANNELS}/maker/videos",
        f"{CHANNELS}/maker/playlists",
    ]
    before = {url: _read(client, url) for url in reads}
    assert all(queries(client, url)[1] == 0 for url, (status, _) in before.items() if status == 200)
    cache.delete("anon-cache:throttle:counts")  # the setup's follow opened a window of its own

    # when the write commits
    with committed():
        changed = WRITES[name](shown, detail)

    # then the read it changes shows it at once
    after = _read(client, changed)
    assert after != before[changed], f"{name}: {changed} still answers {after}"


def test_the_generation_moves_when_the_write_commits_not_before(django_capture_on_commit_callbacks):
    # given a cached detail
    shown = video(title="Old")
    client = APIClient()
    client.get(f"{VIDEOS}/{shown.pk}")

    # when an edit is written but its transaction has not committed
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        catalog_services.video_update(video=shown, title="New")

    # then readers still get the cached answer (what was committed); after commit, the new one
    assert client.get(f"{VIDEOS}/{shown.pk}").json()["title"] == "Old"
    for callback in callbacks:
        callback()
    assert client.get(f"{VIDEOS}/{shown.pk}").json()["title"] == "New"


@pytest.fixture
def held_back_view(committed):
    """A cached detail that shows one view, and a second view counted within the same minute."""
    shown = video()
    client = APIClient()
    url = f"{VIDEOS}/{shown.pk}"
    client.get(url)
    with committed():
        viewer_state.view_count_once(video=shown, viewer="anon:one")
    assert client.get(url).json()["view_count"] == 1
    with committed():
        viewer_state.view_count_once(video=shown, viewer="anon:two")
    return shown, client, url


def test_view_counts_reach_cached_answers_at_most_once_a_minute(held_back_view, committed):
    # given views counted: the first of a minute shows at once, later ones wait for the next bump
    shown, client, url = held_back_view
    assert client.get(url).json()["view_count"] == 1

    # then the first view after the minute shows them all (the throttle's key expires after 60 s)
    assert 0 < cache._cache.get_client().ttl(cache.make_key("anon-cache:throttle:views")) <= 60
    cache.delete("anon-cache:throttle:views")
    with committed():
        viewer_state.view_count_once(video=shown, viewer="anon:three")
    assert client.get(url).json()["view_count"] == 3


def test_a_view_held_back_by_the_window_shows_when_it_ends_without_another_write(held_back_view):
    # given a second view held back by the minute's window
    _, client, url = held_back_view
    assert client.get(url).json()["view_count"] == 1

    # then a bump is due at the window's end (not before: the answer stays cached) ...
    due_key, throttle_key = "anon-cache:due:views", "anon-cache:throttle:views"
    assert cache.get(due_key) == cache.get(throttle_key) > time.time()
    assert queries(client, url)[1] == 0

    # ... and the first read once the window has passed shows both views, once
    cache.set(due_key, time.time() - 1)  # the minute has passed
    assert client.get(url).json()["view_count"] == 2
    assert cache.get(due_key) is None and queries(client, url)[1] == 0


def test_reads_are_answered_while_redis_is_unreachable(monkeypatch):
    # given a cached list, then a cache that refuses every call
    video()
    client = APIClient()
    client.get(VIDEOS)

    def refuse(*args, **kwargs):
        raise redis.exceptions.ConnectionError("down")

    for name in ("get", "get_many", "set", "add"):
        monkeypatch.setattr(cache, name, refuse)

    # then the list is computed as without the cache
    response, count = queries(client, VIDEOS)
    assert response.status_code == 200 and response.json()["results"] and count > 0


def test_an_admin_action_shows_on_the_next_anonymous_read(committed):
    # given a cached list with a public video, and staff in the admin
    shown = video()
    client = APIClient()
    assert [v["id"] for v in client.get(VIDEOS).json()["results"]] == [str(shown.pk)]
    staff = admin_client(UserFactory(is_staff=True, is_superuser=True))

    # when staff unpublish it (the bulk action, confirmed)
    with committed():
        done = run_action(staff, "unpublish", [shown])

    # then the next anonymous read no longer lists it
    assert done.status_code == 200
    assert client.get(VIDEOS).json()["results"] == []


def test_a_user_repeating_cheap_writes_cannot_keep_the_cache_empty(committed):
    # given a cached list and a signed-in user who toggles a like as fast as they can
    shown = video()
    toggler, client = UserFactory(), APIClient()
    client.get(VIDEOS)

    # when they like, unlike and like again, and follow and unfollow, within ten seconds
    with committed():
        library_services.rating_set(user=toggler, video=shown, value="like")
    first = client.get(VIDEOS).json()["results"][0]["like_count"]
    generation = response_cache.generation()
    with committed():
        library_services.rating_set(user=toggler, video=shown, value="none")
        library_services.rating_set(user=toggler, video=shown, value="like")
        library_services.follow(follower=toggler, channel=shown.owner)
        library_services.unfollow(follower=toggler, channel=shown.owner)

    # then the first shows at once and the rest wait for the window: one bump, the entry stays
    assert first == 1
    assert response_cache.generation() == generation
    assert queries(client, VIDEOS)[1] == 0
    assert 0 < cache._cache.get_client().ttl(cache.make_key("anon-cache:throttle:counts")) <= 10
