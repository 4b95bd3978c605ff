"""Playlists through the API: reorder edges (PeerTube's semantics), positions dense 1..N under
concurrency, what a viewer sees of videos inside someone else's playlist, watch later's limits,
other users' ids, and the number of SQL queries an items page costs."""

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from testing.clients import assert_error, signed_in_client
from testing.race import run_concurrently
from videos.catalog import services as catalog_services
from videos.library import services
from videos.models import Playlist, PlaylistItem, Video
from videos.tests.factories import DraftVideoFactory, VideoFactory
from vod.exceptions import NotFoundError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("cheap_password_hashing")]

PLAYLISTS = "/api/v1/playlists"


def filled(owner, n: int, **fields) -> tuple[Playlist, list[PlaylistItem]]:
    """A playlist of `owner` with n ready public videos, items in order."""
    playlist = services.playlist_create(owner=owner, title="Mix", **fields)
    items = [services.item_add(playlist=playlist, video=VideoFactory()) for _ in range(n)]
    return playlist, items


def order(playlist: Playlist) -> list[int]:
    """Item ids by position; also checks positions are exactly 1..N and the count matches."""
    rows = list(PlaylistItem.objects.filter(playlist=playlist).order_by("position").values_list("pk", "position"))
    assert [position for _, position in rows] == list(range(1, len(rows) + 1))
    playlist.refresh_from_db()
    assert playlist.item_count == len(rows)
    return [pk for pk, _ in rows]


def reorder(client, playlist, **body):
    return client.post(f"{PLAYLISTS}/{playlist.pk}/items/reorder", body, format="json")


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def client(owner):
    return signed_in_client(owner)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"start_position": 1, "insert_after_position": 5}, [1, 2, 3, 4, 0]),  # first -> last
        ({"start_position": 5, "insert_after_position": 0}, [4, 0, 1, 2, 3]),  # last -> first (position 0)
        ({"start_position": 5, "insert_after_position": 3}, [0, 1, 2, 4, 3]),  # n -> n-1
        ({"start_position": 2, "insert_after_position": 0, "reorder_length": 2}, [1, 2, 0, 3, 4]),
        ({"start_position": 1, "insert_after_position": 4, "reorder_length": 2}, [2, 3, 0, 1, 4]),
        ({"start_position": 2, "insert_after_position": 3, "reorder_length": 3}, [0, 1, 2, 3, 4]),  # over itself
        ({"start_position": 2, "insert_after_position": 1, "reorder_length": 2}, [0, 1, 2, 3, 4]),  # where it is
    ],
)
def test_reorder_edges(client, owner, body, expected):
    playlist, items = filled(owner, 5)
    assert reorder(client, playlist, **body).status_code == 204
    assert order(playlist) == [items[i].pk for i in expected]


@pytest.mark.parametrize(
    "body",
    [
        {"start_position": 6, "insert_after_position": 0},
        {"start_position": 0, "insert_after_position": 1},
        {"start_position": 1, "insert_after_position": 6},
        {"start_position": 4, "insert_after_position": 0, "reorder_length": 3},
        {"start_position": 1, "insert_after_position": -1},
        {"start_position": 1, "insert_after_position": 2, "reorder_length": 0},
    ],
)
def test_reorder_out_of_range_is_400_and_changes_nothing(client, owner, body):
    playlist, items = filled(owner, 5)
    response = reorder(client, playlist, **body)
    assert response.status_code == 400, response.content
    assert response.json()["code"] in ("position_out_of_range", "validation_error")
    assert order(playlist) == [item.pk for item in items]


