from django.apps import AppConfig
from django.db.models.signals import post_migrate


class VideosConfig(AppConfig):
    """Videos: the catalog, uploads, the transcoding pipeline and playback, one subpackage each
    (one Django app, one migration history)."""

    name = "videos"

    def ready(self) -> None:
        from videos import cache_invalidation
        from videos.roles import sync_roles

        cache_invalidation.connect()

        post_migrate.connect(sync_roles, sender=self, dispatch_uid="videos.sync_roles")
