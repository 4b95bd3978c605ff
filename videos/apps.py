from django.apps import AppConfig
from django.db.models.signals import post_migrate


class VideosConfig(AppConfig):
    """Catalog, uploads, transcoding and playback (built by the Catalog issue and after)."""

    name = "videos"

    def ready(self):
        from videos.roles import sync_roles

        post_migrate.connect(sync_roles, sender=self, dispatch_uid="videos.sync_roles")
