"""Gated videos: `access` and `required_plans` on the catalog (fixed query counts), the playback
gate (403 `subscription_required`), tokens that end with the viewer's access, and the edges:
ends_at -1 s / +1 s, grace, overlapping subscriptions, deactivated plans, owner and staff."""

import time
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.subscriptions import services
from accounts.subscriptions.models import Subscription
from accounts.tests.factories import PlanFactory, SubscriptionFactory, UserFactory
from testing.clients import assert_error, signed_in_client
from videos.catalog.services import video_update
from videos.models import Video
from videos.tests.factories import CategoryFactory, VideoFactory
from videos.tests.test_catalog import count_queries, ids_of
from videos.tests.test_playback import published

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("cheap_password_hashing")]

VIDEOS = "/api/v1/videos"
GRACE = timedelta(days=3)


@pytest.fixture
def gold():
    return PlanFactory(code="gold", name="Gold", sort_order=1)


def gated(*plans, **fields) -> Video:
    video = published(VideoFactory(**fields))
    video_update(video=video, required_plans=[plan.code for plan in plans])
    return video


def playback(client, video):
    return client.get(f"{VIDEOS}/{video.pk}/playback")


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def subscriber(plan, **fields):
    client = signed_in_client(UserFactory())
    client.subscription = SubscriptionFactory(user=client.user, plan=plan, **fields)
    return client


# --- browsing --------------------------------------------------------------------------------------


def test_a_locked_video_stays_browsable_but_does_not_play(api_client, gold):
    video = gated(gold)
    free = published(VideoFactory())
    listed = {item["id"]: item for item in api_client.get(VIDEOS).json()["results"]}
    assert listed[str(video.pk)]["access"] == "locked" and listed[str(video.pk)]["required_plans"] == ["gold"]
    assert listed[str(free.pk)]["access"] == "free" and listed[str(free.pk)]["required_plans"] == []
    detail = api_client.get(f"{VIDEOS}/{video.pk}").json()
    assert (detail["title"], detail["duration"], detail["access"]) == (video.title, 60.0, "locked")
    for client in (api_client, signed_in_client(UserFactory())):
        body = assert_error(playback(client, video), 403, "subscription_required")
        assert body["fields"] == {"required_plans": ["gold"]} and "Gold (gold)" in body["message"]


def test_a_subscriber_sees_granted_and_plays(gold):
    client = subscriber(gold)
    video = gated(gold)
    assert client.get(f"{VIDEOS}/{video.pk}").json()["access"] == "granted"
    answer = playback(client, video)
    assert answer.status_code == 200, answer.content
    assert answer["Cache-Control"] == "private, no-store"
    master = APIClient().get(path_of(answer.json()["master_url"]))
    assert master.status_code == 200 and master["Cache-Control"] == "private, no-store"


def test_free_videos_keep_their_caching(api_client):
    video = published(VideoFactory())
    assert "no-store" not in playback(api_client, video).get("Cache-Control", "")


@pytest.mark.parametrize("signed_in", [False, True])
def test_the_access_filter(gold, signed_in):
    client = subscriber(gold) if signed_in else APIClient()
    silver = PlanFactory(code="silver")
    free, golden, silvery = published(VideoFactory()), gated(gold), gated(silver)
    expected = {
        "free": [free],
        "granted": [golden] if signed_in else [],
        "locked": [silvery] if signed_in else [golden, silvery],
    }
    for value, videos in expected.items():
        assert set(ids_of(client.get(VIDEOS, {"access": value}))) == {str(v.pk) for v in videos}
    assert set(ids_of(client.get(VIDEOS, {"plan": "silver"}))) == {str(silvery.pk)}
    assert_error(client.get(VIDEOS, {"access": "everything"}), 400, "validation_error")


