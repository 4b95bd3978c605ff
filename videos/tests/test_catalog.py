"""The catalog through the API: the public list (search, filters, orderings, cursor pages), who may
see a video, the owner's list, metadata CRUD, deletion with storage clean-up, categories, and the
number of SQL queries each list and detail costs whatever the page size."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from testing.clients import assert_error, signed_in_client
from videos import storage
from videos.catalog import services
from videos.models import Tag, Video
from videos.tests.factories import CategoryFactory, DraftVideoFactory, VideoFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("cheap_password_hashing")]

VIDEOS = "/api/v1/videos"
MY_VIDEOS = "/api/v1/me/videos"
CATEGORIES = "/api/v1/categories"
Status = Video.Status
Visibility = Video.Visibility


def ids_of(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def walk(client, url) -> tuple[list[str], int]:
    """Follows `next` links from `url`; returns every id seen, in order, and the number of pages."""
    seen, pages = [], 0
    while url:
        response = client.get(url)
        seen += ids_of(response)
        pages += 1
        url = response.json()["next"]
        assert pages <= 20, f"pagination does not end; last page: {ids_of(response)}, next: {url}"
    return seen, pages


def ago(**delta):
    return timezone.now() - timedelta(**delta)


def video(**fields) -> Video:
    """A catalog video with text fields that never match searches by accident."""
    fields.setdefault("title", "Plain clip")
    fields.setdefault("description", "")
    return VideoFactory(**fields)


# --- the public list --------------------------------------------------------------------------------


def test_catalog_lists_only_ready_public_videos(api_client):
    # given one ready public video and videos in every other status or visibility
    listed = video()
    for status in (Status.DRAFT, Status.UPLOADED, Status.PROCESSING, Status.FAILED):
        video(status=status, published_at=None)
    video(visibility=Visibility.UNLISTED)
    video(visibility=Visibility.PRIVATE)
    DraftVideoFactory()

    # when anyone lists the catalog
    response = api_client.get(VIDEOS)

    # then only the ready public one is there, without the owner-only fields
    assert ids_of(response) == [str(listed.pk)]
    item = response.json()["results"][0]
    assert item["status"] == "ready" and item["visibility"] == "public"
    assert "failure_reason" not in item and "source_size" not in item


def test_catalog_is_the_same_for_a_signed_in_owner(auth_client):
    # given the caller owns an unlisted and a private ready video
    video(owner=auth_client.user, visibility=Visibility.UNLISTED)
    video(owner=auth_client.user, visibility=Visibility.PRIVATE)
    public = video()

    # when they list the public catalog
    response = auth_client.get(VIDEOS)

    # then their non-public videos are not in it (they are under me/videos)
    assert ids_of(response) == [str(public.pk)]


# --- search -----------------------------------------------------------------------------------------


def test_search_ranks_title_over_tags_over_description(api_client):
    # given "otter" in a title, in the tags of another video and only in the description of a third;
    # the newest first order would be the reverse
    in_title = video(title="Otter river", tags=["nature"], published_at=ago(days=3))
    in_tags = video(title="River trip", tags=["otter", "water"], published_at=ago(days=2))
    in_description = video(title="Lake trip", description="An otter swims by.", published_at=ago(days=1))
    video(title="Mountain walk", description="No animals here.")

    # when searching without an ordering
    response = api_client.get(VIDEOS, {"q": "otter"})

    # then relevance orders them: title, then tags, then description
    assert ids_of(response) == [str(in_title.pk), str(in_tags.pk), str(in_description.pk)]


def test_search_can_be_ordered_by_newest_instead_of_relevance(api_client):
    # given matches in the title (oldest) and in the description (newest)
    in_title = video(title="Otter river", published_at=ago(days=2))
    in_description = video(description="An otter swims by.", published_at=ago(days=1))

    # when searching with ordering=newest
    response = api_client.get(VIDEOS, {"q": "otter", "ordering": "newest"})

    # then the newest comes first whatever its rank
    assert ids_of(response) == [str(in_description.pk), str(in_title.pk)]


@pytest.mark.parametrize("query", ["Cats", "CAT", "cat", "cats sleeping"])
def test_search_stems_and_ignores_case(api_client, query):
    # given a title with "cat" and a sleeping verb
    match = video(title="A cat sleeps")
    video(title="A dog barks")

    # when searching with another form or case of the words
    response = api_client.get(VIDEOS, {"q": query})

    # then the english configuration finds it
    assert ids_of(response) == [str(match.pk)]


def test_search_without_match_is_empty(api_client):
    # given videos that do not mention zebras
    video(title="A cat sleeps", tags=["cat"], description="Calm.")

    # when searching for one
    response = api_client.get(VIDEOS, {"q": "zebra"})

    # then the page is empty and ends
    assert response.status_code == 200
    assert response.json()["results"] == [] and response.json()["next"] is None


def test_search_only_finds_catalog_videos(api_client):
    # given a matching public video and matching private, unlisted and draft ones
    public = video(title="Otter river")
    video(title="Otter river", visibility=Visibility.PRIVATE)
    video(title="Otter river", visibility=Visibility.UNLISTED)
    DraftVideoFactory(title="Otter river", visibility=Visibility.PUBLIC)

    # when searching
    response = api_client.get(VIDEOS, {"q": "otter"})

    # then only the catalog video is found
    assert ids_of(response) == [str(public.pk)]


def test_search_combines_with_filters(api_client):
    # given two videos about otters, one tagged "wildlife"
    tagged = video(title="Otter river", tags=["wildlife"])
    video(title="Otter lake")

    # when searching and filtering by the tag
    response = api_client.get(VIDEOS, {"q": "otter", "tag": "wildlife"})

    # then only the tagged one comes back
    assert ids_of(response) == [str(tagged.pk)]


def test_search_with_a_nul_character_is_refused_not_an_error(api_client):
    # given a catalog
    video(title="Otter river")

    # when the query string carries a NUL character (PostgreSQL text cannot hold one)
    response = api_client.get(f"{VIDEOS}?q=otter%00")

    # then the request is refused as invalid, not answered with a server error
    assert_error(response, 400, "validation_error")


# --- filters ----------------------------------------------------------------------------------------


def test_filter_by_tag_ignores_case(api_client):
    # given videos with different tags (tags are stored lowercased)
    cooking = video(tags=["Cooking", "food"])
    video(tags=["travel"])
    video()

    # when filtering with another case and surrounding spaces
    response = api_client.get(VIDEOS, {"tag": " COOKING "})

    # then the tagged video is found once
    assert ids_of(response) == [str(cooking.pk)]


def test_filter_by_category_slug(api_client):
    # given videos in two categories and one in none
    music = CategoryFactory(name="Music", slug="music")
    in_music = video(category=music)
    video(category=CategoryFactory(name="Sports", slug="sports"))
    video()

    # when filtering by the slug
    response = api_client.get(VIDEOS, {"category": "music"})

    # then only that category's videos come back, with the category in each item
    assert ids_of(response) == [str(in_music.pk)]
    assert response.json()["results"][0]["category"] == {"id": music.pk, "name": "Music", "slug": "music"}


def test_filter_by_unknown_category_is_empty(api_client):
    # given a video in a category
    video(category=CategoryFactory(slug="music"))

    # when filtering by a slug no category has
    response = api_client.get(VIDEOS, {"category": "no-such-shelf"})

    # then nothing matches
    assert ids_of(response) == []


def test_filter_by_owner_username(api_client):
    # given videos of two uploaders
    ada = UserFactory(username="ada")
    by_ada = video(owner=ada)
    video(owner=UserFactory(username="bob"))

    # when filtering by the username, in another case
    response = api_client.get(VIDEOS, {"owner": "ADA"})

    # then only that uploader's videos come back, with the owner in each item
    assert ids_of(response) == [str(by_ada.pk)]
    assert response.json()["results"][0]["owner"]["username"] == "ada"


def test_filter_by_duration_range_includes_its_bounds(api_client):
    # given videos of 30 s, 60 s, 90 s and 120 s
    by_length = {
        seconds: video(duration=float(seconds), published_at=ago(seconds=seconds)) for seconds in (30, 60, 90, 120)
    }

    # when filtering by a range, an open-ended minimum and an open-ended maximum
    both = api_client.get(VIDEOS, {"duration_min": "60", "duration_max": "90"})
    at_least = api_client.get(VIDEOS, {"duration_min": "90.0"})
    at_most = api_client.get(VIDEOS, {"duration_max": "45.5"})

    # then the bounds are inclusive (newest first: the shorter ones were published later)
    assert ids_of(both) == [str(by_length[60].pk), str(by_length[90].pk)]
    assert ids_of(at_least) == [str(by_length[90].pk), str(by_length[120].pk)]
    assert ids_of(at_most) == [str(by_length[30].pk)]


def test_filter_by_published_after_and_before(api_client):
    # given videos published on three days
    day = timezone.now().replace(microsecond=0) - timedelta(days=10)
    first = video(published_at=day)
    second = video(published_at=day + timedelta(days=1))
    third = video(published_at=day + timedelta(days=2))
    middle = (day + timedelta(days=1)).isoformat()

    # when filtering after, before and between
    after = api_client.get(VIDEOS, {"published_after": middle})
    before = api_client.get(VIDEOS, {"published_before": middle})
    between = api_client.get(
        VIDEOS, {"published_after": day.isoformat(), "published_before": (day + timedelta(days=2)).isoformat()}
    )

    # then "after" includes its instant and "before" excludes it
    assert ids_of(after) == [str(third.pk), str(second.pk)]
    assert ids_of(before) == [str(first.pk)]
    assert ids_of(between) == [str(second.pk), str(first.pk)]


@pytest.mark.parametrize(
    "name", ["tag", "category", "owner", "duration_min", "duration_max", "published_after", "published_before"]
)
def test_an_empty_filter_parameter_is_refused(api_client, name):
    # given a catalog
    video()

    # when a filter is sent without a value
    response = api_client.get(f"{VIDEOS}?{name}=")

    # then it is refused, naming the parameter
    assert_error(response, 400, "validation_error")
    assert name in response.json()["fields"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("duration_min", "long"),
        ("duration_max", "1e999"),
        ("published_after", "yesterday"),
        ("published_before", "2024-13-45"),
    ],
)
def test_a_malformed_filter_value_is_refused(api_client, name, value):
    # given a catalog
    video()

    # when a filter has a value of the wrong type
    response = api_client.get(VIDEOS, {name: value})

    # then it is refused, naming the parameter
    assert_error(response, 400, "validation_error")
    assert name in response.json()["fields"]


@pytest.mark.parametrize("ordering", ["oldest", "", "-newest", "published_at"])
def test_an_unknown_ordering_is_refused(api_client, ordering):
    # given a catalog
    video()

    # when asking for an ordering that does not exist
    response = api_client.get(VIDEOS, {"ordering": ordering})

    # then it is refused, naming the parameter
    assert_error(response, 400, "validation_error")
    assert "ordering" in response.json()["fields"]


# --- orderings --------------------------------------------------------------------------------------


@pytest.fixture
def three_videos():
    """Titles, publication times and view counts that each order differently."""
    return {
        "banana": video(title="Banana", published_at=ago(days=1), view_count=10),
        "apple": video(title="Apple", published_at=ago(days=3), view_count=500),
        "cherry": video(title="Cherry", published_at=ago(days=2), view_count=0),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["banana", "cherry", "apple"]),
        ({"ordering": "newest"}, ["banana", "cherry", "apple"]),
        ({"ordering": "most_viewed"}, ["apple", "banana", "cherry"]),
        ({"ordering": "title"}, ["apple", "banana", "cherry"]),
        ({"ordering": "relevance"}, ["banana", "cherry", "apple"]),  # without q: newest
    ],
)
def test_orderings(api_client, three_videos, params, expected):
    # given three videos (fixture)
    # when listing with an ordering
    response = api_client.get(VIDEOS, params)

    # then they come in that order
    assert ids_of(response) == [str(three_videos[name].pk) for name in expected]


# --- cursor pagination ------------------------------------------------------------------------------


@pytest.mark.parametrize("ordering", ["newest", "most_viewed", "title"])
def test_cursor_pages_cover_every_video_once(api_client, ordering):
    # given 7 videos with ties in publication time, view count and title (the cursor must cope)
    same_time = ago(hours=1)
    views = [5, 5, 5, 3, 3, 1, 0]
    titles = ["Alpha", "Alpha", "Beta", "Beta", "Beta", "Gamma", "Delta"]
    videos = [
        video(title=titles[i], view_count=views[i], published_at=same_time if i < 4 else ago(hours=i)) for i in range(7)
    ]

    # when following `next` links with limit=2
    seen, pages = walk(api_client, f"{VIDEOS}?ordering={ordering}&limit=2")

    # then 4 pages hold every video exactly once, in the order of one full page
    assert pages == 4
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == {str(v.pk) for v in videos}
    assert seen == ids_of(api_client.get(VIDEOS, {"ordering": ordering, "limit": 100}))


def test_cursor_pages_of_a_search_cover_every_match_once(api_client):
    # given 5 matches, some of equal relevance, and one video that does not match
    matches = [video(title="Otter river") for _ in range(2)]
    matches += [video(title="River trip", tags=["otter"]) for _ in range(2)]
    matches += [video(description="An otter swims by.")]
    video(title="Mountain walk")

    # when following `next` links of a search with limit=2
    seen, pages = walk(api_client, f"{VIDEOS}?q=otter&limit=2")

    # then every match comes once, by relevance
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == {str(v.pk) for v in matches}
    assert set(seen[:2]) == {str(v.pk) for v in matches[:2]}
    assert seen[4] == str(matches[4].pk)


def test_relevance_ranks_only_the_newest_matches_up_to_the_rank_limit(api_client, settings):
    # given a rank limit of 3 and 5 matches: the best (a title match) is the oldest
    settings.VIDEO_SEARCH_RANK_LIMIT = 3
    oldest_title_match = video(title="Otter river", published_at=ago(days=5))
    in_description = [video(description="An otter swims by.", published_at=ago(days=4 - i)) for i in range(2)]
    newer_title_match = video(title="Otter lake", published_at=ago(days=2))
    newest_in_tags = video(title="River trip", tags=["otter"], published_at=ago(days=1))

    # when searching by relevance, and following `next` links with limit=2
    ranked = ids_of(api_client.get(VIDEOS, {"q": "otter"}))
    seen, pages = walk(api_client, f"{VIDEOS}?q=otter&limit=2")

    # then the 3 newest matches come, best first, each once; the older ones are left out
    assert ranked == [str(newer_title_match.pk), str(newest_in_tags.pk), str(in_description[1].pk)]
    assert (seen, pages) == (ranked, 2)
    assert str(oldest_title_match.pk) not in ranked
    # and the limit is taken after the filters: with a tag filter, every match of the tag is ranked
    assert ids_of(api_client.get(VIDEOS, {"q": "otter", "tag": "otter"})) == [str(newest_in_tags.pk)]
    # and ordering by newest is not capped
    assert len(ids_of(api_client.get(VIDEOS, {"q": "otter", "ordering": "newest"}))) == 5


def test_default_page_size_is_20(api_client):
    # given 21 videos
    owner = UserFactory()
    Video.objects.bulk_create(
        [
            Video(
                owner=owner,
                title=f"Clip {i}",
                status=Status.READY,
                visibility=Visibility.PUBLIC,
                published_at=ago(minutes=i),
            )
            for i in range(21)
        ]
    )

    # when listing without a limit
    response = api_client.get(VIDEOS)

    # then one page holds 20 and points to the next
    assert len(ids_of(response)) == 20
    assert response.json()["next"] is not None


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5", "", "²"])
def test_an_invalid_limit_is_refused(api_client, limit):
    # given a catalog
    video()

    # when the limit is not a whole number from 1 up
    response = api_client.get(VIDEOS, {"limit": limit})

    # then it is refused, naming the parameter
    assert_error(response, 400, "validation_error")
    assert "limit" in response.json()["fields"]


def test_a_limit_above_100_is_capped(api_client):
    # given 101 catalog videos (inserted in one statement)
    owner = UserFactory()
    Video.objects.bulk_create(
        [
            Video(
                owner=owner,
                title=f"Clip {i}",
                status=Status.READY,
                visibility=Visibility.PUBLIC,
                published_at=ago(minutes=i),
            )
            for i in range(101)
        ]
    )

    # when asking for 1000 at once
    response = api_client.get(VIDEOS, {"limit": 1000})

    # then one page holds 100 and the next page the last one
    assert len(ids_of(response)) == 100
    assert len(ids_of(api_client.get(response.json()["next"]))) == 1


def test_a_forged_cursor_is_refused(api_client):
    # given a catalog
    video()

    # when the cursor is not one the API handed out
    response = api_client.get(VIDEOS, {"cursor": "not-a-cursor"})

    # then it is refused
    assert_error(response, 404, "not_found")


# --- detail -----------------------------------------------------------------------------------------

ANYONE = ("anonymous", "stranger", "owner", "staff")


@pytest.mark.parametrize(
    ("visibility", "status", "who_sees_it"),
    [
        (Visibility.PUBLIC, Status.READY, ANYONE),
        (Visibility.UNLISTED, Status.READY, ANYONE),
        (Visibility.PRIVATE, Status.READY, ("owner", "staff")),
        (Visibility.PUBLIC, Status.DRAFT, ("owner", "staff")),
        (Visibility.UNLISTED, Status.PROCESSING, ("owner", "staff")),
        (Visibility.PUBLIC, Status.FAILED, ("owner", "staff")),
        (Visibility.PRIVATE, Status.DRAFT, ("owner", "staff")),
    ],
)
def test_detail_visibility(visibility, status, who_sees_it):
    # given a video and four kinds of viewer
    owner = UserFactory()
    subject = VideoFactory(owner=owner, visibility=visibility, status=status)
    viewers = {
        "anonymous": APIClient(),
        "stranger": signed_in_client(UserFactory()),
        "owner": signed_in_client(owner),
        "staff": signed_in_client(UserFactory(is_staff=True, is_superuser=True)),
    }

    for name, client in viewers.items():
        # when each asks for it
        response = client.get(f"{VIDEOS}/{subject.pk}")

        # then those allowed see it and everyone else is told it does not exist
        if name in who_sees_it:
            assert response.status_code == 200, (name, response.content)
            assert response.json()["id"] == str(subject.pk)
        else:
            assert_error(response, 404, "not_found")


def test_an_unlisted_video_is_reachable_by_link_but_not_listed(api_client):
    # given an unlisted ready video
    unlisted = video(visibility=Visibility.UNLISTED)

    # when anyone lists the catalog and opens its link
    listed = api_client.get(VIDEOS)
    opened = api_client.get(f"{VIDEOS}/{unlisted.pk}")

    # then it is not listed but opens
    assert ids_of(listed) == []
    assert opened.status_code == 200 and opened.json()["visibility"] == "unlisted"


def test_the_owner_sees_failure_reason_and_source_size(auth_client):
    # given a failed video of the caller
    failed = VideoFactory(
        owner=auth_client.user,
        status=Status.FAILED,
        failure_reason="Not a video: no audio or video stream.",
        source_size=1234,
        published_at=None,
    )

    # when the owner opens it
    response = auth_client.get(f"{VIDEOS}/{failed.pk}")

    # then the owner-only fields are there
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "failed"
    assert body["failure_reason"] == "Not a video: no audio or video stream."
    assert body["source_size"] == 1234


def test_others_do_not_see_owner_only_fields(api_client, auth_client):
    # given someone else's public video with a stored source
    public = video(source_size=999)

    # when a stranger and an anonymous viewer open it
    for client in (api_client, auth_client):
        body = client.get(f"{VIDEOS}/{public.pk}").json()

        # then the owner-only fields are absent
        assert body["id"] == str(public.pk)
        assert "failure_reason" not in body and "source_size" not in body


@pytest.mark.parametrize("path", ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "123"])
def test_detail_of_an_unknown_video_is_not_found(api_client, path):
    # given no such video
    # when asking for it
    response = api_client.get(f"{VIDEOS}/{path}")

    # then it is not found
    assert_error(response, 404, "not_found")


# --- my videos --------------------------------------------------------------------------------------


def test_my_videos_lists_every_status_and_visibility_but_only_mine(auth_client):
    # given my videos in every status and visibility, and someone else's
    mine = [
        VideoFactory(owner=auth_client.user, status=status, visibility=visibility)
        for status, visibility in [
            (Status.DRAFT, Visibility.PRIVATE),
            (Status.UPLOADED, Visibility.PUBLIC),
            (Status.PROCESSING, Visibility.UNLISTED),
            (Status.READY, Visibility.PUBLIC),
            (Status.READY, Visibility.PRIVATE),
            (Status.FAILED, Visibility.PUBLIC),
        ]
    ]
    video()
    DraftVideoFactory()

    # when I list my videos
    response = auth_client.get(MY_VIDEOS)

    # then all of mine come back, newest first, with the owner-only fields
    assert ids_of(response) == [str(v.pk) for v in reversed(mine)]
    assert {item["status"] for item in response.json()["results"]} == set(Status.values)
    assert all("failure_reason" in item and "source_size" in item for item in response.json()["results"])


def test_my_videos_needs_a_signed_in_user(api_client):
    # given no credentials
    # when listing "my" videos
    response = api_client.get(MY_VIDEOS)

    # then the caller must sign in
    assert_error(response, 401, "not_authenticated")


def test_my_videos_pages_with_a_cursor(auth_client):
    # given 5 of my videos
    mine = [DraftVideoFactory(owner=auth_client.user) for _ in range(5)]

    # when following `next` links with limit=2
    seen, pages = walk(auth_client, f"{MY_VIDEOS}?limit=2")

    # then each comes once
    assert pages == 3
    assert seen == [str(v.pk) for v in reversed(mine)]


# --- create -----------------------------------------------------------------------------------------


def test_create_answers_with_a_private_draft_and_its_upload_options(auth_client):
    # given a signed-in uploader
    # when they create a video with messy tags
    response = auth_client.post(
        VIDEOS,
        {"title": "My trip", "description": "Mountains.", "tags": ["Hiking", " hiking ", "ALPS", "alps", "Snow"]},
        format="json",
    )

    # then it is a private draft with normalised tags, and the answer says where to upload
    assert response.status_code == 201, response.content
    body = response.json()
    created = body["video"]
    assert created["status"] == "draft"
    assert created["visibility"] == "private"
    assert created["published_at"] is None
    assert created["owner"]["username"] == auth_client.user.username
    assert sorted(created["tags"]) == ["alps", "hiking", "snow"]
    assert body["upload"]["single_url"] == f"http://testserver{VIDEOS}/{created['id']}/source"
    assert body["upload"]["resumable_url"] == f"http://testserver{VIDEOS}/{created['id']}/uploads"
    assert body["upload"]["max_bytes"] > 0
    stored = Video.objects.get(pk=created["id"])
    assert stored.owner == auth_client.user
    assert sorted(stored.tags.values_list("name", flat=True)) == ["alps", "hiking", "snow"]
    assert Tag.objects.filter(name__iexact="hiking").count() == 1


def test_create_reuses_existing_tags(auth_client):
    # given a tag that already exists
    video(tags=["hiking"])

    # when a new video uses it in another case
    response = auth_client.post(VIDEOS, {"title": "Trail", "tags": ["HIKING"]}, format="json")

    # then the tag is shared, not duplicated
    assert response.status_code == 201, response.content
    assert Tag.objects.filter(name__iexact="hiking").count() == 1


def test_create_with_category_and_visibility(auth_client):
    # given a category
    CategoryFactory(name="Travel", slug="travel")

    # when creating a video in it, unlisted
    response = auth_client.post(
        VIDEOS, {"title": "Trip", "category": "travel", "visibility": "unlisted"}, format="json"
    )

    # then both are kept
    assert response.status_code == 201, response.content
    assert response.json()["video"]["category"]["slug"] == "travel"
    assert response.json()["video"]["visibility"] == "unlisted"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "Trip", "category": "no-such-shelf"}, "category"),
        ({"title": "Trip", "visibility": "secret"}, "visibility"),
        ({"title": "Trip", "tags": [f"tag{i}" for i in range(21)]}, "tags"),
        ({"title": "Trip", "tags": ["x" * 41]}, "tags"),
        ({"title": "Trip", "tags": "hiking"}, "tags"),
        ({"title": "Trip", "description": "x" * 5001}, "description"),
        # held to the schema as sent: lengths before trimming, no "" for a relation
        ({"title": "x" * 200 + " "}, "title"),
        ({"title": "Trip", "tags": ["x" * 40 + "\t"]}, "tags"),
        ({"title": "Trip", "category": ""}, "category"),
        # PostgreSQL text cannot hold NUL: a slug with one is refused before any lookup
        ({"title": "Trip", "category": "\u0000"}, "category"),
    ],
)
def test_create_refuses_invalid_metadata(auth_client, payload, field):
    # given a signed-in uploader
    # when the metadata is invalid
    response = auth_client.post(VIDEOS, payload, format="json")

    # then it is refused, naming the field, and nothing is created
    assert_error(response, 400, "validation_error")
    assert field in response.json()["fields"]
    assert not Video.objects.exists()


def test_create_accepts_exactly_20_tags(auth_client):
    # given 20 distinct tags
    tags = [f"tag{i}" for i in range(20)]

    # when creating a video with them
    response = auth_client.post(VIDEOS, {"title": "Trip", "tags": tags}, format="json")

    # then all are kept
    assert response.status_code == 201, response.content
    assert sorted(response.json()["video"]["tags"]) == sorted(tags)


def test_create_refuses_a_tag_that_grows_past_40_characters_when_lowercased(auth_client):
    # given a 40-character tag whose lowercase is longer ("İ".lower() is two characters)
    tag = "İ" * 40

    # when creating a video with it
    response = auth_client.post(VIDEOS, {"title": "Trip", "tags": [tag]}, format="json")

    # then it is refused as invalid input, not answered with a server error
    assert_error(response, 400, "validation_error")
    assert "tags" in response.json()["fields"]


def test_create_needs_a_signed_in_user(api_client):
    # given no credentials
    # when creating a video
    response = api_client.post(VIDEOS, {"title": "Trip"}, format="json")

    # then the caller must sign in, and nothing is created
    assert_error(response, 401, "not_authenticated")
    assert not Video.objects.exists()


# --- edit -------------------------------------------------------------------------------------------


def test_owner_edits_metadata_and_search_follows(auth_client, api_client):
    # given the caller's public video with old metadata
    CategoryFactory(name="Nature", slug="nature")
    mine = video(owner=auth_client.user, title="Old name", tags=["old", "stale"])

    # when they change title, description, tags and category
    response = auth_client.patch(
        f"{VIDEOS}/{mine.pk}",
        {"title": "Walrus colony", "description": "Arctic shore.", "tags": ["Ice", "ice", "Sea"], "category": "nature"},
        format="json",
    )

    # then the answer and the row show the new metadata
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["title"] == "Walrus colony" and body["description"] == "Arctic shore."
    assert sorted(body["tags"]) == ["ice", "sea"]
    assert body["category"]["slug"] == "nature"
    assert "failure_reason" in body  # the owner's view
    mine.refresh_from_db()
    assert mine.title == "Walrus colony"
    # and search finds the new words, not the old ones
    assert ids_of(api_client.get(VIDEOS, {"q": "walrus"})) == [str(mine.pk)]
    assert ids_of(api_client.get(VIDEOS, {"q": "sea"})) == [str(mine.pk)]
    assert ids_of(api_client.get(VIDEOS, {"q": "old"})) == []
    assert ids_of(api_client.get(VIDEOS, {"tag": "stale"})) == []


def test_a_partial_edit_leaves_other_fields_alone(auth_client):
    # given the caller's video with tags and a category
    music = CategoryFactory(slug="music")
    mine = video(owner=auth_client.user, title="Song", description="Live.", tags=["guitar"], category=music)

    # when only the title changes
    response = auth_client.patch(f"{VIDEOS}/{mine.pk}", {"title": "Song (live)"}, format="json")

    # then everything else is kept, and search still finds it by tag
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["description"] == "Live." and body["tags"] == ["guitar"] and body["category"]["slug"] == "music"
    assert ids_of(auth_client.get(VIDEOS, {"q": "guitar"})) == [str(mine.pk)]


def test_an_edit_can_clear_tags_and_category(auth_client):
    # given the caller's video with tags and a category
    mine = video(owner=auth_client.user, tags=["guitar"], category=CategoryFactory(slug="music"))

    # when they send no tags and no category
    response = auth_client.patch(f"{VIDEOS}/{mine.pk}", {"tags": [], "category": None}, format="json")

    # then both are gone
    assert response.status_code == 200, response.content
    assert response.json()["tags"] == [] and response.json()["category"] is None


def test_an_invalid_edit_changes_nothing(auth_client):
    # given the caller's video
    mine = video(owner=auth_client.user, title="Keep me")

    # when the new title is blank
    response = auth_client.patch(f"{VIDEOS}/{mine.pk}", {"title": "", "description": "Changed."}, format="json")

    # then it is refused and nothing changed
    assert_error(response, 400, "validation_error")
    assert "title" in response.json()["fields"]
    mine.refresh_from_db()
    assert mine.title == "Keep me" and mine.description == ""


def test_a_stranger_cannot_edit_and_is_told_not_found(auth_client):
    # given someone else's public video
    theirs = video(title="Theirs")

    # when the caller tries to rename it
    response = auth_client.patch(f"{VIDEOS}/{theirs.pk}", {"title": "Mine now"}, format="json")

    # then it does not exist for them, and nothing changed
    assert_error(response, 404, "not_found")
    theirs.refresh_from_db()
    assert theirs.title == "Theirs"


def test_an_anonymous_edit_needs_sign_in(api_client):
    # given a public video
    theirs = video(title="Theirs")

    # when an anonymous caller tries to rename it
    response = api_client.patch(f"{VIDEOS}/{theirs.pk}", {"title": "Mine now"}, format="json")

    # then they must sign in
    assert_error(response, 401, "not_authenticated")


def test_staff_may_edit_any_video(staff_client):
    # given someone's private draft
    theirs = DraftVideoFactory(title="Rude title")

    # when staff rename it
    response = staff_client.patch(f"{VIDEOS}/{theirs.pk}", {"title": "Moderated"}, format="json")

    # then it is renamed
    assert response.status_code == 200, response.content
    theirs.refresh_from_db()
    assert theirs.title == "Moderated"


def test_a_ready_video_made_public_is_published(auth_client, api_client):
    # given the caller's ready private video, never published
    mine = video(owner=auth_client.user, visibility=Visibility.PRIVATE, published_at=None)
    before = timezone.now()

    # when they make it public
    response = auth_client.patch(f"{VIDEOS}/{mine.pk}", {"visibility": "public"}, format="json")

    # then it gets its publication time and enters the catalog
    assert response.status_code == 200, response.content
    mine.refresh_from_db()
    assert mine.published_at is not None and mine.published_at >= before
    assert response.json()["published_at"] is not None
    assert ids_of(api_client.get(VIDEOS)) == [str(mine.pk)]


def test_publication_time_is_set_once(auth_client):
    # given the caller's video published a week ago
    published = ago(days=7)
    mine = video(owner=auth_client.user, published_at=published)

    # when they hide it and show it again
    auth_client.patch(f"{VIDEOS}/{mine.pk}", {"visibility": "private"}, format="json")
    response = auth_client.patch(f"{VIDEOS}/{mine.pk}", {"visibility": "public"}, format="json")

    # then it keeps its first publication time
    assert response.status_code == 200, response.content
    mine.refresh_from_db()
    assert mine.published_at == published


@pytest.mark.parametrize("visibility", ["public", "unlisted"])
def test_a_draft_made_public_is_not_published_yet(auth_client, visibility):
    # given the caller's draft
    draft = DraftVideoFactory(owner=auth_client.user)

    # when they make it public or unlisted
    response = auth_client.patch(f"{VIDEOS}/{draft.pk}", {"visibility": visibility}, format="json")

    # then it has no publication time until it is ready
    assert response.status_code == 200, response.content
    draft.refresh_from_db()
    assert draft.visibility == visibility and draft.published_at is None


# --- delete -----------------------------------------------------------------------------------------


def test_owner_deletes_a_video_and_its_storage_clean_up_is_queued(
    auth_client, django_capture_on_commit_callbacks, monkeypatch
):
    # given the caller's video (and the task's queueing recorded instead of sent to the broker)
    from videos import tasks

    queued = []
    monkeypatch.setattr(tasks.delete_video_storage, "delay", lambda *args: queued.append(args))
    mine = video(owner=auth_client.user, tags=["gone"])

    # when they delete it
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = auth_client.delete(f"{VIDEOS}/{mine.pk}")

    # then it is gone at once and the clean-up task is queued after commit, with the video's id
    assert response.status_code == 204, response.content
    assert not Video.objects.filter(pk=mine.pk).exists()
    assert len(callbacks) == 1
    assert queued == [(str(mine.pk),)]
    assert_error(auth_client.get(f"{VIDEOS}/{mine.pk}"), 404, "not_found")


def test_a_stranger_cannot_delete_and_is_told_not_found(auth_client, django_capture_on_commit_callbacks):
    # given someone else's public video
    theirs = video()

    # when the caller tries to delete it
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = auth_client.delete(f"{VIDEOS}/{theirs.pk}")

    # then it does not exist for them, and nothing is deleted or queued
    assert_error(response, 404, "not_found")
    assert Video.objects.filter(pk=theirs.pk).exists()
    assert callbacks == []


def test_an_anonymous_delete_needs_sign_in(api_client):
    # given a public video
    theirs = video()

    # when an anonymous caller tries to delete it
    response = api_client.delete(f"{VIDEOS}/{theirs.pk}")

    # then they must sign in, and it stays
    assert_error(response, 401, "not_authenticated")
    assert Video.objects.filter(pk=theirs.pk).exists()


def test_staff_may_delete_any_video(staff_client, django_capture_on_commit_callbacks):
    # given someone's video
    theirs = video()

    # when staff delete it
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.delete(f"{VIDEOS}/{theirs.pk}")

    # then it is gone and its clean-up queued
    assert response.status_code == 204, response.content
    assert not Video.objects.filter(pk=theirs.pk).exists()
    assert len(callbacks) == 1


def test_storage_clean_up_removes_every_object_of_the_video_and_nothing_else():
    # given objects of a video (source, renditions) in S3, an unfinished multipart upload under its
    # prefix, and an object of another video
    assert storage.uses_s3()
    doomed, kept = video(), video()
    keys = [f"{doomed.storage_prefix}source/abc", f"{doomed.storage_prefix}hls/v1/720p/segment-1.m4s"]
    for key in keys:
        default_storage.save(key, ContentFile(b"bytes"))
    other_key = default_storage.save(f"{kept.storage_prefix}source/def", ContentFile(b"bytes"))
    client, bucket = storage.s3_client(), storage.s3_bucket()
    client.create_multipart_upload(Bucket=bucket, Key=f"{doomed.storage_prefix}source/pending")

    # when the clean-up runs (twice: the task may be delivered again)
    deleted = services.delete_storage(video_id=str(doomed.pk))
    again = services.delete_storage(video_id=str(doomed.pk))

    # then the video's objects and pending upload are gone, and the other video's object stays
    assert deleted == 2 and again == 0
    assert not any(default_storage.exists(key) for key in keys)
    assert client.list_multipart_uploads(Bucket=bucket, Prefix=doomed.storage_prefix).get("Uploads", []) == []
    assert default_storage.exists(other_key)
    default_storage.delete(other_key)


# --- categories -------------------------------------------------------------------------------------


def test_categories_are_listed_for_anyone_by_name(api_client):
    # given three categories
    CategoryFactory(name="Sports", slug="sports")
    CategoryFactory(name="Music", slug="music")
    CategoryFactory(name="Comedy", slug="comedy")

    # when anyone lists them
    response = api_client.get(CATEGORIES)

    # then all come, by name, in one unpaginated list
    assert response.status_code == 200, response.content
    assert [(c["name"], c["slug"]) for c in response.json()] == [
        ("Comedy", "comedy"),
        ("Music", "music"),
        ("Sports", "sports"),
    ]


# --- query budgets ----------------------------------------------------------------------------------


def count_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content
    return len(queries)


def catalog_videos(count, **fields):
    """Videos with 3 tags each, their own owner and category."""
    return [
        VideoFactory(
            title=f"Otter clip {i}",
            tags=[f"tag{i}", f"shared{i % 3}", "otter"],
            category=CategoryFactory(slug=f"budget-{i}"),
            **fields,
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("params", [{}, {"q": "otter"}, {"tag": "otter", "ordering": "title"}])
@pytest.mark.parametrize("signed_in", [False, True])
def test_the_list_costs_the_same_queries_for_2_or_30_videos(params, signed_in):
    # given a client (signed-in ones make one request first, so the session is cached and touched)
    client = signed_in_client(UserFactory()) if signed_in else APIClient()
    client.get(VIDEOS)
    catalog_videos(2)

    # when listing 2 and then 30 videos
    small = count_queries(client, VIDEOS, {**params, "limit": 50})
    catalog_videos(28)
    large = count_queries(client, VIDEOS, {**params, "limit": 50})

    # then the count does not grow
    assert len(ids_of(client.get(VIDEOS, {**params, "limit": 50}))) == 30
    print(f"\nQUERIES list signed_in={signed_in} params={params}: 2 videos={small}, 30 videos={large}")
    assert small == large


@pytest.mark.parametrize("viewer", ["anonymous", "owner", "staff"])
def test_the_detail_costs_the_same_queries_with_0_or_5_tags(viewer):
    # given a video without tags and one with 5
    owner = UserFactory()
    category = CategoryFactory()
    bare = VideoFactory(owner=owner, category=category)
    tagged = VideoFactory(owner=owner, category=category, tags=[f"tag{i}" for i in range(5)])
    client = {
        "anonymous": APIClient,
        "owner": lambda: signed_in_client(owner),
        "staff": lambda: signed_in_client(UserFactory(is_staff=True, is_superuser=True)),
    }[viewer]()
    client.get(f"{VIDEOS}/{bare.pk}")  # warms the session cache of signed-in clients

    # when opening each
    without_tags = count_queries(client, f"{VIDEOS}/{bare.pk}")
    with_tags = count_queries(client, f"{VIDEOS}/{tagged.pk}")

    # then the count is the same
    print(f"\nQUERIES detail viewer={viewer}: 0 tags={without_tags}, 5 tags={with_tags}")
    assert without_tags == with_tags


def test_my_videos_cost_the_same_queries_for_2_or_30_videos(auth_client):
    # given a signed-in owner whose session is cached
    auth_client.get(MY_VIDEOS)
    catalog_videos(2, owner=auth_client.user)

    # when listing 2 and then 30 of my videos (some not ready)
    small = count_queries(auth_client, MY_VIDEOS, {"limit": 50})
    catalog_videos(20, owner=auth_client.user)
    catalog_videos(8, owner=auth_client.user, status=Status.FAILED, visibility=Visibility.PRIVATE)
    large = count_queries(auth_client, MY_VIDEOS, {"limit": 50})

    # then the count does not grow
    assert len(ids_of(auth_client.get(MY_VIDEOS, {"limit": 50}))) == 30
    print(f"\nQUERIES me/videos: 2 videos={small}, 30 videos={large}")
    assert small == large


@pytest.mark.parametrize(
    ("value", "status"),
    [("0162-05-06T10:55:15+18:33", 200), ("2026-01-01T00:00:00-23:59", 200), ("0001-01-01T00:00:00+18:00", 400)],
)
def test_published_filters_take_any_offset_without_a_server_error(api_client, value, status):
    # given a date-time with an offset PostgreSQL refuses, or one that leaves the calendar in UTC
    # when it filters the catalog
    response = api_client.get("/api/v1/videos", {"published_after": value})
    # then it is compared in UTC, or refused as out of range
    assert response.status_code == status, response.content
    if status == 400:
        assert response.json()["code"] == "validation_error"
