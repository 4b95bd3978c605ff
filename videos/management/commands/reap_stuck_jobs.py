from django.core.management.base import BaseCommand

from videos.pipeline.jobs import jobs_reap


class Command(BaseCommand):
    help = "Requeues (or fails) transcode jobs whose worker stopped sending heartbeats; beat runs it every minute."

    def handle(self, *args, **options) -> None:
        result = jobs_reap()
        self.stdout.write(f"requeued: {result['requeued']}, failed: {result['failed']}")
