"""What the schema promises generated clients (openapi-python-client, openapi-typescript), so they
work without edits: security that matches the permissions, every status and header declared, the
real error codes, typed path ids and filters, usable cursors, per-operation descriptions."""

import ast
import inspect
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework import viewsets

from videos.tests.factories import VideoFactory
from vod.openapi import all_subclasses

pytestmark = pytest.mark.django_db
BEARER = {"jwtAuth": []}
SOURCE_FOLDERS = ["accounts", "sessions_app", "videos", "vod"]


@pytest.fixture
def spec(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_endpoints_that_need_no_sign_in_carry_no_security_requirement(spec):
    login = spec["paths"]["/api/v1/auth/login"]["post"]
    assert login["security"] == []
    for path in ["/api/v1/auth/register", "/api/v1/auth/refresh", "/api/v1/auth/verify-email"]:
        assert spec["paths"][path]["post"]["security"] == []
    assert spec["paths"]["/health/ready"]["get"]["security"] == []
    assert spec["paths"]["/api/v1/uploads/{id}/parts/{number}"]["put"]["security"] == []  # signed URL


def test_optional_sign_in_lists_both_and_the_rest_needs_the_bearer(spec):
    catalog = spec["paths"]["/api/v1/videos"]["get"]["security"]
    assert {} in catalog and BEARER in catalog
    # a personal access token (its own scheme) may stand beside the bearer JWT; anonymous may not
    for path, method in [("/api/v1/videos", "post"), ("/api/v1/users/me", "get")]:
        security = spec["paths"][path][method]["security"]
        assert BEARER in security and {} not in security, (method, path, security)
    for _path, _method, operation in operations(spec):
        assert operation["security"] != [{}]  # "anonymous only" would make generators demand a token


def test_login_declares_its_own_statuses_and_429_carries_retry_after(spec):
    responses = spec["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert {"200", "400", "401", "403", "429"} <= responses.keys()
    assert "invalid_credentials" in responses["401"]["description"]
    assert "account_locked" in responses["429"]["description"] and "throttled" in responses["429"]["description"]
    for _path, _method, operation in operations(spec):
        if "429" in operation["responses"]:
            assert "Retry-After" in operation["responses"]["429"]["headers"]
    assert spec["components"]["headers"]["RetryAfter"]["schema"]["type"] == "integer"


def test_every_answer_declares_the_request_id_header(spec):
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            assert "X-Request-ID" in response.get("headers", {}), (method, path, status)


# Human-chosen keys (a plan's code) say what they accept; ids never carry a regex.
SLUG_PARAMETERS = {"code", "username"}


def test_path_ids_are_uuids_and_part_numbers_integers(spec):
    for path, method, operation in operations(spec):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and (parameter["name"] == "id" or parameter["name"].endswith("_id")):
                assert parameter["schema"] == {"type": "string", "format": "uuid"}, (method, path)
            if parameter["name"] not in SLUG_PARAMETERS:
                assert "pattern" not in parameter["schema"], (method, path, parameter["name"])
            assert parameter["name"] != "format", (method, path)
    part = spec["paths"]["/api/v1/uploads/{id}/parts/{number}"]["put"]
    number = next(p for p in part["parameters"] if p["name"] == "number")
    assert number["schema"]["type"] == "integer"


def _codes_in_source() -> set[str]:
    """Every code an error class declares in the project's source: in its header
    (`class X(ApplicationError, code="...")`) or as a `code = "..."` attribute."""
    codes = set()
    for folder in SOURCE_FOLDERS:
        for path in Path(settings.BASE_DIR, folder).rglob("*.py"):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.ClassDef):
                    continue
                for keyword in node.keywords:
                    if keyword.arg == "code" and isinstance(keyword.value, ast.Constant) and keyword.value.value:
                        codes.add(keyword.value.value)
                for statement in node.body:
                    if (
                        isinstance(statement, ast.Assign)
                        and [getattr(t, "id", None) for t in statement.targets] == ["code"]
                        and isinstance(statement.value, ast.Constant)
                        and statement.value.value
                    ):
                        codes.add(statement.value.value)
    return codes


def test_error_code_is_the_enum_of_the_real_codes(spec):
    schemas = spec["components"]["schemas"]
    enum = set(schemas["ErrorCode"]["enum"])
    declared = _codes_in_source()
    assert {"invalid_credentials", "account_locked", "upload_too_large", "server_error"} <= declared
    assert declared <= enum, declared - enum
    # DRF's and simplejwt's, as the exception handler names them
    assert {"validation_error", "not_authenticated", "throttled", "token_not_valid", "method_not_allowed"} <= enum
    assert "invalid" not in enum and "error" not in enum  # renamed by the handler
    assert schemas["Error"]["properties"]["code"] == {"$ref": "#/components/schemas/ErrorCode"}


def test_error_fields_are_typed(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["Error"]["properties"]["fields"] == {"$ref": "#/components/schemas/FieldErrors"}
    messages = schemas["FieldErrors"]["additionalProperties"]["oneOf"][0]
    assert messages["type"] == "array" and {"type": "string"} in messages["items"]["oneOf"]


def test_a_validation_error_fits_the_typed_fields(api_client):
    response = api_client.post("/api/v1/auth/register", {"email": "nope", "username": "x"}, format="json")
    fields = response.json()["fields"]
    assert all(isinstance(messages, list) and all(isinstance(m, str) for m in messages) for messages in fields.values())


def test_true_false_filters_are_booleans(spec):
    parameters = {p["name"]: p for p in spec["paths"]["/api/v1/videos"]["get"]["parameters"]}
    assert parameters["featured"]["schema"] == {"type": "boolean"}


def test_cursor_pages_document_and_return_the_bare_cursor(spec, api_client):
    page = spec["components"]["schemas"]["PaginatedVideoList"]
    assert {"next", "previous", "next_cursor", "previous_cursor", "results"} <= set(page["required"])
    assert page["properties"]["next"]["example"].startswith("https://vod.example.com/api/v1/videos?cursor=")
    history = spec["components"]["schemas"]["PaginatedProgressList"]["properties"]["next"]["example"]
    assert "/api/v1/me/" in history  # the example fits the list it pages

    VideoFactory.create_batch(3)
    first = api_client.get("/api/v1/videos", {"limit": 2}).json()
    assert first["next_cursor"] and first["previous_cursor"] is None
    second = api_client.get("/api/v1/videos", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert len(second["results"]) == 1 and second["next_cursor"] is None
    assert {v["id"] for v in first["results"]}.isdisjoint(v["id"] for v in second["results"])


def test_operations_describe_themselves_not_their_viewset(spec):
    class_docs = {inspect.getdoc(cls) for cls in all_subclasses(viewsets.GenericViewSet) if cls.__doc__}
    assert any("`auth/...`" in doc for doc in class_docs)
    for path, method, operation in operations(spec):
        assert operation.get("description", "") not in class_docs, (method, path)
    assert "Staff with the `accounts.view_user` permission." in spec["paths"]["/api/v1/users"]["get"]["description"]
    assert spec["paths"]["/api/v1/auth/logout"]["post"]["description"]
