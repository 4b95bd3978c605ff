from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import user_by_login
from videos.models import Video
from videos.pipeline.jobs import transcode_here
from videos.pipeline.services import source_probe
from videos.uploads.services import video_create_with_source
from vod.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Registers a local video file for a user: creates the video, stores the source and transcodes it."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--owner", required=True, help="Email or username of the owner.")
        parser.add_argument("--title", help="Defaults to the file name.")
        parser.add_argument("--visibility", choices=Video.Visibility.values, default=Video.Visibility.PRIVATE)
        parser.add_argument("--sync", action="store_true", help="Probe and transcode here instead of in workers.")

    def handle(self, *args, path: Path, owner: str, title, visibility, sync, **options) -> None:
        user = user_by_login(owner)
        if user is None:
            raise CommandError(f"No user {owner!r}.")
        if not path.is_file():
            raise CommandError(f"No file at {path}.")
        try:
            with open(path, "rb") as handle:
                video = video_create_with_source(
                    owner=user,
                    source=handle,
                    size=path.stat().st_size,
                    enqueue_probe=not sync,
                    title=title or path.stem[:200],
                    visibility=visibility,
                )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Video {video.pk} created from {path.name}.")
        if sync:
            self._process_here(video)

    def _process_here(self, video: Video) -> None:
        source_probe(video_id=video.pk, queue_transcode=False)
        video.refresh_from_db()
        if video.status == Video.Status.FAILED:
            raise CommandError(f"Not a usable video: {video.failure_reason}")
        job = transcode_here(video=video)
        video.refresh_from_db()
        if video.status != Video.Status.READY:
            raise CommandError(f"Transcoding failed: {job.error}")
        self.stdout.write(self.style.SUCCESS(f"Video {video.pk} is ready."))
