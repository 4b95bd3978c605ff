from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class VodConfig(AppConfig):
    """The project package as an app, so its tasks and management commands are found."""

    name = "vod"
    verbose_name = "VOD"

    def ready(self) -> None:
        from vod.request_context import install_log_record_factory

        install_log_record_factory()


class VodAdminConfig(AdminConfig):
    """Django's admin app with our site as `admin.site` (vod.admin_site)."""

    default_site = "vod.admin_site.VodAdminSite"
