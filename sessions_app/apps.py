from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    """Device sessions bound to refresh tokens (the Identity issue fills this in)."""

    name = "sessions_app"
    verbose_name = "Device sessions"
