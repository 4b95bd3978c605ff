from django.apps import AppConfig


class VideosConfig(AppConfig):
    """Catalog, uploads, transcoding and playback (built by the Catalog issue and after)."""

    name = "videos"
