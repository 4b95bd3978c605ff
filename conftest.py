"""Shared fixtures: API clients, a real Celery worker, generated media, and the S3 test bucket.

The suite runs against the services `make test` starts (scripts/with_services.py); it refuses
to run on SQLite.
"""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from testing.clients import signed_in_client
from testing.media import make_video
from testing.s3 import s3_client
from testing.worker import WorkerProcess

if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise pytest.UsageError("The test suite runs on PostgreSQL: run it with `make test`.")


@pytest.fixture(scope="session", autouse=True)
def s3_bucket():
    """Creates the test bucket in the S3 server (moto starts empty)."""
    if not settings.S3_BUCKET:
        return None
    client = s3_client()
    client.create_bucket(Bucket=settings.S3_BUCKET)
    return client


@pytest.fixture(autouse=True)
def _clear_cache():
    """Throttles and cached state must not leak between tests."""
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _read_cache_off(request):
    """The read cache of anonymous answers (vod.response_cache) is off unless a test asks for it with
    the `read_cache` fixture: a test's writes never commit, so their on-commit invalidation never
    runs, and query counts measure the work, not a cache hit."""
    if "read_cache" in request.fixturenames:
        yield
        return
    with override_settings(ANON_CACHE_SECONDS=0):
        yield


@pytest.fixture
def read_cache():
    """The read cache on, as in production (see `_read_cache_off`)."""


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def auth_client(user):
    """An API client signed in as `user` through a real device session."""
    return signed_in_client(user)


@pytest.fixture
def staff_client(db):
    return signed_in_client(UserFactory(is_staff=True, is_superuser=True))


@pytest.fixture(scope="session")
def _celery_worker_session(django_db_setup, django_db_blocker, tmp_path_factory):
    from vod.celery import app

    app.control.purge()
    worker = WorkerProcess(tmp_path_factory.mktemp("celery") / "worker.log").start()
    yield worker
    worker.stop()


@pytest.fixture
def celery_worker(_celery_worker_session, transactional_db):
    """A running worker; the test's rows are committed so the worker can see them."""
    return _celery_worker_session


@pytest.fixture(scope="session")
def media_factory(tmp_path_factory):
    """`media_factory(name, **make_video options)` -> path of a generated clip, made once per session."""
    folder = tmp_path_factory.mktemp("media")
    made = {}

    def factory(name: str = "clip.mp4", **options):
        key = (name, tuple(sorted(options.items())))
        if key not in made:
            made[key] = make_video(folder / f"{len(made)}-{name}", **options)
        return made[key]

    return factory
