"""Events are written by the services that change things, in their transaction, and cheaply."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from accounts.subscriptions import services as subscription_services
from accounts.tests.factories import PlanFactory, UserFactory
from videos.catalog import services as catalog_services
from videos.models import Video
from videos.pipeline import jobs
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookMessage

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_networks")]
HOOK = "http://127.0.0.1:9/hook"
VIDEO_EVENTS = ["video.created", "video.updated", "video.deleted", "video.failed", "video.upload.completed"]


def types() -> list[str]:
    return list(WebhookMessage.objects.order_by("created_at", "event_type").values_list("event_type", flat=True))


def test_video_services_emit_their_events():
    owner = UserFactory()
    services.endpoint_create(owner=owner, url=HOOK, event_types=VIDEO_EVENTS)
    video = catalog_services.video_create(owner=owner, title="Lifecycle")
    catalog_services.video_update(video=video, title="Renamed")
    jobs._fail_video(video.pk, "broken")
    video_id = str(video.pk)
    catalog_services.video_delete(video=video)
    bodies = [json.loads(m.body) for m in WebhookMessage.objects.order_by("created_at")]
    assert [b["type"] for b in bodies][:2] == ["video.created", "video.updated"]
    assert bodies[1]["data"]["title"] == "Renamed"
    assert {b["type"] for b in bodies} == {"video.created", "video.updated", "video.failed", "video.deleted"}
    deleted = next(b for b in bodies if b["type"] == "video.deleted")
    assert deleted["data"]["id"] == video_id


def test_a_ready_video_does_not_emit_failed():
    owner = UserFactory()
    services.endpoint_create(owner=owner, url=HOOK, event_types=["video.failed"])
    video = catalog_services.video_create(owner=owner, title="Ready")
    Video.objects.filter(pk=video.pk).update(status=Video.Status.READY)
    jobs._fail_video(video.pk, "late failure")
    assert types() == []


def test_a_rolled_back_change_leaves_no_event():
    owner = UserFactory()
    services.endpoint_create(owner=owner, url=HOOK, event_types=["video.created"])
    with pytest.raises(RuntimeError), transaction.atomic():
        catalog_services.video_create(owner=owner, title="Never")
        raise RuntimeError
    assert not WebhookMessage.objects.exists() and not WebhookDelivery.objects.exists()


def test_account_and_subscription_events_reach_the_right_endpoints():
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="receive_all_events"))
    account_events = ["user.created", "user.deactivated", "subscription.created", "subscription.canceled"]
    services.endpoint_create(owner=staff, url=HOOK, event_types=account_events, receive_all=True)
    subscriber = UserFactory()
    mine = services.endpoint_create(owner=subscriber, url=HOOK, event_types=["subscription.created"]).endpoint

    user = account_services.user_create_by_staff(
        by=None, email="n@example.com", username="newbie", password="a-long-pass-phrase-1"
    )
    account_services.user_deactivate(user=user)
    subscription_services.subscription_grant(user=subscriber, plan=PlanFactory(), staff_user=staff)

    assert sorted(types()) == ["subscription.created", "user.created", "user.deactivated"]
    assert WebhookDelivery.objects.filter(endpoint=mine).get().message.event_type == "subscription.created"
    created = json.loads(WebhookMessage.objects.get(event_type="user.created").body)
    assert created["data"]["email"] == "n@example.com"


def test_without_subscribers_an_event_costs_one_query():
    owner = UserFactory()
    video = catalog_services.video_create(owner=owner, title="Quiet")
    with CaptureQueriesContext(connection) as queries:
        assert services.emit("video.updated", video) == 0
    assert len(queries) == 1


def test_a_batch_of_events_is_one_insert_per_table():
    owner = UserFactory()
    services.endpoint_create(owner=owner, url=HOOK, event_types=["video.updated"])
    videos = [Video(owner=owner, title=f"v{i}") for i in range(200)]
    Video.objects.bulk_create(videos)

    with CaptureQueriesContext(connection) as queries:
        made = services.emit_many("video.updated", videos)
    assert made == 200 and WebhookMessage.objects.count() == 200
    # The writes: one INSERT of messages, one of deliveries (the representations only read).
    inserts = [q["sql"] for q in queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 2


def test_a_new_caption_track_emits_caption_ready_with_its_representation():
    from videos.captions.services import caption_create
    from videos.tests.test_captions import VTT, published_video

    owner, stranger = UserFactory(), UserFactory()
    services.endpoint_create(owner=owner, url=HOOK, event_types=["caption.ready"])
    services.endpoint_create(owner=stranger, url=HOOK, event_types=["caption.ready"])
    video = published_video(owner)
    caption = caption_create(video=video, language="fr", label="Français", kind="captions", content=VTT)
    (message,) = WebhookMessage.objects.all()
    body = json.loads(message.body)
    assert body["type"] == "caption.ready"
    assert body["data"]["id"] == str(caption.pk) and body["data"]["video_id"] == str(video.pk)
    assert body["data"]["language"] == "fr" and body["data"]["kind"] == "captions"
    # only the video owner's endpoint gets it
    assert list(WebhookDelivery.objects.values_list("endpoint__owner", flat=True)) == [owner.pk]