# --- the edges of access ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "offset", "entitled"),
    [
        ("active", -timedelta(seconds=1), True),  # 1 s before ends_at
        ("active", timedelta(seconds=1), False),  # 1 s after
        ("active", timedelta(0), False),  # ends_at is exclusive
        ("past_due", timedelta(seconds=1), True),  # past due: inside the grace period
        ("past_due", GRACE - timedelta(seconds=1), True),
        ("past_due", GRACE + timedelta(seconds=1), False),  # after it
        ("canceled", -timedelta(days=1), False),  # canceled: at once
        ("expired", -timedelta(days=1), False),
    ],
)
def test_access_at_the_edges(gold, status, offset, entitled):
    ends_at = timezone.now() + timedelta(days=10)
    subscription = SubscriptionFactory(
        plan=gold, status=status, ends_at=ends_at, starts_at=ends_at - timedelta(days=30)
    )
    assert Subscription.objects.entitling(at=ends_at + offset).filter(pk=subscription.pk).exists() is entitled


def test_a_subscription_that_has_not_started_does_not_entitle(gold):
    start = timezone.now() + timedelta(hours=1)
    subscription = SubscriptionFactory(plan=gold, starts_at=start)
    assert not Subscription.objects.entitling().filter(pk=subscription.pk).exists()
    assert Subscription.objects.entitling(at=start).filter(pk=subscription.pk).exists()


@pytest.mark.parametrize(
    ("status", "ended_ago", "access"), [("past_due", 1, "granted"), ("past_due", 4, "locked"), ("active", 1, "locked")]
)
def test_grace_through_the_api(gold, status, ended_ago, access):
    client = subscriber(gold, status=status, ends_at=timezone.now() - timedelta(days=ended_ago))
    video = gated(gold)
    assert client.get(f"{VIDEOS}/{video.pk}").json()["access"] == access
    assert playback(client, video).status_code == (200 if access == "granted" else 403)


def test_tokens_end_with_the_subscription_and_its_grace(gold, settings):
    settings.PLAYBACK_TOKEN_TTL = timedelta(hours=6)
    ends_at = timezone.now() + timedelta(hours=1)
    client = subscriber(gold, ends_at=ends_at)
    video = gated(gold)
    expires = when(playback(client, video).json()["expires_at"])
    assert ends_at - timedelta(seconds=2) <= expires <= ends_at
    # past due, the grace period counts (here it still caps a 6 h token: grace of 1 h)
    settings.SUBSCRIPTION_GRACE = timedelta(hours=1)
    Subscription.objects.filter(pk=client.subscription.pk).update(status="past_due", ends_at=timezone.now())
    expires = when(playback(client, video).json()["expires_at"])
    assert timezone.now() + timedelta(minutes=59) <= expires <= timezone.now() + timedelta(hours=1)


def test_overlapping_subscriptions_grant_through_the_longest(gold):
    silver = PlanFactory(code="silver")
    client = subscriber(gold, ends_at=timezone.now() + timedelta(minutes=30))
    later = timezone.now() + timedelta(hours=2)
    SubscriptionFactory(user=client.user, plan=silver, ends_at=later)
    SubscriptionFactory(user=client.user, plan=gold, status="canceled")  # a canceled one changes nothing
    video = gated(gold, silver)
    answer = playback(client, video).json()
    assert when(answer["expires_at"]) > timezone.now() + timedelta(hours=1)
    # when the longer one is canceled, the shorter still grants
    services.subscription_cancel(subscription=Subscription.objects.get(plan=silver), staff_user=None)
    assert playback(client, video).status_code == 200


def test_a_deactivated_plans_subscriptions_keep_access_until_they_end(gold, api_client):
    client = subscriber(gold)
    video = gated(gold)
    services.plan_update(plan=gold, is_active=False)
    assert playback(client, video).status_code == 200
    assert [plan["code"] for plan in api_client.get("/api/v1/plans").json()] == []
    assert client.get(f"{VIDEOS}/{video.pk}").json()["required_plans"] == ["gold"]


def test_owner_and_staff_always_play_with_uncapped_tokens(gold, settings):
    settings.PLAYBACK_TOKEN_TTL = timedelta(hours=6)
    owner = signed_in_client(UserFactory())
    video = gated(gold, owner=owner.user)
    staff = signed_in_client(UserFactory(is_staff=True, is_superuser=True))
    for client in (owner, staff):
        assert client.get(f"{VIDEOS}/{video.pk}").json()["access"] == "granted"
        answer = playback(client, video)
        assert answer.status_code == 200
        assert when(answer.json()["expires_at"]) > timezone.now() + timedelta(hours=5)


