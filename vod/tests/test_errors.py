"""Every 4xx and 5xx answers in one JSON shape with a stable code."""

import logging

import pytest

from testing.clients import assert_error


def test_unknown_api_route_is_a_json_404(client):
    # given an API path that no view serves
    # when it is requested with any method
    for method in ("get", "post", "delete"):
        response = getattr(client, method)("/api/v1/does-not-exist")
        # then the error format comes back
        assert_error(response, 404, "not_found")


def test_unknown_route_outside_the_api_is_a_json_404(client, settings):
    settings.DEBUG = False
    assert_error(client.get("/no-such-page"), 404, "not_found")


def test_wrong_method_is_a_json_405(client):
    body = assert_error(client.post("/health/live"), 405, "method_not_allowed")
    assert "POST" in body["message"]


@pytest.mark.urls("vod.tests.error_views")
class TestHandler:
    def test_validation_errors_list_each_field(self, client):
        response = client.post(
            "/validation", {"title": "too long", "tags": ["ok", "long"]}, content_type="application/json"
        )
        body = assert_error(response, 400, "validation_error")
        assert body["fields"] == {
            "title": ["Ensure this field has no more than 5 characters."],
            "tags": {"1": ["Ensure this field has no more than 3 characters."]},
        }

    def test_malformed_json_is_a_400(self, client):
        response = client.post("/validation", "{not json", content_type="application/json")
        assert_error(response, 400, "parse_error")

    def test_unsupported_media_type_is_a_415(self, client):
        response = client.post("/validation", "title=x", content_type="application/x-www-form-urlencoded")
        assert_error(response, 415, "unsupported_media_type")

    def test_missing_credentials_is_a_401_with_challenge(self, client):
        response = client.get("/private")
        assert_error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_garbage_token_is_a_401(self, client):
        response = client.get("/private", HTTP_AUTHORIZATION="Bearer not.a.jwt")
        assert_error(response, 401, "token_not_valid")

    def test_application_errors_keep_their_code_and_status(self, client):
        body = assert_error(client.get("/conflict"), 409, "already_published")
        assert body["message"] == "Already published."

    def test_django_404_does_not_leak_its_message(self, client):
        body = assert_error(client.get("/django-404"), 404, "not_found")
        assert "secret" not in body["message"]

    def test_unhandled_error_is_a_500_without_details(self, client, caplog):
        response = client.get("/crash")
        body = assert_error(response, 500, "server_error")
        assert "hunter2" not in response.content.decode()
        assert body["message"] == "Internal server error."
        # the traceback goes to the log, with the request id
        record = next(r for r in caplog.records if r.exc_info)
        assert record.request_id == body["request_id"]

    def test_unhandled_error_outside_drf_is_a_json_500(self, client, settings):
        settings.DEBUG = False
        client.raise_request_exception = False
        response = client.get("/plain-crash")
        assert response.status_code == 500
        assert response.json()["code"] == "server_error"


def test_an_oversized_body_is_a_413_without_an_error_log(client, caplog):
    # given 3 MiB of JSON, over DATA_UPLOAD_MAX_MEMORY_SIZE, to an endpoint that reads its body
    body = '{"email_or_username": "' + "a" * 3 * 1024**2 + '", "password": "x"}'
    # when it is posted
    response = client.post("/api/v1/auth/login", body, content_type="application/json")
    # then it is a 413 in the error format, logged below ERROR and without a traceback
    assert_error(response, 413, "request_too_large")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_an_oversized_form_outside_the_api_is_a_413(client, caplog, settings):
    settings.DEBUG = False
    client.raise_request_exception = False
    response = client.post("/admin/login/", "a=" + "b" * 3 * 1024**2, content_type="application/x-www-form-urlencoded")
    assert_error(response, 413, "request_too_large")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
