"""The webhooks API: my endpoints only, secrets shown once, staff-only events, the delivery log
and replays."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from sessions_app.access_tokens.scopes import Scope
from testing.clients import assert_error, signed_in_client, token_client
from videos.catalog import services as catalog_services
from webhooks import delivery as sending
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_networks")]
HOOK = "http://127.0.0.1:9/hook"


def create(client, **body):
    return client.post("/api/v1/webhooks", {"url": HOOK, "event_types": ["video.created"], **body}, format="json")


def test_create_shows_the_secret_once_and_stores_it_encrypted():
    client = signed_in_client(UserFactory())
    response = create(client, description="CI")
    assert response.status_code == 201, response.content
    secret = response.json()["secret"]
    assert secret.startswith("whsec_") and response["Cache-Control"] == "no-store"
    endpoint = WebhookEndpoint.objects.get()
    assert secret not in endpoint.encrypted_secret
    detail = client.get(f"/api/v1/webhooks/{endpoint.pk}").json()
    assert "secret" not in detail and detail["event_types"] == ["video.created"]
    assert [e["id"] for e in client.get("/api/v1/webhooks").json()["results"]] == [str(endpoint.pk)]


def test_another_users_endpoint_is_not_found_for_every_action():
    endpoint_owner = signed_in_client(UserFactory())
    endpoint_id = create(endpoint_owner).json()["id"]
    delivery_id = endpoint_owner.post(f"/api/v1/webhooks/{endpoint_id}/test").json()["id"]
    other = signed_in_client(UserFactory())
    base = f"/api/v1/webhooks/{endpoint_id}"
    for method, path, body in [
        ("get", base, None),
        ("patch", base, {"description": "mine now"}),
        ("delete", base, None),
        ("post", f"{base}/rotate-secret", None),
        ("post", f"{base}/test", None),
        ("get", f"{base}/deliveries", None),
        ("post", f"{base}/deliveries/{delivery_id}/resend", None),
        ("post", f"{base}/recover", {"since": timezone.now().isoformat()}),
    ]:
        assert_error(getattr(other, method)(path, body, format="json"), 404, "not_found")
    assert other.get("/api/v1/webhooks").json()["results"] == []
    assert WebhookEndpoint.objects.get().description == ""


def test_a_delivery_of_another_endpoint_is_not_found_under_mine():
    client = signed_in_client(UserFactory())
    first, second = create(client).json()["id"], create(client).json()["id"]
    delivery_id = client.post(f"/api/v1/webhooks/{first}/test").json()["id"]
    assert_error(client.post(f"/api/v1/webhooks/{second}/deliveries/{delivery_id}/resend"), 404, "not_found")


def test_staff_only_events_and_receive_all_need_the_permission():
    client = signed_in_client(UserFactory(is_staff=True))
    assert_error(create(client, event_types=["user.created"]), 403, "webhook_events_not_allowed")
    assert_error(create(client, receive_all=True), 403, "webhook_events_not_allowed")
    assert not WebhookEndpoint.objects.exists()

    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="receive_all_events"))
    allowed = signed_in_client(staff)
    response = create(allowed, event_types=["user.created", "video.created"], receive_all=True)
    assert response.status_code == 201, response.content
    # a token without the `staff` scope carries no staff powers
    tokened = token_client(staff, [Scope.WEBHOOKS_MANAGE])
    assert_error(create(tokened, event_types=["user.created"]), 403, "webhook_events_not_allowed")


def test_a_staff_endpoint_receives_every_users_videos_and_account_events():
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="receive_all_events"))
    response = create(signed_in_client(staff), event_types=["user.created", "video.created"], receive_all=True)
    assert response.status_code == 201
    mine = create(signed_in_client(UserFactory())).json()["id"]
    stranger = UserFactory()
    catalog_services.video_create(owner=stranger, title="Someone else's")
    deliveries = WebhookDelivery.objects.select_related("message")
    assert {(str(d.endpoint_id), d.message.event_type) for d in deliveries} == {
        (response.json()["id"], "video.created")
    }
    assert mine not in {str(d.endpoint_id) for d in deliveries}


def test_bad_input_is_a_validation_error_that_changes_nothing():
    client = signed_in_client(UserFactory())
    for body in [
        {"url": HOOK, "event_types": []},
        {"url": HOOK, "event_types": ["video.exploded"]},
        {"url": HOOK, "event_types": ["video.created", "video.created"]},
        {"url": HOOK, "event_types": ["video.created"], "description": "evil\u202etxt"},
        {"url": 7, "event_types": ["video.created"]},
        {"url": "x" * 2001, "event_types": ["video.created"]},
        {"url": HOOK, "event_types": "video.created"},
    ]:
        assert_error(client.post("/api/v1/webhooks", body, format="json"), 400, "validation_error")
    assert not WebhookEndpoint.objects.exists()


def test_patch_changes_only_what_is_sent_and_turning_off_fails_what_was_pending():
    owner = UserFactory()
    client = signed_in_client(owner)
    endpoint_id = create(client).json()["id"]
    catalog_services.video_create(owner=owner, title="Pending")
    response = client.patch(f"/api/v1/webhooks/{endpoint_id}", {"is_active": False}, format="json")
    assert response.status_code == 200
    assert (response.json()["is_active"], response.json()["disabled_reason"]) == (False, "owner")
    assert response.json()["event_types"] == ["video.created"]
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.FAILED
    assert_error(client.post(f"/api/v1/webhooks/{endpoint_id}/test"), 409, "webhook_endpoint_disabled")

    # on again, recover sends the failed one again
    assert client.patch(f"/api/v1/webhooks/{endpoint_id}", {"is_active": True}, format="json").status_code == 200
    since = (timezone.now() - timezone.timedelta(hours=1)).isoformat()
    response = client.post(f"/api/v1/webhooks/{endpoint_id}/recover", {"since": since}, format="json")
    assert response.status_code == 202 and response.json() == {"requeued": 1}
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.PENDING


def test_deliveries_list_the_log_and_resend_keeps_the_webhook_id(receiver):
    owner = UserFactory()
    client = signed_in_client(owner)
    endpoint_id = create(client, url=receiver.url).json()["id"]
    test = client.post(f"/api/v1/webhooks/{endpoint_id}/test")
    assert test.status_code == 202 and test.json()["event_type"] == "webhook.test"
    sending.deliver_next(endpoint_id)
    page = client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries").json()
    [row] = page["results"]
    assert (row["status"], row["attempts"], row["response_code"], row["response_excerpt"]) == (
        "succeeded",
        1,
        200,
        "ok",
    )
    assert row["duration_ms"] is not None and row["next_attempt_at"] is None
    assert client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries?status=failed").json()["results"] == []
    assert_error(client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries?status=bogus"), 400, "validation_error")

    resent = client.post(f"/api/v1/webhooks/{endpoint_id}/deliveries/{row['id']}/resend")
    assert resent.status_code == 202 and resent.json()["status"] == "pending"
    sending.deliver_next(endpoint_id)
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == row["webhook_id"]


def test_the_deliveries_page_costs_the_same_queries_for_5_and_50_rows():
    owner = UserFactory()
    client = signed_in_client(owner)
    endpoint_id = create(client).json()["id"]

    def page_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries?limit=100").status_code == 200
        return len(queries)

    for _ in range(5):
        catalog_services.video_create(owner=owner, title="x")
    few = page_queries()
    for _ in range(45):
        catalog_services.video_create(owner=owner, title="x")
    assert page_queries() == few


def test_rotate_answers_a_new_secret_and_the_event_catalogue_is_served():
    client = signed_in_client(UserFactory())
    created = create(client).json()
    rotated = client.post(f"/api/v1/webhooks/{created['id']}/rotate-secret")
    assert rotated.status_code == 200 and rotated.json()["secret"] != created["secret"]
    assert rotated.json()["previous_secret_expires_at"] is not None
    catalogue = {e["type"]: e for e in client.get("/api/v1/webhooks/event-types").json()}
    assert {"video.ready", "caption.ready", "subscription.created"} <= set(catalogue)
    assert catalogue["user.verified"]["staff_only"] and not catalogue["video.ready"]["staff_only"]


def test_tokens_need_the_webhooks_scope():
    user = UserFactory()
    assert token_client(user, [Scope.VIDEOS_READ]).get("/api/v1/webhooks").status_code == 403
    assert token_client(user, [Scope.WEBHOOKS_MANAGE]).get("/api/v1/webhooks").status_code == 200


def test_delete_removes_the_endpoint_and_its_log():
    owner = UserFactory()
    client = signed_in_client(owner)
    endpoint_id = create(client).json()["id"]
    catalog_services.video_create(owner=owner, title="Logged")
    assert client.delete(f"/api/v1/webhooks/{endpoint_id}").status_code == 204
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()


def test_the_endpoint_limit(settings):
    settings.WEBHOOK_ENDPOINTS_PER_USER = 2
    client = signed_in_client(UserFactory())
    create(client), create(client)
    assert_error(create(client), 409, "webhook_endpoint_limit")
