"""A worker killed mid-delivery (a lost machine) loses no event: once its lease ends, another
worker sends the same message with the same webhook-id."""

import time

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from accounts.tests.factories import UserFactory
from testing import processes
from testing.webhooks import HANG, Receiver
from testing.worker import WorkerProcess
from videos.catalog import services as catalog_services
from webhooks import services, tasks
from webhooks.models import WebhookDelivery

QUEUE = "webhooks-kill-test"
LEASE = 3


def wait_for(condition, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_killed_mid_delivery_loses_no_event_and_keeps_its_id(
    transactional_db, settings, tmp_path, monkeypatch
):
    # given a receiver that holds the first request open (the worker is mid-delivery), and
    # workers of our own that may call loopback, with a short lease
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_QUEUE = QUEUE
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
    monkeypatch.setenv("WEBHOOK_QUEUE", QUEUE)
    monkeypatch.setenv("WEBHOOK_DELIVERY_LEASE_SECONDS", str(LEASE))
    receiver = Receiver(script=[HANG])
    doomed = WorkerProcess(tmp_path / "doomed.log", queues=QUEUE, concurrency=1).start()
    replacement = None
    try:
        owner = UserFactory()
        issued = services.endpoint_create(owner=owner, url=receiver.url, event_types=["video.created"])
        catalog_services.video_create(owner=owner, title="Survives")  # committed: the kick goes out
        receiver.wait_for(1, timeout=60)
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == WebhookDelivery.Status.PENDING and delivery.leased_until > timezone.now()

        # when the worker and its pool process are SIGKILLed mid-request
        tree = processes.descendants(doomed.process.pid)
        doomed.kill()
        processes.kill_all(tree)
        wait_for(lambda: not any(processes.alive(pid) for pid in tree), timeout=10, what="the killed processes")
        replacement = WorkerProcess(tmp_path / "replacement.log", queues=QUEUE, concurrency=1).start()
        # the lease runs out, and beat's dispatcher finds the delivery due again
        wait_for(
            lambda: WebhookDelivery.objects.filter(leased_until__lt=timezone.now()).exists(),
            timeout=30,
            what="the lease",
        )
        assert tasks.dispatch_due() == 1
        done = wait_for(
            lambda: WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SUCCEEDED).first(),
            timeout=60,
            what="the delivery to succeed",
        )
        requests = receiver.wait_for(2)
    finally:
        receiver.close()
        leftovers = processes.descendants(doomed.process.pid)
        doomed.kill()
        processes.kill_all(leftovers)
        if replacement is not None:
            replacement.stop()

    # then the event arrived again with the same id and body, verifiable, and succeeded once
    assert len(requests) == 2
    assert requests[0].headers["webhook-id"] == requests[1].headers["webhook-id"]
    assert requests[0].body == requests[1].body
    Webhook(issued.secret).verify(requests[1].body, requests[1].headers)
    assert (done.attempts, done.attempt_log.count()) == (2, 1)
    assert WebhookDelivery.objects.count() == 1


pytestmark = pytest.mark.timeout(240)
