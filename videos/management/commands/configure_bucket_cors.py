from botocore.exceptions import ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from videos import storage


class Command(BaseCommand):
    help = (
        "Puts the bucket's CORS rule that browser playback and uploads need (GET, HEAD, PUT; ETag exposed) "
        "for CORS_ALLOWED_ORIGINS."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--origin", action="append", help="An origin instead of CORS_ALLOWED_ORIGINS (repeatable).")

    def handle(self, *args, origin, **options) -> None:
        if not storage.uses_s3():
            self.stdout.write("The storage is the filesystem: the API serves media itself, no bucket to configure.")
            return
        origins = origin or settings.CORS_ALLOWED_ORIGINS
        if not origins:
            raise CommandError("No origins: set CORS_ALLOWED_ORIGINS (the frontends' origins) or pass --origin.")
        try:
            storage.bucket_cors_apply(origins)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "NotImplemented":  # MinIO: CORS is server-wide, MINIO_API_CORS_ALLOW_ORIGIN (compose sets it)
                self.stdout.write(self.style.WARNING("This storage has no bucket CORS; configure CORS on the server."))
                return
            raise CommandError(f"Could not set the bucket's CORS rule: {code or exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Bucket {storage.s3_bucket()}: CORS for {', '.join(origins)}."))
