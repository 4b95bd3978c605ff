"""Sessions carry a readable device name: parsed from the User-Agent, or chosen by the client at sign-in."""

import pytest

from accounts.models import OneTimeCode
from accounts.one_time_codes import code_issue
from accounts.tests.factories import TEST_PASSWORD, UserFactory
from sessions_app.devices import device_name
from sessions_app.models import DeviceSession

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        ("curl/8.5.0", "curl 8.5"),
        ("python-httpx/0.27.0", "python-httpx 0.27"),
        ("okhttp/4.9.3", "okhttp 4.9"),
        ("VODApp/1.2 (iPhone; iOS 17.0; Scale/3.00)", "VODApp 1.2 on iPhone, iOS"),
        ("HTTPie/3.2.2", "HTTPie 3.2"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
            "Firefox 121 on Windows",
        ),
        ("", "Unknown device"),
        ("!!!", "Unknown device"),
    ],
)
def test_api_clients_get_a_readable_name(user_agent, expected):
    assert device_name(user_agent) == expected


def _login(api_client, user, **extra):
    body = {"email_or_username": user.username, "password": TEST_PASSWORD, **extra}
    return api_client.post("/api/v1/auth/login", body, format="json", HTTP_USER_AGENT="okhttp/4.9.3")


def test_a_client_may_name_its_session_at_sign_in(api_client):
    user = UserFactory()
    response = _login(api_client, user, device_name="Ada's phone")
    assert response.status_code == 200, response.content
    assert response.json()["session"]["device_name"] == "Ada's phone"
    assert DeviceSession.objects.get(user=user).device_name == "Ada's phone"


def test_without_a_name_the_user_agent_names_the_session(api_client):
    response = _login(api_client, UserFactory())
    assert response.json()["session"]["device_name"] == "okhttp 4.9"


def test_verify_email_takes_a_device_name_too(api_client):
    user = UserFactory(is_verified=False)
    code = code_issue(user=user, purpose=OneTimeCode.Purpose.VERIFY_EMAIL)
    response = api_client.post(
        "/api/v1/auth/verify-email",
        {
            "email": user.email,
            "code": code,
            "password": "a-new-long-passphrase-1",
            "device_name": "Kitchen TV",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["session"]["device_name"] == "Kitchen TV"


@pytest.mark.parametrize("bad", ["\u202egnp.exe", "tab\there", "x" * 129, "", 42])
def test_a_bad_device_name_is_refused_before_any_session(api_client, bad):
    user = UserFactory()
    response = _login(api_client, user, device_name=bad)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "device_name" in response.json()["fields"]
    assert not DeviceSession.objects.filter(user=user).exists()


def test_a_wrong_password_with_a_device_name_is_still_refused(api_client):
    user = UserFactory()
    response = api_client.post(
        "/api/v1/auth/login",
        {"email_or_username": user.username, "password": "wrong-password-1", "device_name": "Mine"},
        format="json",
    )
    assert response.status_code == 401
    assert not DeviceSession.objects.exists()
