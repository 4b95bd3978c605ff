"""`manage.py vod_status`: the first look of an operator at a running stack."""

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from django.utils import timezone
from kombu.exceptions import ChannelError

from videos import storage
from videos.models import TranscodeJob, Video
from videos.pipeline import selectors
from vod import health
from vod.celery import app as celery_app


def queue_names() -> list[str]:
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    return sorted({settings.CELERY_TASK_DEFAULT_QUEUE, *routed})


def queue_depths() -> dict[str, int]:
    """Messages waiting in each queue of the broker (not those a worker already holds)."""
    depths = {}
    with celery_app.connection_for_read() as connection:
        channel = connection.default_channel
        for name in queue_names():
            try:
                depths[name] = channel.queue_declare(queue=name, passive=True).message_count
            except ChannelError:  # the broker drops an empty queue: nothing waits
                depths[name] = 0
    return depths


def counts_by_status(queryset, choices) -> dict[str, int]:
    found = dict(queryset.values_list("status").annotate(n=Count("pk")).order_by())
    return {value: found.get(value, 0) for value in choices.values}


class Command(BaseCommand):
    help = (
        "Backing services, queue depths, transcode jobs and videos by state, stuck work (what the reaper "
        "resends), and the storage with its bucket CORS rule. Exits 1 when a service or the CORS rule is wrong."
    )

    def handle(self, *args, **options) -> None:
        problems = self.services()
        self.queues()
        self.section("transcode jobs", counts_by_status(TranscodeJob.objects, TranscodeJob.Status))
        self.section("videos", counts_by_status(Video.objects, Video.Status))
        now = timezone.now()
        self.section(
            "stuck (the reaper, every minute, requeues or resends these)",
            {
                "running, heartbeat stopped": selectors.jobs_stuck_running(now).count(),
                "queued too long": selectors.jobs_waiting_too_long(now).count(),
                "uploaded without a job": selectors.videos_uploaded_without_job(now).count(),
            },
        )
        problems += self.storage()
        if problems:
            raise CommandError(f"Problems: {'; '.join(problems)}.")

    def section(self, title: str, rows: dict) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(title))
        for name, value in rows.items():
            self.stdout.write(f"  {name}: {value}")

    def services(self) -> list[str]:
        rows, problems = {}, []
        for name, check in health.CHECKS.items():
            try:
                check()
            except Exception as exc:  # any failure is the answer: say it, go on with the others
                rows[name] = self.style.ERROR(f"unavailable ({type(exc).__name__}: {exc})")
                problems.append(f"{name} unavailable")
            else:
                rows[name] = "ok"
        self.section("services", rows)
        return problems

    def queues(self) -> None:
        try:
            depths: dict = queue_depths()
        except Exception as exc:  # the broker is down: already reported under services
            depths = {name: f"unknown ({type(exc).__name__})" for name in queue_names()}
        self.section("queues (messages waiting)", depths)

    def storage(self) -> list[str]:
        if not storage.uses_s3():
            self.section("storage", {"filesystem": settings.MEDIA_ROOT, "bucket CORS": "none needed"})
            return []
        rows = {
            "bucket": storage.s3_bucket(),
            "endpoint": settings.STORAGES["default"]["OPTIONS"].get("endpoint_url") or "AWS",
            "public endpoint (signed URLs)": settings.S3_PUBLIC_ENDPOINT_URL or "the same",
        }
        origins = settings.CORS_ALLOWED_ORIGINS
        problems = []
        try:
            problems = storage.bucket_cors_problems(origins) if origins else ["CORS_ALLOWED_ORIGINS is empty"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            rows["bucket CORS"] = f"not checked: the storage answered {code} (MinIO: MINIO_API_CORS_ALLOW_ORIGIN)"
        except BotoCoreError as exc:  # the storage is down: already reported under services
            rows["bucket CORS"] = f"not checked ({type(exc).__name__})"
        else:
            rows["bucket CORS"] = "; ".join(problems) if problems else f"ok for {', '.join(origins)}"
        self.section("storage", rows)
        return [f"bucket CORS: {problem}" for problem in problems]
