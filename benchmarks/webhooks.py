"""Webhooks: how many events one Celery worker delivers per second to a local receiver, and what
the outbox adds to a request that emits events (a bulk update of N videos, with and without a
subscribed endpoint, and the batch path `emit_many`).

    make bench-webhooks    # = scripts/with_services.py -- python -m benchmarks.webhooks

Development settings (deliveries go to 127.0.0.1, so WEBHOOK_ALLOW_PRIVATE_NETWORKS is on, which
production refuses). Environment: BENCH_WEBHOOK_EVENTS (2000), BENCH_WEBHOOK_CONCURRENCY (4: the
worker's processes, as many as WEBHOOK_MAX_IN_FLIGHT lets one endpoint use).
"""

import os
import sys
import tempfile
import time
from pathlib import Path

EVENTS = int(os.environ.get("BENCH_WEBHOOK_EVENTS", 2000))
CONCURRENCY = int(os.environ.get("BENCH_WEBHOOK_CONCURRENCY", 4))
QUEUE = "webhooks-bench"


def setup() -> None:
    if "DATABASE_URL" not in os.environ:
        sys.exit("run under scripts/with_services.py (needs DATABASE_URL, REDIS_URL)")
    os.environ.update(
        {"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true", "WEBHOOK_QUEUE": QUEUE, "DJANGO_SETTINGS_MODULE": "vod.settings"}
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def timed(func) -> tuple[float, int]:
    """Seconds and SQL statements of func() (rolled back, so each run starts alike)."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    class Rollback(Exception):
        pass

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        try:
            with transaction.atomic():
                func()
                raise Rollback
        except Rollback:
            pass
        elapsed = time.perf_counter() - started
    return elapsed, len(queries)


def outbox_cost() -> list[tuple[str, float, int]]:
    from accounts.models import User
    from videos.catalog import services as catalog_services
    from videos.models import Video
    from webhooks import services

    owner = User.objects.create_user(
        email=f"bench-{time.monotonic_ns()}@example.com", username=f"bench{time.monotonic_ns()}", password=None
    )
    Video.objects.bulk_create(Video(owner=owner, title=f"bench {i}") for i in range(EVENTS))
    videos = list(Video.objects.filter(owner=owner))

    def bulk_update() -> None:
        for video in videos:
            catalog_services.video_update(video=video, visibility=Video.Visibility.PUBLIC)

    rows = [("bulk update, no endpoint", *timed(bulk_update))]
    endpoint = services.endpoint_create(
        owner=owner, url="http://127.0.0.1:9/hook", event_types=["video.updated"]
    ).endpoint
    rows.append(("bulk update, 1 endpoint", *timed(bulk_update)))
    rows.append(("emit_many alone, 1 endpoint", *timed(lambda: services.emit_many("video.updated", videos))))
    endpoint.delete()
    Video.objects.filter(owner=owner).delete()
    owner.delete()
    return rows


def delivery_rate() -> tuple[float, int]:
    from django.db import transaction

    from accounts.models import User
    from testing.webhooks import Receiver
    from testing.worker import WorkerProcess
    from videos.models import Video
    from vod.celery import app
    from webhooks import services
    from webhooks.models import WebhookDelivery

    receiver = Receiver()
    owner = User.objects.create_user(
        email=f"bench-{time.monotonic_ns()}@example.com", username=f"bench{time.monotonic_ns()}", password=None
    )
    endpoint = services.endpoint_create(owner=owner, url=receiver.url, event_types=["video.updated"]).endpoint
    videos = Video.objects.bulk_create(Video(owner=owner, title=f"bench {i}") for i in range(EVENTS))
    app.control.purge()
    worker = WorkerProcess(Path(tempfile.mkdtemp()) / "worker.log", queues=QUEUE, concurrency=CONCURRENCY).start()
    try:
        started = time.perf_counter()
        with transaction.atomic():
            services.emit_many("video.updated", videos)
        pending = WebhookDelivery.objects.filter(endpoint=endpoint).exclude(status=WebhookDelivery.Status.SUCCEEDED)
        while pending.exists():
            if time.perf_counter() - started > 600:
                sys.exit(f"timed out; see {worker.log_path}")
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
    finally:
        worker.stop()
        receiver.close()
    received = len({r.headers["webhook-id"] for r in receiver.received})
    endpoint.delete()
    Video.objects.filter(owner=owner).delete()
    owner.delete()
    return EVENTS / elapsed, received


def main() -> None:
    setup()
    print(f"outbox cost, {EVENTS} videos updated in one transaction (rolled back):")
    print(f"  {'case':32} {'total ms':>10} {'ms/event':>10} {'SQL':>8}")
    for name, seconds, queries in outbox_cost():
        print(f"  {name:32} {seconds * 1000:10.0f} {seconds * 1000 / EVENTS:10.3f} {queries:8}")
    rate, received = delivery_rate()
    print(f"delivery: {EVENTS} events to a loopback receiver by one worker (-c {CONCURRENCY}): {rate:.0f} events/s")
    print(f"  distinct webhook-ids received: {received}")


if __name__ == "__main__":
    main()
