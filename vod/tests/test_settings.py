"""Production mode refuses to start half-configured and passes Django's deployment checks."""

import os
import subprocess
import sys

from django.conf import settings

PRODUCTION_ENV = {
    "VOD_ENV": "production",
    "SECRET_KEY": "prod-" + "k3y-" * 16,
    "ALLOWED_HOSTS": "vod.example.com",
}


def run_manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "VOD_ENV"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_without_a_secret_key_does_not_start():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_passes_the_deploy_checks():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_development_defaults_need_no_environment():
    # The suite itself runs with service variables set; without them the embedded defaults apply.
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "S3_BUCKET", "EMAIL_URL"}}
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'],"
        " s.CELERY_BROKER_URL, s.STORAGES['default']['BACKEND'], s.EMAIL_BACKEND)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "django.core.cache.backends.locmem.LocMemCache",
        "filesystem://",
        "django.core.files.storage.FileSystemStorage",
        "django.core.mail.backends.console.EmailBackend",
    ]


def test_anymail_provider_is_chosen_from_the_environment():
    env = {k: v for k, v in os.environ.items() if k != "EMAIL_URL"}
    env.update(ANYMAIL_ESP="resend", ANYMAIL_RESEND_API_KEY="re_test_key")
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.EMAIL_BACKEND); print(sorted(s.ANYMAIL.items()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "anymail.backends.resend.EmailBackend",
        "[('RESEND_API_KEY', 're_test_key')]",
    ]
