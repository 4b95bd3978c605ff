from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    """Every credential that authenticates a request: device sessions, each owning a refresh
    token, and the access tokens that die with them."""

    name = "sessions_app"
    verbose_name = "Device sessions"
