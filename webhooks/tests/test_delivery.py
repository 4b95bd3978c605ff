"""Deliveries to a real receiver on loopback, each verified with the `standardwebhooks` library."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from accounts.models import OutboundEmail
from accounts.tests.factories import UserFactory
from testing.webhooks import Receiver
from videos.catalog import services as catalog_services
from webhooks import delivery as sending
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status


def verified(secret: str, request) -> dict:
    """The payload, once the library accepts its signature (it raises otherwise)."""
    return Webhook(secret).verify(request.body, request.headers)


def make_due(endpoint) -> None:
    WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.PENDING).update(next_attempt_at=timezone.now())


def test_an_event_arrives_signed_with_the_api_representation(receiver, endpoint_factory):
    # given an endpoint of the owner, subscribed to video.created
    owner = UserFactory()
    issued = endpoint_factory(receiver.url, owner=owner)

    # when the owner creates a video and the delivery is sent
    video = catalog_services.video_create(owner=owner, title="Analytical engine")
    assert sending.deliver_next(issued.endpoint.pk)

    # then the receiver got it once, verifiable, with the video as the API shows it to its owner
    [request] = receiver.wait_for(1)
    payload = verified(issued.secret, request)
    assert payload["type"] == "video.created"
    assert payload["data"]["id"] == str(video.pk) and payload["data"]["title"] == "Analytical engine"
    assert payload["data"]["status"] == "draft" and "failure_reason" in payload["data"]
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["content-type"] == "application/json"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.SUCCEEDED, 1, 200)
    assert WebhookAttempt.objects.get().response_excerpt == "ok"


def test_a_receiver_failing_twice_gets_the_event_three_times_with_one_id(endpoint_factory):
    receiver = Receiver(script=[(500, {}, b"boom"), (503, {}, b"busy")])
    try:
        owner = UserFactory()
        issued = endpoint_factory(receiver.url, owner=owner)
        catalog_services.video_create(owner=owner, title="Retry me")
        endpoint = issued.endpoint

        # first attempt fails: the retry is due in 5 s (give or take the 10% jitter)
        before = timezone.now()
        assert sending.deliver_next(endpoint.pk)
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == Status.PENDING and delivery.leased_until is None
        assert timedelta(seconds=4.4) <= delivery.next_attempt_at - before <= timedelta(seconds=5.6)
        assert not sending.deliver_next(endpoint.pk)  # not due yet

        # second attempt (503 without Retry-After) fails: then the 5 minutes step
        make_due(endpoint)
        before = timezone.now()
        assert sending.deliver_next(endpoint.pk)
        delivery.refresh_from_db()
        assert timedelta(minutes=4.4) <= delivery.next_attempt_at - before <= timedelta(minutes=5.6)

        make_due(endpoint)
        assert sending.deliver_next(endpoint.pk)
        requests = receiver.wait_for(3)
    finally:
        receiver.close()

    assert len({request.headers["webhook-id"] for request in requests}) == 1
    assert all(verified(issued.secret, request)["type"] == "video.created" for request in requests)
    assert len({request.body for request in requests}) == 1  # the same bytes every time
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 3)
    assert list(WebhookAttempt.objects.order_by("number").values_list("status_code", flat=True)) == [500, 503, 200]
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None  # the success ended the streak


def test_retry_after_is_honoured_and_capped(endpoint_factory, settings):
    receiver = Receiver(script=[(429, {"Retry-After": "120"}, b""), (503, {"Retry-After": "999999"}, b"")])
    try:
        owner = UserFactory()
        endpoint = endpoint_factory(receiver.url, owner=owner).endpoint
        catalog_services.video_create(owner=owner, title="Slow down")
        before = timezone.now()
        sending.deliver_next(endpoint.pk)
        delivery = WebhookDelivery.objects.get()
        assert timedelta(seconds=119) <= delivery.next_attempt_at - before <= timedelta(seconds=121)
        make_due(endpoint)
        before = timezone.now()
        sending.deliver_next(endpoint.pk)
        delivery.refresh_from_db()
        assert delivery.next_attempt_at - before <= settings.WEBHOOK_RETRY_AFTER_MAX + timedelta(seconds=1)
        assert delivery.next_attempt_at - before >= settings.WEBHOOK_RETRY_AFTER_MAX - timedelta(seconds=1)
    finally:
        receiver.close()


def test_410_disables_the_endpoint_and_mails_its_owner(endpoint_factory):
    receiver = Receiver(script=[(410, {}, b"gone")])
    try:
        owner = UserFactory()
        endpoint = endpoint_factory(receiver.url, owner=owner).endpoint
        catalog_services.video_create(owner=owner, title="One")
        catalog_services.video_create(owner=owner, title="Two")
        assert sending.deliver_next(endpoint.pk)
        assert not sending.deliver_next(endpoint.pk)  # the second one is not sent
        receiver.wait_for(1)
    finally:
        receiver.close()
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason) == (False, WebhookEndpoint.DisabledReason.GONE)
    assert list(WebhookDelivery.objects.values_list("status", flat=True)) == [Status.FAILED, Status.FAILED]
    assert len(receiver.received) == 1
    assert OutboundEmail.objects.filter(to=owner.email, template="webhook_disabled").count() == 1
    # and new events no longer go there
    catalog_services.video_create(owner=owner, title="Three")
    assert WebhookDelivery.objects.count() == 2


def test_a_redirect_is_a_failure_and_is_not_followed(endpoint_factory):
    elsewhere = Receiver()
    receiver = Receiver(script=[(302, {"Location": elsewhere.url}, b"")])
    try:
        owner = UserFactory()
        endpoint = endpoint_factory(receiver.url, owner=owner).endpoint
        catalog_services.video_create(owner=owner, title="Moved")
        sending.deliver_next(endpoint.pk)
        receiver.wait_for(1)
    finally:
        receiver.close()
        elsewhere.close()
    assert elsewhere.received == []
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code, delivery.schedule_step) == (Status.PENDING, 302, 1)


def test_an_endpoint_failing_for_five_days_is_disabled_and_its_owner_mailed(endpoint_factory, settings):
    receiver = Receiver(default=(500, {}, b"down"))
    try:
        owner = UserFactory()
        endpoint = endpoint_factory(receiver.url, owner=owner).endpoint
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=4))
        catalog_services.video_create(owner=owner, title="Still failing")
        sending.deliver_next(endpoint.pk)
        endpoint.refresh_from_db()
        assert endpoint.is_active  # four days: still on

        five_days_ago = timezone.now() - timedelta(days=5, seconds=1)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=five_days_ago)
        make_due(endpoint)
        sending.deliver_next(endpoint.pk)
    finally:
        receiver.close()
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason) == (False, WebhookEndpoint.DisabledReason.FAILING)
    assert OutboundEmail.objects.filter(to=owner.email, template="webhook_disabled").count() == 1


def test_the_response_is_read_up_to_64_kb_and_2_kb_are_kept(endpoint_factory):
    receiver = Receiver(default=(200, {}, b"x" * (1024 * 1024)))
    try:
        owner = UserFactory()
        endpoint = endpoint_factory(receiver.url, owner=owner).endpoint
        catalog_services.video_create(owner=owner, title="Chatty receiver")
        sending.deliver_next(endpoint.pk)
    finally:
        receiver.close()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.SUCCEEDED
    assert len(delivery.last_response_excerpt) == 2048


def test_after_a_rotation_both_secrets_sign_for_a_day(receiver, endpoint_factory, client):
    from webhooks import services

    owner = UserFactory()
    issued = endpoint_factory(receiver.url, owner=owner)
    rotated = services.endpoint_rotate_secret(endpoint=issued.endpoint)
    assert rotated.secret != issued.secret
    catalog_services.video_create(owner=owner, title="Two signatures")
    sending.deliver_next(issued.endpoint.pk)
    [request] = receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verified(issued.secret, request)["type"] == verified(rotated.secret, request)["type"] == "video.created"

    # a day later only the new secret signs
    type(issued.endpoint).objects.filter(pk=issued.endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    catalog_services.video_create(owner=owner, title="One signature")
    sending.deliver_next(issued.endpoint.pk)
    second = receiver.wait_for(2)[1]
    assert len(second.headers["webhook-signature"].split(" ")) == 1
    verified(rotated.secret, second)
    with pytest.raises(Exception, match=r"(?i)signature"):
        verified(issued.secret, second)


def test_no_more_than_the_cap_of_deliveries_are_in_flight_per_endpoint(endpoint_factory, settings):
    settings.WEBHOOK_MAX_IN_FLIGHT = 2
    owner = UserFactory()
    endpoint = endpoint_factory("http://127.0.0.1:9/hook", owner=owner).endpoint
    for title in "abc":
        catalog_services.video_create(owner=owner, title=title)
    claimed = [sending.claim(endpoint.pk), sending.claim(endpoint.pk), sending.claim(endpoint.pk)]
    assert claimed[0] is not None and claimed[1] is not None and claimed[2] is None
    assert claimed[0].pk != claimed[1].pk


def test_payload_over_20_kb_is_cut_to_the_id(receiver, endpoint_factory):
    owner = UserFactory()
    issued = endpoint_factory(receiver.url, owner=owner)
    video = catalog_services.video_create(owner=owner, title="Long", description="é" * 15_000)
    body = WebhookDelivery.objects.get().message.body
    assert len(body.encode()) < 20_000
    assert json.loads(body)["data"] == {"id": str(video.pk), "truncated": True}
    sending.deliver_next(issued.endpoint.pk)
    verified(issued.secret, receiver.wait_for(1)[0])
