"""Settings follow the environment: embedded defaults, real services, and a production mode that
refuses to start half-configured and passes Django's deployment checks."""

import os
import subprocess
import sys

from django.conf import settings

PRODUCTION_ENV = {
    "VOD_ENV": "production",
    "SECRET_KEY": "prod-" + "k3y-" * 16,
    "ALLOWED_HOSTS": "vod.example.com",
    "REDIS_URL": "redis://cache.internal:6379/0",
}
SERVICE_VARIABLES = {"DATABASE_URL", "REDIS_URL", "S3_BUCKET", "EMAIL_URL", "SECRET_KEY", "ALLOWED_HOSTS", "VOD_ENV"}


def run_python(*args, env: dict, drop=SERVICE_VARIABLES) -> subprocess.CompletedProcess:
    """Python in the project folder with this process's environment less `drop`, plus `env`."""
    base = {k: v for k, v in os.environ.items() if k not in drop}
    return subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_seen_with(env: dict, *names: str) -> list[str]:
    """The repr of each named setting, as a fresh process with `env` sees it."""
    code = "import django; django.setup(); from django.conf import settings as s\n"
    code += "".join(f"print(repr(eval({name!r}, {{'s': s}})))\n" for name in names)
    result = run_python("-c", code, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_production_without_a_secret_key_does_not_start():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = run_python("manage.py", "check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_without_a_shared_cache_does_not_start():
    # throttles, lockout and session revocation need one cache across every worker
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "REDIS_URL"}
    result = run_python("manage.py", "check", env=env)
    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr


def test_production_refuses_debug():
    result = run_python("manage.py", "check", env={**PRODUCTION_ENV, "DJANGO_DEBUG": "true"})
    assert result.returncode != 0
    assert "DJANGO_DEBUG" in result.stderr


def test_production_passes_the_deploy_checks():
    result = run_python("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_development_defaults_need_no_environment():
    seen = settings_seen_with(
        {},
        "s.DATABASES['default']['ENGINE']",
        "s.CACHES['default']['BACKEND']",
        "s.CELERY_BROKER_URL",
        "s.STORAGES['default']['BACKEND']",
        "s.EMAIL_BACKEND",
    )
    assert seen == [
        "'django.db.backends.sqlite3'",
        "'django.core.cache.backends.locmem.LocMemCache'",
        "'filesystem://localhost/'",
        "'django.core.files.storage.FileSystemStorage'",
        "'django.core.mail.backends.console.EmailBackend'",
    ]


def test_anymail_provider_is_chosen_from_the_environment():
    seen = settings_seen_with(
        {"ANYMAIL_ESP": "resend", "ANYMAIL_RESEND_API_KEY": "re_test_key"}, "s.EMAIL_BACKEND", "s.ANYMAIL"
    )
    assert seen == ["'anymail.backends.resend.EmailBackend'", "{'RESEND_API_KEY': 're_test_key'}"]


def test_service_variables_switch_each_part():
    seen = settings_seen_with(
        {
            "DATABASE_URL": "postgres://u:p@db.internal:5432/vod",
            "REDIS_URL": "redis://cache.internal:6379/1",
            "S3_BUCKET": "media",
            "S3_CUSTOM_DOMAIN": "cdn.example.com",
            "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
        },
        "s.DATABASES['default']['HOST']",
        "s.CACHES['default']['LOCATION']",
        "s.CELERY_BROKER_URL",
        "s.STORAGES['default']['OPTIONS']['custom_domain']",
        "(s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS)",
    )
    assert seen == [
        "'db.internal'",
        "'redis://cache.internal:6379/1'",
        "'redis://cache.internal:6379/1'",
        "'cdn.example.com'",
        "('smtp.example.com', 587, True)",
    ]
