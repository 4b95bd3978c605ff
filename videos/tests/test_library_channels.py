"""Channels and follows through the API: public profiles (deactivated ones are 404), a channel's
videos and public playlists, idempotent follows (not of oneself), followers for the owner only,
and the feed, whose query count does not grow with the page or the channels followed."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from testing.clients import assert_error, signed_in_client
from videos.library import services
from videos.models import Follow, Playlist, Video
from videos.tests.factories import DraftVideoFactory, VideoFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("cheap_password_hashing")]

CHANNELS = "/api/v1/channels"


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_profile_videos_and_playlists():
    channel = UserFactory(username="maker")
    public = VideoFactory(owner=channel)
    VideoFactory(owner=channel, visibility=Video.Visibility.UNLISTED)
    VideoFactory(owner=channel, visibility=Video.Visibility.PRIVATE)
    DraftVideoFactory(owner=channel)
    services.follow(follower=UserFactory(), channel=channel)
    shown = services.playlist_create(owner=channel, title="Shown", visibility=Playlist.Visibility.PUBLIC)
    services.playlist_create(owner=channel, title="Link", visibility=Playlist.Visibility.UNLISTED)
    services.watch_later_get(user=channel)
    client = APIClient()
    profile = client.get(f"{CHANNELS}/MAKER")
    assert profile.status_code == 200, profile.content
    body = profile.json()
    assert (body["username"], body["follower_count"], body["public_video_count"]) == ("maker", 1, 1)
    assert "email" not in body and body["avatar_urls"] is None
    assert ids(client.get(f"{CHANNELS}/maker/videos")) == [str(public.pk)]
    assert ids(client.get(f"{CHANNELS}/maker/playlists")) == [str(shown.pk)]
    assert client.get(f"{CHANNELS}/maker/videos?ordering=nope").status_code == 400


def test_deactivated_and_unknown_channels_are_404():
    gone = UserFactory(username="gone", is_active=False)
    VideoFactory(owner=gone)
    me = signed_in_client(UserFactory())
    for path in ("", "/videos", "/playlists"):
        assert_error(APIClient().get(f"{CHANNELS}/gone{path}"), 404, "not_found")
    assert_error(me.put(f"{CHANNELS}/gone/follow"), 404, "not_found")
    assert_error(APIClient().get(f"{CHANNELS}/nobody"), 404, "not_found")


def test_follow_is_idempotent_and_not_of_oneself():
    me, channel = UserFactory(username="me"), UserFactory(username="them")
    client = signed_in_client(me)
    assert client.put(f"{CHANNELS}/them/follow").status_code == 204
    assert client.put(f"{CHANNELS}/them/follow").status_code == 204
    assert Follow.objects.filter(follower=me, channel=channel).count() == 1
    assert_error(client.put(f"{CHANNELS}/me/follow"), 400, "cannot_follow_self")
    assert not Follow.objects.filter(channel=me).exists()
    following = client.get("/api/v1/me/following").json()["results"]
    assert [row["channel"]["username"] for row in following] == ["them"]
    assert client.delete(f"{CHANNELS}/them/follow").status_code == 204
    assert client.delete(f"{CHANNELS}/them/follow").status_code == 204
    assert not Follow.objects.exists()
    assert APIClient().put(f"{CHANNELS}/them/follow").status_code == 401


def test_followers_list_is_the_owners_only():
    channel = UserFactory(username="host")
    fan = UserFactory(username="fan")
    services.follow(follower=fan, channel=channel)
    response = signed_in_client(channel).get(f"{CHANNELS}/host/followers")
    assert response.status_code == 200, response.content
    assert [row["follower"]["username"] for row in response.json()["results"]] == ["fan"]
    assert_error(signed_in_client(fan).get(f"{CHANNELS}/host/followers"), 403, "followers_private")


def test_feed_is_newest_ready_public_videos_of_followed_channels():
    me = UserFactory()
    followed, other = UserFactory(), UserFactory()
    services.follow(follower=me, channel=followed)
    now = timezone.now()
    old = VideoFactory(owner=followed, published_at=now - timedelta(days=2))
    new = VideoFactory(owner=followed, published_at=now - timedelta(hours=1))
    VideoFactory(owner=followed, visibility=Video.Visibility.UNLISTED)
    VideoFactory(owner=followed, visibility=Video.Visibility.PRIVATE)
    DraftVideoFactory(owner=followed)
    VideoFactory(owner=other)
    assert ids(signed_in_client(me).get("/api/v1/me/feed")) == [str(new.pk), str(old.pk)]


FEED_QUERIES = 2  # the session, the page of videos (their tags and plan codes in the same query)
CHANNEL_VIDEOS_QUERIES = 3  # the same and the channel


@pytest.mark.parametrize("rows", [10, 200])
def test_feed_and_channel_videos_run_fixed_queries(rows):
    me = UserFactory()
    channels = [UserFactory() for _ in range(rows // 10)]
    for channel in channels:
        services.follow(follower=me, channel=channel)
    for i in range(rows):
        VideoFactory(owner=channels[i % len(channels)], tags=["a", "b"] if i % 3 == 0 else [])
    client = signed_in_client(me)
    client.get("/api/v1/me/following")  # warms the session's caches
    with CaptureQueriesContext(connection) as feed:
        response = client.get("/api/v1/me/feed?limit=100")
    assert len(response.json()["results"]) == min(rows, 100)
    with CaptureQueriesContext(connection) as channel_videos:
        response = client.get(f"{CHANNELS}/{channels[0].username}/videos?limit=100")
    assert len(response.json()["results"]) == min(rows // len(channels), 100)
    assert (len(feed), len(channel_videos)) == (FEED_QUERIES, CHANNEL_VIDEOS_QUERIES)


def test_a_channel_shows_its_avatar():
    from accounts.services import avatar_set
    from testing.images import picture

    channel = UserFactory(username="face")
    avatar_set(user=channel, data=picture(fmt="JPEG"))
    urls = APIClient().get(f"{CHANNELS}/face").json()["avatar_urls"]
    assert sorted(urls, key=int) == ["64", "256", "512"]
    assert all(".webp" in url for url in urls.values())


def test_options_on_library_endpoints_never_errors():
    """OPTIONS on a PUT route looks the object up (DRF's metadata): an unknown channel is a 404."""
    client = signed_in_client(UserFactory(username="viewer"))
    video = VideoFactory()
    assert_error(client.options(f"{CHANNELS}/nobody/follow"), 404, "not_found")
    for url in (
        f"{CHANNELS}/viewer/follow",
        f"/api/v1/videos/{video.pk}/rating",
        "/api/v1/me/feed",
        "/api/v1/playlists",
    ):
        assert client.options(url).status_code == 200, url


def test_library_lists_show_posters_as_the_catalog_does():
    # given a ready video with a published version, followed, liked and in a playlist
    me, channel = UserFactory(), UserFactory()
    prefix = f"videos/{uuid.uuid4().hex}/hls/v1/"
    video = VideoFactory(
        owner=channel, hls_prefix=prefix, master_key=f"{prefix}master.m3u8", poster_key=f"{prefix}poster.jpg"
    )
    services.follow(follower=me, channel=channel)
    services.rating_set(user=me, video=video, value="like")
    playlist = services.playlist_create(owner=me, title="Mine")
    services.item_add(playlist=playlist, video=video)
    client = signed_in_client(me)
    expected = client.get(f"/api/v1/videos/{video.pk}").json()["poster_url"]

    # when
    shown = [
        client.get("/api/v1/me/feed").json()["results"][0],
        client.get(f"{CHANNELS}/{channel.username}/videos").json()["results"][0],
        client.get(f"/api/v1/playlists/{playlist.pk}/items").json()["results"][0]["video"],
        client.get("/api/v1/me/liked").json()["results"][0]["video"],
    ]

    # then
    assert expected and expected.endswith("poster.jpg")
    assert [entry["poster_url"] for entry in shown] == [expected] * 4
