import logging
import socket

import pytest

from vod.celery import app as celery_app


@pytest.fixture
def unused_tcp_port():
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def ready(client, db):
    return lambda: client.get("/health/ready")


def test_live_answers_without_touching_services(client):
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_checks_every_backing_service(ready):
    response = ready()
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok", "storage": "ok"},
    }


def test_ready_names_the_cache_when_it_is_down(ready, settings, unused_tcp_port):
    settings.CACHES = {
        "default": {
            "BACKEND": "vod.redis_cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{unused_tcp_port}/0",
        }
    }
    response = ready()
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "service_unavailable"
    assert body["checks"]["cache"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert "cache" in body["message"]
    assert str(unused_tcp_port) not in response.content.decode()  # details go to the log only


def test_ready_names_the_broker_when_it_is_down(ready, monkeypatch, unused_tcp_port):
    monkeypatch.setattr(celery_app.conf, "broker_url", f"redis://127.0.0.1:{unused_tcp_port}/0")
    response = ready()
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "broker": "unavailable", "storage": "ok"}


def test_ready_names_the_storage_when_its_bucket_is_missing(ready, settings):
    default = settings.STORAGES["default"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**default, "OPTIONS": {**default["OPTIONS"], "bucket_name": "no-such-bucket"}},
    }
    response = ready()
    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == "unavailable"


def _filesystem_storage(settings, location):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": location}},
    }


def test_ready_accepts_a_media_folder_not_created_yet(ready, settings, tmp_path):
    # given a fresh checkout: the media folder is made by the first upload
    _filesystem_storage(settings, tmp_path / "var" / "media")
    # then
    response = ready()
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["storage"] == "ok"
    assert not (tmp_path / "var").exists()  # the probe creates nothing


def test_ready_names_a_media_folder_that_cannot_be_created(ready, settings, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    _filesystem_storage(settings, blocker / "media")
    response = ready()
    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == "unavailable"


@pytest.mark.parametrize("host", ["10.0.3.7:8000", "localhost", "web:8000"])
def test_probes_answer_whatever_the_host_header(client, db, settings, host):
    # given production-like hosts that do not list the container's address
    settings.ALLOWED_HOSTS = ["vod.example.com"]
    for path in ("/health/live", "/health/ready"):
        response = client.get(path, HTTP_HOST=host)
        assert response.status_code == 200, (path, response.content)
    # while every other path still refuses the host
    assert client.get("/api/v1/videos", HTTP_HOST=host).status_code == 400


def test_a_failed_probe_logs_one_line_without_traceback(ready, monkeypatch, unused_tcp_port, caplog):
    monkeypatch.setattr(celery_app.conf, "broker_url", f"redis://127.0.0.1:{unused_tcp_port}/0")
    caplog.clear()
    assert ready().status_code == 503
    failures = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage().split(":")[0:2] for r in failures] == [["readiness check failed", " broker"]]
    assert all(r.exc_info is None for r in caplog.records)


def test_the_media_folder_is_created_at_start(settings, tmp_path):
    from vod.apps import _create_media_root

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "fresh" / "media"},
        },
    }
    _create_media_root()
    assert (tmp_path / "fresh" / "media").is_dir()
