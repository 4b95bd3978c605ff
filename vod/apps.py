from django.apps import AppConfig


class VodConfig(AppConfig):
    """The project package as an app, so its tasks and management commands are found."""

    name = "vod"
    verbose_name = "VOD"

    def ready(self) -> None:
        from vod.request_context import install_log_record_factory

        install_log_record_factory()
