"""Fuzzes every operation of the live OpenAPI schema in-process: no 5xx, answers match the schema.

Every default check runs but `positive_data_acceptance`: schema-valid input is still refused for
reasons no schema can say (a wrong current password, a taken username, a stale code).

Grows by itself: each endpoint added to the API is in the schema, so it is fuzzed here.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from sessions_app.access_tokens.scopes import Scope
from sessions_app.selectors import session_is_active
from testing.clients import signed_in_client, token_client


@contextmanager
def live_schema() -> Iterator[schemathesis.BaseSchema]:
    # Like Django's test client: keep the test's connection (and its transaction) across requests.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
        # Unknown query parameters are ignored by design (clients add cache-busters): not "invalid input".
        schema.config.generation.update(allow_extra_parameters=False)
        yield schema
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(db):
    with live_schema() as schema:
        yield schema


@pytest.fixture
def api_schema_without_coverage(db):
    """For the access-token walk: the coverage phase's deterministic cases (every boundary and
    missing or wrong-typed field of every operation, most of that walk's time) are the signed-in
    walk's cases again, through the same validation once the credential is accepted."""
    with live_schema() as schema:
        schema.config.phases.coverage.enabled = False
        yield schema


schema = schemathesis.pytest.from_fixture("api_schema")
token_schema = schemathesis.pytest.from_fixture("api_schema_without_coverage")


@pytest.fixture
def live_session_token(user):
    """`live_session_token()` -> an access token whose device session is alive, for each example:
    the last one while its session lives, a new sign-in once an example ended it (logout,
    logout-all). A sign-in per example updated the user's `last_login` some 6,000 times in the
    test's one transaction: every later read of that row (each request's authentication, and each
    deferred foreign-key check at the end, ~60 s of teardown) walked all its row versions."""
    signed_in = []

    def token() -> str:
        if not signed_in or not session_is_active(session_id=signed_in[-1].device_session.pk, user_id=user.pk):
            signed_in.append(signed_in_client(user))
        return signed_in[-1].tokens.access

    return token


@pytest.fixture
def access_token(user):
    """One token for all the examples of an operation (each example would otherwise add one)."""
    return token_client(user, [scope for scope in Scope.values if scope != Scope.STAFF]).plaintext


# One test walks every operation (about 150 now), so it outgrows pytest.ini's 300 s per-test limit
# on a busy 2-core machine; the limit stays a guard against hangs.
@pytest.mark.timeout(1200)
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_operation_never_errors_and_matches_schema(case, live_session_token):
    token = live_session_token()
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, excluded_checks=[positive_data_acceptance])


@pytest.mark.timeout(1200)
@token_schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_operation_with_an_access_token_never_errors_and_matches_schema(case, access_token):
    """The same walk with a personal access token holding every scope a non-staff user may have:
    credential endpoints answer 403 `token_not_allowed`, which the schema must declare too. Its
    explicit examples and generated cases run; the coverage phase runs in the signed-in walk."""
    token = access_token
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, excluded_checks=[positive_data_acceptance])


def test_schema_is_served_and_documents_the_error_shape(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    assert {"code", "message", "request_id"} <= set(spec["components"]["schemas"]["Error"]["properties"])
    ready = spec["paths"]["/health/ready"]["get"]["responses"]
    assert ready["503"]["content"]["application/json"]["schema"]["$ref"].endswith("/NotReady")


def test_interactive_docs_are_served_locally(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html  # no CDN needed
