import contextlib
from pathlib import Path

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class VodConfig(AppConfig):
    """The project package as an app, so its tasks and management commands are found."""

    name = "vod"
    verbose_name = "VOD"

    def ready(self) -> None:
        from vod.request_context import install_log_record_factory

        install_log_record_factory()
        _create_media_root()


def _create_media_root() -> None:
    """The filesystem storage's folder exists from the start (a fresh volume is empty); a
    read-only or missing parent is reported by the readiness probe, not here."""
    from django.conf import settings

    if settings.STORAGES["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage":
        with contextlib.suppress(OSError):
            Path(settings.STORAGES["default"]["OPTIONS"]["location"]).mkdir(parents=True, exist_ok=True)


class VodAdminConfig(AdminConfig):
    """Django's admin app with our site as `admin.site` (vod.admin_site)."""

    default_site = "vod.admin_site.VodAdminSite"