# --- tokens follow access ----------------------------------------------------------------------------


def test_a_token_minted_under_a_subscription_is_refused_once_it_is_canceled(gold, staff_client, backend):
    client = subscriber(gold)
    video = gated(gold)
    urls = playback(client, video).json()
    player = APIClient()
    variant = urls["master_url"].replace("master.m3u8", "360p/index.m3u8")
    assert player.get(path_of(variant)).status_code == 200
    # when staff revoke it through the API
    revoke = staff_client.delete(f"/api/v1/users/{client.user.pk}/subscriptions/{client.subscription.pk}")
    assert revoke.status_code == 204
    # then the same token opens nothing: no playlist, no segment, no poster
    for path in ("master.m3u8", "360p/index.m3u8", "360p/seg_00000.m4s", "poster.jpg"):
        assert_error(player.get(path_of(urls["master_url"].replace("master.m3u8", path))), 403, "subscription_required")


def test_gated_media_go_through_the_api_to_urls_that_die_within_a_minute(gold, backend):
    client = subscriber(gold)
    video = gated(gold)
    urls = playback(client, video).json()
    variant_url = urls["master_url"].replace("master.m3u8", "360p/index.m3u8")
    player = APIClient()
    variant = player.get(path_of(variant_url)).content.decode()
    media = [line for line in variant.splitlines() if line and not line.startswith("#")]
    assert media == ["seg_00000.m4s", "seg_00001.m4s"]  # relative: each request is checked
    segment = player.get(path_of(variant_url.replace("index.m3u8", media[0])))
    assert segment["Cache-Control"] == "private, no-store"
    if backend == "s3":
        assert segment.status_code == 302
        query = parse_qs(urlsplit(segment["Location"]).query)
        if "X-Amz-Expires" in query:  # SigV4
            assert query["X-Amz-Expires"] == ["60"]
        else:  # SigV2: the expiry as a Unix time
            assert 0 < int(query["Expires"][0]) - time.time() <= 61
    else:
        assert segment.status_code == 200


def test_a_gated_public_video_never_uses_the_public_base_url(gold, settings):
    settings.PLAYBACK_PUBLIC_BASE_URL = "https://cdn.example.com"
    client = subscriber(gold)
    urls = playback(client, gated(gold)).json()
    assert "cdn.example.com" not in urls["master_url"] and urls["expires_at"]


# --- setting the plans of a video ----------------------------------------------------------------


def test_owners_set_required_plans_on_create_and_edit(gold, auth_client):
    created = auth_client.post(VIDEOS, {"title": "Premium", "required_plans": ["gold"]}, format="json")
    assert created.status_code == 201, created.content
    video = created.json()["video"]
    assert (video["required_plans"], video["access"]) == (["gold"], "granted")
    cleared = auth_client.patch(f"{VIDEOS}/{video['id']}", {"required_plans": []}, format="json")
    assert (cleared.json()["required_plans"], cleared.json()["access"]) == ([], "free")


@pytest.mark.parametrize("codes", [["platinum"], ["g\u043eld"], ["GOLD"], "gold", [1]])  # a Cyrillic o
def test_unknown_or_malformed_plan_codes_are_refused(gold, auth_client, codes):
    video = VideoFactory(owner=auth_client.user)
    response = auth_client.patch(f"{VIDEOS}/{video.pk}", {"required_plans": codes}, format="json")
    assert_error(response, 400, "validation_error")
    assert not video.required_plans.exists()


def test_a_deactivated_plan_is_not_added_anew_but_may_stay(gold, auth_client):
    old = PlanFactory(code="old")
    video = VideoFactory(owner=auth_client.user)
    video_update(video=video, required_plans=["old"])
    services.plan_update(plan=old, is_active=False)
    kept = auth_client.patch(f"{VIDEOS}/{video.pk}", {"required_plans": ["old", "gold"]}, format="json")
    assert kept.status_code == 200 and kept.json()["required_plans"] == ["old", "gold"]  # the plans' order
    other = VideoFactory(owner=auth_client.user)
    added = auth_client.patch(f"{VIDEOS}/{other.pk}", {"required_plans": ["old"]}, format="json")
    assert_error(added, 400, "validation_error")


