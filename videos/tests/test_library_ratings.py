"""Ratings through the API: one row per user and video, counters that move in the rating's
transaction (50 parallel likes count once, like -> dislike -> none ends at zero), `my_rating`
on the catalog, my likes, and the recount that repairs drift."""

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import TEST_PASSWORD, UserFactory
from testing.clients import assert_error, signed_in_client
from testing.race import run_concurrently
from videos.library import services
from videos.models import Follow, Playlist, Rating, Video
from videos.tests.factories import VideoFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("cheap_password_hashing")]


def rate(client, video, value):
    return client.put(f"/api/v1/videos/{video.pk}/rating", {"rating": value}, format="json")


def counters(video) -> tuple[int, int]:
    video.refresh_from_db()
    return video.like_count, video.dislike_count


def test_like_dislike_none_ends_at_zero():
    video, client = VideoFactory(), signed_in_client(UserFactory())
    response = rate(client, video, "like")
    assert response.status_code == 200, response.content
    assert response.json() == {"rating": "like", "like_count": 1, "dislike_count": 0}
    assert rate(client, video, "like").json()["like_count"] == 1  # a repeat counts once
    assert rate(client, video, "dislike").json() == {"rating": "dislike", "like_count": 0, "dislike_count": 1}
    assert rate(client, video, "none").json() == {"rating": "none", "like_count": 0, "dislike_count": 0}
    assert rate(client, video, "none").json()["dislike_count"] == 0
    assert not Rating.objects.filter(video=video).exists()
    assert counters(video) == (0, 0)


def test_catalog_shows_counts_and_my_rating():
    video, client = VideoFactory(), signed_in_client(UserFactory())
    rate(client, video, "dislike")
    detail = client.get(f"/api/v1/videos/{video.pk}").json()
    assert (detail["like_count"], detail["dislike_count"], detail["my_rating"]) == (0, 1, "dislike")
    listed = next(v for v in client.get("/api/v1/videos").json()["results"] if v["id"] == str(video.pk))
    assert listed["my_rating"] == "dislike"
    assert APIClient().get(f"/api/v1/videos/{video.pk}").json()["my_rating"] is None


def test_bad_values_and_hidden_videos():
    client = signed_in_client(UserFactory())
    video = VideoFactory()
    assert rate(client, video, "love").status_code == 400
    assert counters(video) == (0, 0)
    hidden = VideoFactory(visibility=Video.Visibility.PRIVATE)
    assert_error(rate(client, hidden, "like"), 404, "not_found")
    assert rate(APIClient(), video, "like").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_likes_by_one_user_count_once():
    user, video = UserFactory(), VideoFactory()
    outcomes = run_concurrently(lambda i: services.rating_set(user=user, video=video, value="like"), threads=50)
    assert [o.error for o in outcomes] == [None] * 50
    assert counters(video) == (1, 0)
    assert Rating.objects.filter(video=video).count() == 1


@pytest.mark.django_db(transaction=True)
def test_fifty_users_liking_at_once_count_fifty():
    video = VideoFactory()
    users = [UserFactory() for _ in range(50)]
    outcomes = run_concurrently(lambda i: services.rating_set(user=users[i], video=video, value="like"), threads=50)
    assert [o.error for o in outcomes] == [None] * 50
    assert counters(video) == (50, 0)


def test_recount_repairs_drift_and_account_deletion_takes_ratings_back():
    user, video = UserFactory(), VideoFactory()
    services.rating_set(user=user, video=video, value="like")
    Video.objects.filter(pk=video.pk).update(like_count=7, dislike_count=3)
    assert services.ratings_recount() == 1
    assert counters(video) == (1, 0)
    services.library_delete_for_user(user=user)
    assert counters(video) == (0, 0)


def test_my_likes_hide_what_i_may_no_longer_see():
    user = UserFactory()
    client = signed_in_client(user)
    shown, hidden = VideoFactory(), VideoFactory(title="Gone private")
    for video in (shown, hidden):
        services.rating_set(user=user, video=video, value="like")
    Video.objects.filter(pk=hidden.pk).update(visibility=Video.Visibility.PRIVATE)
    response = client.get("/api/v1/me/liked")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["unavailable"] for r in results] == [True, False]
    assert results[1]["video"]["id"] == str(shown.pk)
    assert b"Gone private" not in response.content
    disliked = VideoFactory()
    services.rating_set(user=user, video=disliked, value="dislike")
    services.rating_set(user=user, video=disliked, value="like")  # a changed mind is a new like
    assert client.get("/api/v1/me/liked").json()["results"][0]["video"]["id"] == str(disliked.pk)


def test_account_deletion_fixes_the_counters_it_touched_and_removes_its_library():
    # given: a user who rated, made playlists, followed, and has videos in someone's playlist
    leaving, staying = UserFactory(), UserFactory()
    liked, disliked, theirs = VideoFactory(), VideoFactory(), VideoFactory(owner=staying)
    services.rating_set(user=leaving, video=liked, value="like")
    services.rating_set(user=leaving, video=disliked, value="dislike")
    services.rating_set(user=staying, video=liked, value="like")
    services.item_add(playlist=services.playlist_create(owner=leaving, title="Mine"), video=theirs)
    services.follow(follower=leaving, channel=staying)
    services.follow(follower=staying, channel=leaving)
    own_video = VideoFactory(owner=leaving)
    keeper = services.playlist_create(owner=staying, title="Keep")
    for video in (theirs, own_video, liked):
        services.item_add(playlist=keeper, video=video)

    # when
    response = signed_in_client(leaving).delete("/api/v1/users/me", {"password": TEST_PASSWORD}, format="json")

    # then
    assert response.status_code == 204
    assert counters(liked) == (1, 0) and counters(disliked) == (0, 0)
    assert not Playlist.objects.filter(owner_id=leaving.pk).exists()
    assert not Follow.objects.exists()
    keeper.refresh_from_db()
    positions = list(keeper.items.order_by("position").values_list("video_id", "position"))
    assert positions == [(theirs.pk, 1), (liked.pk, 2)] and keeper.item_count == 2
