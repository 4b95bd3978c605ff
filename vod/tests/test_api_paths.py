"""Every API path answers with and without a trailing slash (no redirect), and browsers on the
frontend's origin may call the API and read the headers a client needs."""

from unittest import mock

import pytest

from accounts.models import User
from vod import trailing_slash


@pytest.mark.parametrize("path", ["/api/v1/videos", "/api/v1/videos/", "/api/v1/categories/", "/api/schema"])
def test_reads_answer_with_and_without_a_trailing_slash(api_client, db, path):
    response = api_client.get(path, HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content


def test_a_write_with_a_trailing_slash_is_served_not_redirected(api_client, db):
    response = api_client.post(
        "/api/v1/auth/register/",
        {"email": "ada@example.com", "username": "ada", "password": "analytical-engine-1843"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert User.objects.filter(username="ada").exists()


def test_a_detail_path_with_a_slash_reaches_the_same_view(auth_client):
    session_id = auth_client.device_session.pk
    response = auth_client.get(f"/api/v1/sessions/{session_id}/")
    assert response.status_code == 200
    assert response.json()["id"] == str(session_id)


@pytest.mark.parametrize(("path", "extra_resolves"), [("/api/v1/videos", 0), ("/api/v1/videos/", 1)])
def test_only_the_other_spelling_pays_a_second_resolve(api_client, db, path, extra_resolves):
    # given the middleware's resolver watched
    with mock.patch.object(trailing_slash, "resolve", wraps=trailing_slash.resolve) as resolve:
        # when reading the list as the route is written, and with a trailing slash
        response = api_client.get(path)

    # then both answer; only the twin spelling is resolved once more
    assert response.status_code == 200, response.content
    assert resolve.call_count == extra_resolves


@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/videos//", "/api/v1/videos/not-a-uuid/"])
def test_unknown_paths_stay_unknown(api_client, db, path):
    response = api_client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_preflight_from_the_frontend_allows_the_idempotency_key(client, settings):
    response = client.options(
        "/api/v1/videos",
        HTTP_ORIGIN=settings.FRONTEND_URL,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == settings.FRONTEND_URL
    allowed = {header.strip() for header in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed


def test_responses_expose_the_headers_clients_read(client, db, settings):
    response = client.get("/api/v1/categories", HTTP_ORIGIN=settings.FRONTEND_URL)
    exposed = {header.strip().lower() for header in response["Access-Control-Expose-Headers"].split(",")}
    assert {"etag", "x-request-id", "retry-after"} <= exposed


def test_other_origins_get_no_cors_grant(client, db):
    response = client.get("/api/v1/categories", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in response