def test_someone_elses_video_cannot_be_gated(gold, auth_client):
    video = VideoFactory()
    assert_error(
        auth_client.patch(f"{VIDEOS}/{video.pk}", {"required_plans": ["gold"]}, format="json"), 404, "not_found"
    )


# --- query budgets -----------------------------------------------------------------------------------


def gated_catalog(count, plans):
    for i in range(count):
        video = VideoFactory(title=f"Otter {i}", tags=[f"t{i}", "otter"], category=CategoryFactory(slug=f"g-{i}"))
        video_update(video=video, required_plans=[plans[i % len(plans)].code])


@pytest.mark.parametrize("params", [{}, {"q": "otter"}, {"access": "granted"}, {"access": "locked"}])
def test_the_list_with_access_for_a_subscriber_costs_the_same_for_2_or_30_videos(gold, params):
    silver = PlanFactory(code="silver")
    client = subscriber(gold)
    client.get(VIDEOS)
    gated_catalog(2, [gold, silver])
    small = count_queries(client, VIDEOS, {**params, "limit": 50})
    gated_catalog(28, [gold, silver])
    large = count_queries(client, VIDEOS, {**params, "limit": 50})
    print(f"\nQUERIES gated list as a subscriber params={params}: 2 videos={small}, 30 videos={large}")
    assert small == large
    # the session, and the page: its tags, plan codes and access are computed in the page's query
    assert large == 2


def test_a_free_catalog_costs_no_query_for_plans():
    client = signed_in_client(UserFactory())
    client.get(VIDEOS)
    VideoFactory()
    assert count_queries(client, VIDEOS) == 2  # the session, and the page with its tags and plan codes
    assert count_queries(APIClient(), VIDEOS) == 1


def test_the_detail_with_access_costs_the_same_for_a_free_and_a_gated_video(gold):
    client = subscriber(gold)
    free, premium = VideoFactory(), gated(gold)
    client.get(f"{VIDEOS}/{free.pk}")
    assert count_queries(client, f"{VIDEOS}/{free.pk}") + 1 == count_queries(client, f"{VIDEOS}/{premium.pk}")


@pytest.mark.parametrize("rows", [10, 200])
def test_a_signed_in_page_computes_every_per_viewer_field_in_its_own_query(gold, rows):
    # given a subscriber to gold, a catalog of `rows` videos, a third gated by gold, a third by
    # silver, and some rated by the subscriber (like or dislike)
    from videos.library.services import rating_set

    silver = PlanFactory(code="silver", sort_order=2)
    client = subscriber(gold)
    client.get(VIDEOS)  # the session is cached and touched
    owner = UserFactory()
    videos = [VideoFactory(owner=owner, tags=["otter", f"t{i % 4}"]) for i in range(rows)]
    for i, video in enumerate(videos):
        if i % 3:
            video_update(video=video, required_plans=[(gold, silver)[i % 3 - 1].code])
        if i % 5 == 0:
            rating_set(user=client.user, video=video, value="like" if i % 2 else "dislike")
    expected = {
        str(video.pk): (
            ["free", "granted", "locked"][i % 3],
            [[], ["gold"], ["silver"]][i % 3],
            ("like" if i % 2 else "dislike") if i % 5 == 0 else None,
        )
        for i, video in enumerate(videos)
    }

    # when listing a page of up to 100
    with CaptureQueriesContext(connection) as queries:
        response = client.get(VIDEOS, {"limit": 100})

    # then the session and the page are the only queries, and each row says what this viewer may do
    results = response.json()["results"]
    assert len(results) == min(rows, 100)
    assert len(queries) == 2, [query["sql"][:120] for query in queries]
    for item in results:
        assert (item["access"], item["required_plans"], item["my_rating"]) == expected[item["id"]]
        assert item["tags"][0] == "otter"  # tag names in name order
