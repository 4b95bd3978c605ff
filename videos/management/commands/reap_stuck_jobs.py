from django.core.management.base import BaseCommand

from videos.pipeline.jobs import jobs_reap


class Command(BaseCommand):
    help = (
        "Requeues (or fails) transcode jobs whose worker stopped sending heartbeats, and resends jobs left queued "
        "and probes of videos left uploaded past TRANSCODE_QUEUED_TIMEOUT; beat runs it every minute."
    )

    def handle(self, *args, **options) -> None:
        result = jobs_reap()
        self.stdout.write(", ".join(f"{name.replace('_', ' ')}: {count}" for name, count in result.items()))
