"""Registration, verification, sign-in, lockout and passwords through the API."""

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import OneTimeCode, OutboundEmail, User
from accounts.one_time_codes import code_issue
from accounts.tasks import send_password_reset_code, send_verification_code
from accounts.tests.factories import TEST_PASSWORD, UserFactory
from sessions_app.models import DeviceSession
from testing.clients import assert_error, signed_in_client
from testing.mailbox import extract_code, wait_for_message

pytestmark = pytest.mark.django_db
STRONG = "a-much-longer-passphrase-2026"
Purpose = OneTimeCode.Purpose


def post(client, path, data, **extra):
    return client.post(f"/api/v1/{path}", data, format="json", **extra)


def without_request_id(response) -> tuple[int, dict]:
    body = response.json()
    body.pop("request_id", None)
    return response.status_code, body


@pytest.fixture
def generous_throttles(settings):
    """Tests that call one endpoint many times are not about throttling."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {scope: "10000/min" for scope in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]},
    }


# --- end to end -----------------------------------------------------------------------------------


def test_register_verify_use_refresh_logout_end_to_end(api_client, celery_worker):
    # given a new person registers
    email = f"ada-{time.monotonic_ns()}@example.com"
    response = post(api_client, "auth/register", {"email": email, "username": "ada", "password": STRONG})
    assert response.status_code == 201
    # when the code arrives at the SMTP sink through the real worker
    message = wait_for_message(email, subject_contains="Confirm")
    code = extract_code(message)
    # then it verifies the address and signs in
    body = {"email": email, "code": code, "password": STRONG}
    verified = post(api_client, "auth/verify-email", body, HTTP_USER_AGENT="Firefox/120.0")
    assert verified.status_code == 200, verified.content
    tokens = verified.json()
    assert tokens["user"]["email"] == email and tokens["user"]["is_verified"] is True
    assert tokens["session"]["current"] is True

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api_client.get("/api/v1/users/me").json()["username"] == "ada"

    refreshed = post(api_client, "auth/refresh", {"refresh": tokens["refresh"]})
    assert refreshed.status_code == 200
    new = refreshed.json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {new['access']}")
    assert post(api_client, "auth/logout", {}).status_code == 204

    # then every token of that session is refused
    for access in (tokens["access"], new["access"]):
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        assert_error(api_client.get("/api/v1/users/me"), 401, "session_revoked")
    api_client.credentials()
    assert_error(post(api_client, "auth/refresh", {"refresh": new["refresh"]}), 401, "session_revoked")

    # and a forgotten password: the worker looks the address up and mails a reset code
    assert post(api_client, "auth/password/forgot", {"email": email}).status_code == 202
    code = extract_code(wait_for_message(email, subject_contains="Reset"))
    reset = post(api_client, "auth/password/reset", {"email": email, "code": code, "new_password": STRONG + "!"})
    assert reset.status_code == 200, reset.content
    assert login(api_client, email, STRONG + "!").status_code == 200


# --- registration -----------------------------------------------------------------------------------


def test_register_creates_an_unverified_user_and_queues_a_code(api_client):
    response = post(api_client, "auth/register", {"email": "Ada@Example.COM", "username": "ada", "password": STRONG})
    assert response.status_code == 201
    user = User.objects.get(email__iexact="ada@example.com")
    assert user.is_verified is False
    assert OneTimeCode.objects.filter(user=user, purpose=Purpose.VERIFY_EMAIL, used_at=None).count() == 1
    queued = OutboundEmail.objects.get(to=user.email)
    assert queued.template == "verify_email" and len(queued.context["code"]) == 6
    # only a keyed hash of the code is stored
    assert queued.context["code"] not in OneTimeCode.objects.get(user=user).code_hash


def test_register_with_a_taken_email_answers_alike_and_tells_the_owner(api_client):
    # given a verified account
    owner = UserFactory(email="owner@example.com")
    # when someone registers with its address (any case) and with a new one
    taken = post(api_client, "auth/register", {"email": "OWNER@example.com", "username": "other1", "password": STRONG})
    fresh = post(api_client, "auth/register", {"email": "new@example.com", "username": "other2", "password": STRONG})
    # then both answers are identical
    assert without_request_id(taken) == without_request_id(fresh)
    # and the owner is told instead of getting a code; the password is untouched
    assert OutboundEmail.objects.get(to=owner.email).template == "account_exists"
    owner.refresh_from_db()
    assert owner.check_password(TEST_PASSWORD)
    assert User.objects.filter(email__iexact="owner@example.com").count() == 1


def test_register_rejects_a_taken_username_and_weak_passwords(api_client):
    UserFactory(username="Taken")
    response = post(api_client, "auth/register", {"email": "a@example.com", "username": "taken", "password": STRONG})
    assert_error(response, 400, "validation_error")
    assert "username" in response.json()["fields"]
    for weak in ("short", "password1234", "1234567890123"):
        response = post(api_client, "auth/register", {"email": "b@example.com", "username": "bee", "password": weak})
        assert_error(response, 400, "validation_error")
        assert "password" in response.json()["fields"]
    assert not User.objects.filter(email="b@example.com").exists()
    assert not OutboundEmail.objects.exists()


def test_long_passphrases_are_accepted(api_client):
    passphrase = "correct horse battery staple " * 3  # 87 characters, spaces kept
    response = post(api_client, "auth/register", {"email": "c@example.com", "username": "sea", "password": passphrase})
    assert response.status_code == 201
    assert User.objects.get(email="c@example.com").check_password(passphrase)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "not-an-email", "username": "x1", "password": STRONG},
        {"email": "a@example.com", "username": "bad name!", "password": STRONG},
        {"email": 5, "username": "abc", "password": STRONG},
        {"email": "a@example.com", "username": "abc", "password": "x" * 300},
    ],
)
def test_register_bad_input_is_a_400_and_changes_nothing(api_client, body):
    assert_error(post(api_client, "auth/register", body), 400, "validation_error")
    assert not User.objects.exists() and not OutboundEmail.objects.exists()


# --- verification -------------------------------------------------------------------------------------


@pytest.fixture
def unverified():
    return UserFactory(is_verified=False)


def verify(client, user, code):
    return post(client, "auth/verify-email", {"email": user.email, "code": code, "password": STRONG})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_the_sixth_try_fails_even_with_the_right_code(api_client, unverified):
    code = code_issue(user=unverified, purpose=Purpose.VERIFY_EMAIL)
    for _ in range(5):
        assert_error(verify(api_client, unverified, wrong(code)), 400, "invalid_code")
    assert_error(verify(api_client, unverified, code), 400, "invalid_code")
    unverified.refresh_from_db()
    assert unverified.is_verified is False


def test_an_expired_code_fails(api_client, unverified):
    code = code_issue(user=unverified, purpose=Purpose.VERIFY_EMAIL)
    OneTimeCode.objects.filter(user=unverified).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(verify(api_client, unverified, code), 400, "invalid_code")


def test_a_code_works_once(api_client, unverified):
    code = code_issue(user=unverified, purpose=Purpose.VERIFY_EMAIL)
    assert verify(api_client, unverified, code).status_code == 200
    assert_error(verify(api_client, unverified, code), 400, "invalid_code")


def test_a_code_is_bound_to_its_user_and_purpose(api_client, unverified):
    # given user A's verification code and B's reset code
    other = UserFactory(is_verified=False)
    code_a = code_issue(user=unverified, purpose=Purpose.VERIFY_EMAIL)
    code_b_reset = code_issue(user=other, purpose=Purpose.RESET_PASSWORD)
    code_issue(user=other, purpose=Purpose.VERIFY_EMAIL)
    # when they are tried against B's verification
    # then neither verifies B
    assert_error(verify(api_client, other, code_a), 400, "invalid_code")
    assert_error(verify(api_client, other, code_b_reset), 400, "invalid_code")
    other.refresh_from_db()
    assert other.is_verified is False


def test_a_new_code_retires_the_old_one(api_client, unverified):
    old = code_issue(user=unverified, purpose=Purpose.VERIFY_EMAIL)
    new = code_issue(user=unverified, purpose=Purpose.VERIFY_EMAIL)
    if old != new:
        assert_error(verify(api_client, unverified, old), 400, "invalid_code")
    assert verify(api_client, unverified, new).status_code == 200


def test_resend_answers_alike_and_sends_only_to_unverified_accounts(api_client, unverified):
    verified = UserFactory()
    answers = {
        without_request_id(post(api_client, "auth/verify-email/resend", {"email": email})).__repr__()
        for email in (unverified.email, verified.email, "nobody@example.com")
    }
    assert len(answers) == 1 and "202" in answers.pop()
    # what the worker then does for each
    for email in (unverified.email, verified.email, "nobody@example.com"):
        send_verification_code(email)
    assert list(OutboundEmail.objects.values_list("to", "template")) == [(unverified.email, "verify_email")]
    # a second request within the cool-down sends nothing more
    send_verification_code(unverified.email)
    assert OutboundEmail.objects.count() == 1


# --- sign-in and lockout ---------------------------------------------------------------------------------


def login(client, identifier, password=TEST_PASSWORD, **extra):
    return post(client, "auth/login", {"email_or_username": identifier, "password": password}, **extra)


def test_login_by_email_or_username_in_any_case(api_client, user):
    for identifier in (user.email.upper(), user.username.upper()):
        response = login(api_client, identifier, HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")
        assert response.status_code == 200, response.content
        assert response.json()["user"]["id"] == str(user.pk)
    assert DeviceSession.objects.filter(user=user).count() == 2


def test_unknown_account_and_wrong_password_answer_alike(api_client, user):
    assert without_request_id(login(api_client, user.email, "wrong-password-123")) == without_request_id(
        login(api_client, "nobody@example.com", "wrong-password-123")
    )


def test_unverified_account_gets_its_own_code_only_after_the_right_password(api_client, unverified):
    assert_error(login(api_client, unverified.email, "wrong-password-123"), 401, "invalid_credentials")
    assert_error(login(api_client, unverified.email), 403, "email_not_verified")
    assert not DeviceSession.objects.exists()


def test_five_failures_lock_the_account_with_growing_time(api_client, user):
    for _ in range(4):
        assert_error(login(api_client, user.email, "wrong-password-123"), 401, "invalid_credentials")
    assert_error(login(api_client, user.email, "wrong-password-123"), 401, "invalid_credentials")
    # locked now: even the right password is refused, with a Retry-After
    locked = login(api_client, user.email)
    assert_error(locked, 429, "account_locked")
    assert 0 < int(locked["Retry-After"]) <= 60
    # when the lock runs out, one more failure locks for longer
    User.objects.filter(pk=user.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    login(api_client, user.email, "wrong-password-123")
    assert 60 < int(login(api_client, user.email)["Retry-After"]) <= 120
    # and after it a success resets the counter
    User.objects.filter(pk=user.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert login(api_client, user.email).status_code == 200
    user.refresh_from_db()
    assert (user.failed_login_count, user.locked_until) == (0, None)


def test_lockout_from_many_ips_locks_only_the_target(api_client, user, generous_throttles):
    bystander = UserFactory()
    for n in range(6):
        login(api_client, user.email, "wrong-password-123", REMOTE_ADDR=f"203.0.113.{n}")
    assert_error(login(api_client, user.email), 429, "account_locked")
    assert login(api_client, bystander.email).status_code == 200


def test_unknown_names_lock_like_accounts(api_client, generous_throttles):
    answers = [login(api_client, "ghost@example.com", "wrong-password-123") for _ in range(6)]
    assert [a.status_code for a in answers] == [401] * 5 + [429]
    assert answers[-1].json()["code"] == "account_locked"


def test_login_is_throttled_per_ip_and_per_account(api_client, user, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "3/min"},
    }
    for _ in range(3):
        login(api_client, f"nobody{_}@example.com", "wrong-password-123")
    throttled = login(api_client, user.email)
    assert_error(throttled, 429, "throttled")
    assert int(throttled["Retry-After"]) > 0
    # another IP may still sign in ... until the account's own budget is spent from many IPs
    assert login(api_client, user.email, REMOTE_ADDR="198.51.100.7").status_code == 200
    for n in range(2):
        login(api_client, user.email, REMOTE_ADDR=f"198.51.100.{10 + n}")
    assert_error(login(api_client, user.email, REMOTE_ADDR="198.51.100.99"), 429, "throttled")


def test_forwarded_for_counts_only_through_trusted_proxies(api_client, user, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    response = login(api_client, user.email, HTTP_X_FORWARDED_FOR="6.6.6.6", REMOTE_ADDR="10.0.0.1")
    assert response.json()["session"]["ip_address"] == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 1
    response = login(api_client, user.email, HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="10.0.0.1")
    assert response.json()["session"]["ip_address"] == "203.0.113.9"


# --- passwords -------------------------------------------------------------------------------------------


def test_forgot_answers_alike_and_reset_ends_every_session(api_client, user):
    # given two signed-in devices
    phone, laptop = signed_in_client(user), signed_in_client(user)
    # when a reset is asked for (existing and unknown addresses answer alike)
    known = post(api_client, "auth/password/forgot", {"email": user.email})
    unknown = post(api_client, "auth/password/forgot", {"email": "nobody@example.com"})
    assert without_request_id(known) == without_request_id(unknown) and known.status_code == 202
    for email in (user.email, "nobody@example.com"):  # what the worker then does
        send_password_reset_code(email)
    code = OutboundEmail.objects.get(to=user.email, template="password_reset").context["code"]
    # and the code is used
    body = {"email": user.email, "code": code, "new_password": STRONG}
    assert post(api_client, "auth/password/reset", body).status_code == 200
    # then every session is refused, the new password works, the owner is told
    for device in (phone, laptop):
        assert_error(device.get("/api/v1/users/me"), 401, "session_revoked")
    assert login(api_client, user.email, STRONG).status_code == 200
    assert OutboundEmail.objects.filter(to=user.email, template="password_changed").exists()
    # and the code cannot be used twice
    assert_error(post(api_client, "auth/password/reset", body), 400, "invalid_code")


def test_reset_with_a_weak_password_keeps_the_code(api_client, user):
    code = code_issue(user=user, purpose=Purpose.RESET_PASSWORD)
    weak = post(api_client, "auth/password/reset", {"email": user.email, "code": code, "new_password": "short"})
    assert_error(weak, 400, "validation_error")
    ok = post(api_client, "auth/password/reset", {"email": user.email, "code": code, "new_password": STRONG})
    assert ok.status_code == 200


def test_a_verification_code_does_not_reset_a_password(api_client, user):
    code = code_issue(user=user, purpose=Purpose.VERIFY_EMAIL)
    body = {"email": user.email, "code": code, "new_password": STRONG}
    assert_error(post(api_client, "auth/password/reset", body), 400, "invalid_code")
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


def test_password_change_needs_the_current_password(auth_client):
    body = {"current_password": "not-the-password", "new_password": STRONG}
    response = post(auth_client, "auth/password/change", body)
    assert_error(response, 400, "validation_error")
    assert "current_password" in response.json()["fields"]
    auth_client.user.refresh_from_db()
    assert auth_client.user.check_password(TEST_PASSWORD)


# --- profile and staff ---------------------------------------------------------------------------------


def test_profile_update_and_taken_username(auth_client):
    UserFactory(username="taken")
    response = auth_client.patch("/api/v1/users/me", {"display_name": "Ada L."}, format="json")
    assert response.status_code == 200 and response.json()["display_name"] == "Ada L."
    assert_error(auth_client.patch("/api/v1/users/me", {"username": "TAKEN"}, format="json"), 400, "validation_error")


def test_account_deletion_needs_the_password_and_ends_sessions(auth_client):
    user = auth_client.user
    assert_error(
        auth_client.delete("/api/v1/users/me", {"password": "wrong-password-1"}, format="json"), 400, "validation_error"
    )
    assert User.objects.filter(pk=user.pk).exists()
    assert auth_client.delete("/api/v1/users/me", {"password": TEST_PASSWORD}, format="json").status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
    assert auth_client.get("/api/v1/users/me").status_code == 401


def test_staff_user_endpoints_are_for_staff_only(auth_client, staff_client):
    assert_error(auth_client.get("/api/v1/users"), 403, "permission_denied")
    target = signed_in_client(UserFactory(email="target@example.com"))
    listed = staff_client.get("/api/v1/users", {"q": "target"}).json()["results"]
    assert [u["email"] for u in listed] == ["target@example.com"]
    created = staff_client.post(
        "/api/v1/users", {"email": "made@example.com", "username": "made", "password": STRONG}, format="json"
    )
    assert created.status_code == 201 and created.json()["is_verified"] is True
    deactivated = staff_client.post(f"/api/v1/users/{target.user.pk}/deactivate")
    assert deactivated.status_code == 200 and deactivated.json()["is_active"] is False
    assert target.get("/api/v1/users/me").status_code == 401


# --- enumeration by timing -------------------------------------------------------------------------------
# Wall-clock comparisons fail on a loaded 2-core machine; the timing tells come from work done for one
# address and not the other, so the test compares the work itself: password hashes (the milliseconds),
# and SQL statements.


def _work_done(call, arg, monkeypatch) -> dict[str, int]:
    """What `call(arg)` costs, counted: password hasher runs and SQL statements.
    The cache (email cool-downs, throttles) is cleared first: a cool-down that skips the work for a
    known address would hide exactly the difference this measures."""
    from django.contrib.auth.hashers import get_hashers
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    hashes = []
    for hasher in get_hashers():
        for method in ("encode", "verify"):
            original = getattr(type(hasher), method)
            monkeypatch.setattr(
                type(hasher), method, lambda self, *a, _o=original, **k: hashes.append(1) or _o(self, *a, **k)
            )
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        call(arg)
    monkeypatch.undo()
    return {"hashes": len(hashes), "queries": len(queries)}


@pytest.mark.django_db(transaction=True)  # real commits: the work queued on commit (mail, tasks) counts too
def test_existing_and_unknown_accounts_take_alike(api_client, generous_throttles, settings, monkeypatch):
    # given an existing account and an unknown address (no lockout: it would skip the password check)
    settings.LOGIN_LOCKOUT_THRESHOLD = 10_000
    user = UserFactory(email="exists@example.com", username="exists", is_verified=False)
    flows = {
        "register": lambda email: post(
            api_client, "auth/register", {"email": email, "username": f"u{time.monotonic_ns()}", "password": STRONG}
        ),
        "forgot": lambda email: post(api_client, "auth/password/forgot", {"email": email}),
        "resend": lambda email: post(api_client, "auth/verify-email/resend", {"email": email}),
        "reset": lambda email: post(
            api_client, "auth/password/reset", {"email": email, "code": "000000", "new_password": "exists"}
        ),
        "login": lambda email: post(
            api_client, "auth/login", {"email_or_username": email, "password": "wrong-password-123"}
        ),
    }
    code_issue(user=user, purpose=Purpose.RESET_PASSWORD)
    for name, call in flows.items():
        unknown_email = f"unknown-{name}@example.com"  # registering creates it: one per flow
        # when each flow is called for both, answers are identical
        cache.clear()
        assert without_request_id(call(user.email)) == without_request_id(call(unknown_email)), name
        # and so is the costly work behind them: a password hash (milliseconds) for one address only is
        # the timing tell. A wrong reset code runs the same statements for both (the unknown address
        # against no row). Elsewhere a real account costs a few more indexed statements (a reset mail
        # is queued in the outbox; a new registration writes its rows), each a fraction of a
        # millisecond: bounded here, not equal.
        existing = _work_done(call, user.email, monkeypatch)
        unknown = _work_done(call, f"other-{unknown_email}", monkeypatch)
        assert existing["hashes"] == unknown["hashes"], (name, existing, unknown)
        # a wrong reset code runs the same statements for both (against no row for the unknown address)
        allowed = 0 if name == "reset" else 5
        assert abs(existing["queries"] - unknown["queries"]) <= allowed, (name, existing, unknown)


def test_account_deletion_takes_the_videos_and_their_files(celery_worker):
    # given a user with a video that has a file in storage
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from videos.models import Video
    from videos.tests.factories import VideoFactory

    client = signed_in_client(UserFactory())
    video = VideoFactory(owner=client.user)
    name = default_storage.save(f"{video.storage_prefix}source/file", ContentFile(b"bytes"))
    # when the account is deleted
    assert client.delete("/api/v1/users/me", {"password": TEST_PASSWORD}, format="json").status_code == 204
    # then the video row is gone at once and the worker removes its files
    assert not Video.objects.filter(pk=video.pk).exists()
    deadline = time.monotonic() + 30
    while default_storage.exists(name) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not default_storage.exists(name)


def test_staff_with_add_user_cannot_create_staff_accounts(settings):
    # given a staff member allowed to add users, who is not a superuser
    from django.contrib.auth.models import Permission

    member = UserFactory(is_staff=True)
    member.user_permissions.set(Permission.objects.filter(codename="add_user", content_type__app_label="accounts"))
    client = signed_in_client(member)
    body = {"email": "made@example.com", "username": "made", "password": STRONG}
    # when they create a staff account, and a plain one
    staff = post(client, "users", {**body, "is_staff": True})
    plain = post(client, "users", body)
    # then only the plain one is made
    assert_error(staff, 403, "permission_denied")
    assert plain.status_code == 201, plain.content
    assert User.objects.get(email="made@example.com").is_staff is False
    # and a superuser may
    boss = signed_in_client(UserFactory(is_staff=True, is_superuser=True))
    made = post(boss, "users", {**body, "email": "boss-made@example.com", "username": "bossmade", "is_staff": True})
    assert made.status_code == 201 and made.json()["is_staff"] is True