def test_insert_at_a_position_and_remove_keep_positions_dense(client, owner):
    playlist, items = filled(owner, 3)
    video = VideoFactory()
    response = client.post(
        f"{PLAYLISTS}/{playlist.pk}/items", {"video_id": str(video.pk), "position": 1}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["position"] == 1 and response.json()["video"]["id"] == str(video.pk)
    new = response.json()["id"]
    assert order(playlist) == [new, *(item.pk for item in items)]
    assert client.delete(f"{PLAYLISTS}/{playlist.pk}/items/{items[0].pk}").status_code == 204
    assert order(playlist) == [new, items[1].pk, items[2].pk]
    response = client.post(
        f"{PLAYLISTS}/{playlist.pk}/items", {"video_id": str(video.pk), "position": 5}, format="json"
    )
    assert_error(response, 400, "position_out_of_range")
    response = client.post(f"{PLAYLISTS}/{playlist.pk}/items", {"video_id": str(video.pk)}, format="json")
    assert response.json()["position"] == 4
    assert order(playlist)[-1] == response.json()["id"]


def test_video_deletion_compacts_every_playlist(owner):
    playlist, items = filled(owner, 4)
    doomed = items[1].video
    services.item_add(playlist=playlist, video=doomed)
    services.videos_remove_from_playlists(video_ids=[doomed.pk])
    assert order(playlist) == [items[0].pk, items[2].pk, items[3].pk]


@pytest.mark.django_db(transaction=True)
def test_concurrent_inserts_and_reorders_leave_positions_1_to_n():
    owner = UserFactory()
    playlist, _ = filled(owner, 4)
    videos = [VideoFactory() for _ in range(6)]

    def act(i: int):
        if i % 2:
            return services.items_reorder(playlist=playlist, start_position=1, insert_after_position=3)
        return services.item_add(playlist=playlist, video=videos[i], position=2)

    outcomes = run_concurrently(act, threads=6)
    assert [o.error for o in outcomes] == [None] * 6
    assert len(order(playlist)) == 4 + 3


@pytest.mark.django_db(transaction=True)
def test_deleting_a_video_while_it_is_being_added_leaves_no_gap_and_no_deadlock():
    # given: two playlists, one already holding the video
    owner = UserFactory()
    (first, _), (second, _) = filled(owner, 3), filled(owner, 2)
    doomed = VideoFactory()
    services.item_add(playlist=first, video=doomed, position=2)

    def act(i: int):
        if i == 0:
            with transaction.atomic():
                return catalog_services.video_delete(video=doomed)
        return services.item_add(playlist=(first, second)[i % 2], video=doomed, position=1)

    # when
    outcomes = run_concurrently(act, threads=7)

    # then: adds either landed before the deletion (and went with it) or found no video
    assert all(o.error is None or isinstance(o.error, NotFoundError) for o in outcomes), outcomes
    assert outcomes[0].error is None
    assert not PlaylistItem.objects.filter(video_id=doomed.pk).exists()
    assert len(order(first)) == 3 and len(order(second)) == 2


def test_private_video_in_someone_elses_public_playlist_stays_hidden(owner):
    playlist, _ = filled(owner, 1, visibility=Playlist.Visibility.PUBLIC)
    secret = VideoFactory(owner=owner, title="Secret plan", visibility=Video.Visibility.PRIVATE)
    draft = DraftVideoFactory(owner=owner, title="Unfinished cut")
    services.item_add(playlist=playlist, video=secret)
    services.item_add(playlist=playlist, video=draft)
    for viewer in (APIClient(), signed_in_client(UserFactory())):
        response = viewer.get(f"{PLAYLISTS}/{playlist.pk}/items")
        assert response.status_code == 200, response.content
        results = response.json()["results"]
        assert [r["unavailable"] for r in results] == [False, True, True]
        assert results[1]["video"] is None and results[2]["video"] is None
        assert b"Secret plan" not in response.content and b"Unfinished cut" not in response.content
        assert str(secret.pk).encode() not in response.content
    mine = signed_in_client(owner).get(f"{PLAYLISTS}/{playlist.pk}/items").json()["results"]
    assert [r["unavailable"] for r in mine] == [False, False, False]
    assert mine[1]["video"]["title"] == "Secret plan"


def test_playlist_visibility_by_id(owner):
    stranger = signed_in_client(UserFactory())
    private = services.playlist_create(owner=owner, title="Mine")
    unlisted = services.playlist_create(owner=owner, title="Link", visibility=Playlist.Visibility.UNLISTED)
    assert_error(stranger.get(f"{PLAYLISTS}/{private.pk}"), 404, "not_found")
    assert_error(APIClient().get(f"{PLAYLISTS}/{private.pk}/items"), 404, "not_found")
    assert stranger.get(f"{PLAYLISTS}/{unlisted.pk}").status_code == 200
    assert signed_in_client(owner).get(f"{PLAYLISTS}/{private.pk}").status_code == 200


def test_watch_later_cannot_be_deleted_renamed_or_shared(client, owner):
    response = client.get("/api/v1/me/watch-later")
    assert response.status_code == 200, response.content
    assert response.json()["kind"] == "watch_later"
    assert client.get("/api/v1/me/watch-later").json()["id"] == response.json()["id"]  # one per user
    url = f"{PLAYLISTS}/{response.json()['id']}"
    assert_error(client.delete(url), 409, "watch_later_fixed")
    assert_error(client.patch(url, {"title": "Other"}, format="json"), 409, "watch_later_fixed")
    assert_error(client.patch(url, {"visibility": "public"}, format="json"), 409, "watch_later_fixed")
    assert_error(client.patch(url, {"visibility": "unlisted"}, format="json"), 409, "watch_later_fixed")
    watch_later = Playlist.objects.get(pk=response.json()["id"])
    assert (watch_later.title, watch_later.visibility) == ("Watch later", "private")
    video = VideoFactory()
    added = client.post(f"{url}/items", {"video_id": str(video.pk)}, format="json")
    assert added.status_code == 201, added.content
    assert client.patch(url, {"description": "to see"}, format="json").status_code == 200


def test_other_users_playlists_and_items_are_404(client, owner):
    mine, my_items = filled(owner, 2)
    theirs, their_items = filled(UserFactory(), 2, visibility=Playlist.Visibility.PUBLIC)
    video = VideoFactory()
    assert_error(client.delete(f"{PLAYLISTS}/{theirs.pk}"), 404, "not_found")
    assert_error(client.patch(f"{PLAYLISTS}/{theirs.pk}", {"title": "x"}, format="json"), 404, "not_found")
    assert_error(
        client.post(f"{PLAYLISTS}/{theirs.pk}/items", {"video_id": str(video.pk)}, format="json"), 404, "not_found"
    )
    assert_error(client.delete(f"{PLAYLISTS}/{theirs.pk}/items/{their_items[0].pk}"), 404, "not_found")
    assert_error(reorder(client, theirs, start_position=1, insert_after_position=2), 404, "not_found")
    # their item id through my playlist
    assert_error(client.delete(f"{PLAYLISTS}/{mine.pk}/items/{their_items[0].pk}"), 404, "not_found")
    assert order(theirs) == [item.pk for item in their_items]
    assert order(mine) == [item.pk for item in my_items]
    # someone else's private video cannot be added
    hidden = VideoFactory(visibility=Video.Visibility.PRIVATE)
    assert_error(
        client.post(f"{PLAYLISTS}/{mine.pk}/items", {"video_id": str(hidden.pk)}, format="json"), 404, "not_found"
    )


def test_playlist_cap(client, owner, settings):
    settings.PLAYLISTS_PER_USER = 1
    assert client.post(PLAYLISTS, {"title": "One"}, format="json").status_code == 201
    assert_error(client.post(PLAYLISTS, {"title": "Two"}, format="json"), 409, "playlist_limit_reached")
    settings.PLAYLIST_MAX_ITEMS = 1
    playlist = Playlist.objects.get(owner=owner)
    assert (
        client.post(f"{PLAYLISTS}/{playlist.pk}/items", {"video_id": str(VideoFactory().pk)}, format="json").status_code
        == 201
    )
    response = client.post(f"{PLAYLISTS}/{playlist.pk}/items", {"video_id": str(VideoFactory().pk)}, format="json")
    assert_error(response, 409, "playlist_full")


def test_contains_tells_where_each_video_sits(client, owner):
    playlist, items = filled(owner, 2)
    other = VideoFactory()
    ids = f"{items[1].video_id},{other.pk}"
    response = client.get(f"/api/v1/me/playlists/contains?video_ids={ids}")
    assert response.status_code == 200, response.content
    videos = response.json()["videos"]
    assert videos[str(items[1].video_id)] == [{"playlist_id": str(playlist.pk), "item_id": items[1].pk, "position": 2}]
    assert videos[str(other.pk)] == []
    for junk in ("nope", "", f"{other.pk},,", ",".join([str(other.pk)] * 51)):
        assert_error(client.get(f"/api/v1/me/playlists/contains?video_ids={junk}"), 400, "validation_error")


ITEMS_PAGE_QUERIES = 5  # the session, the playlist, the items page, their videos, their tags


def test_items_page_runs_a_fixed_number_of_queries_at_10_and_200_rows(owner):
    viewer = signed_in_client(UserFactory())
    viewer.get("/api/v1/me/watch-later")  # warms the session's caches
    counts = []
    for rows in (10, 200):
        playlist, _ = filled(owner, rows, visibility=Playlist.Visibility.PUBLIC)
        services.item_add(playlist=playlist, video=VideoFactory(visibility=Video.Visibility.PRIVATE), position=1)
        with CaptureQueriesContext(connection) as queries:
            response = viewer.get(f"{PLAYLISTS}/{playlist.pk}/items?limit=100")
        assert response.status_code == 200
        assert len(response.json()["results"]) == min(rows + 1, 100)
        counts.append(len(queries))
    assert counts == [ITEMS_PAGE_QUERIES] * 2, [q["sql"] for q in queries.captured_queries]


def test_admin_shows_playlists_with_items_and_ratings_and_follows_read_only(owner):
    staff_client = Client()
    staff_client.force_login(UserFactory(is_staff=True, is_superuser=True))
    playlist, items = filled(owner, 2)
    services.rating_set(user=owner, video=items[0].video, value="like")
    services.follow(follower=owner, channel=items[0].video.owner)
    page = staff_client.get(f"/admin/videos/playlist/{playlist.pk}/change/")
    assert page.status_code == 200
    assert items[1].video.title.encode() in page.content  # the items inline
    for model in ("playlist", "rating", "follow"):
        assert staff_client.get(f"/admin/videos/{model}/").status_code == 200
        assert staff_client.get(f"/admin/videos/{model}/add/").status_code == 403


def test_user_change_page_shows_library_figures(owner):
    staff_client = Client()
    staff_client.force_login(UserFactory(is_staff=True, is_superuser=True))
    _, items = filled(owner, 1)
    fan = UserFactory()
    services.rating_set(user=fan, video=items[0].video, value="like")
    services.follow(follower=fan, channel=owner)
    page = staff_client.get(f"/admin/accounts/user/{owner.pk}/change/").content.decode()
    assert "1 playlist, 0 ratings, follows 0 channels, 1 follower" in page
    page = staff_client.get(f"/admin/accounts/user/{fan.pk}/change/").content.decode()
    assert "0 playlists, 1 rating, follows 1 channel, 0 followers" in page
