import uuid

from django.core.management.base import BaseCommand, CommandError

from videos.models import Video
from videos.pipeline.jobs import transcode_here, transcode_queue
from vod.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Transcodes a video's source again: queued for a worker, or here and now with --sync."

    def add_arguments(self, parser) -> None:
        parser.add_argument("video_id")
        parser.add_argument("--sync", action="store_true", help="Run in this process instead of a worker.")
        parser.add_argument(
            "--force", action="store_true", help="Fail a queued or running transcode of the video and start over."
        )

    def handle(self, *args, video_id, sync, force, **options) -> None:
        try:
            video = Video.objects.filter(pk=uuid.UUID(video_id)).first()
        except ValueError:
            video = None
        if video is None:
            raise CommandError(f"No video {video_id}.")
        try:
            job = transcode_here(video=video, force=force) if sync else transcode_queue(video=video, force=force)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if not sync:
            self.stdout.write(f"Queued transcode job {job.pk}.")
            return
        if job.status != job.Status.SUCCEEDED:
            raise CommandError(f"Transcode {job.status}: {job.error}")
        self.stdout.write(self.style.SUCCESS(f"Video {video.pk} is ready ({video.renditions.count()} renditions)."))
