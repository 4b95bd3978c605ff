"""Attacks from the security review (issue 12) against identity, each reproduced through the API."""

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from accounts.models import OneTimeCode, OutboundEmail, User
from accounts.one_time_codes import code_issue
from accounts.tests.factories import TEST_PASSWORD, UserFactory
from accounts.tests.test_auth_flows import STRONG, assert_error, login, post, without_request_id, wrong

pytestmark = pytest.mark.django_db
Purpose = OneTimeCode.Purpose
SQUATTER = "squatters-own-passphrase-1"
OWNER = "the-owners-real-passphrase-2"


def rates(settings, **changes):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **changes},
    }


def last_code(email: str, template: str = "verify_email") -> str:
    return OutboundEmail.objects.filter(to=email, template=template).order_by("-created_at")[0].context["code"]


# --- finding 1: pre-account takeover --------------------------------------------------------------


def test_whoever_proves_the_mailbox_holds_the_only_working_password(api_client):
    # given a squatter registers the victim's address with their own password and never verifies
    post(api_client, "auth/register", {"email": "victim@example.com", "username": "squatter", "password": SQUATTER})
    cache.clear()  # the owner comes later, past the email cool-down
    # when the owner registers the same address and verifies with the code mailed to them
    post(api_client, "auth/register", {"email": "victim@example.com", "username": "owner", "password": OWNER})
    body = {"email": "victim@example.com", "code": last_code("victim@example.com"), "password": OWNER}
    verified = post(api_client, "auth/verify-email", body)
    # then the owner is signed in, and only the owner's password works
    assert verified.status_code == 200, verified.content
    assert_error(login(api_client, "victim@example.com", SQUATTER), 401, "invalid_credentials")
    assert login(api_client, "victim@example.com", OWNER).status_code == 200


def test_verification_checks_the_code_before_the_password_and_keeps_the_code(api_client):
    user = UserFactory(is_verified=False)
    code = code_issue(user=user, purpose=Purpose.VERIFY_EMAIL)
    # a wrong code with a weak password: the same answer as for an unknown address
    known = post(api_client, "auth/verify-email", {"email": user.email, "code": wrong(code), "password": "short"})
    unknown = post(api_client, "auth/verify-email", {"email": "no@example.com", "code": code, "password": "short"})
    assert_error(known, 400, "invalid_code")
    assert without_request_id(known) == without_request_id(unknown)
    # the right code with a weak password is refused without using the code up
    weak = post(api_client, "auth/verify-email", {"email": user.email, "code": code, "password": "short"})
    assert_error(weak, 400, "validation_error")
    ok = post(api_client, "auth/verify-email", {"email": user.email, "code": code, "password": OWNER})
    assert ok.status_code == 200


def test_unverified_accounts_expire_and_are_purged(settings):
    # given unverified accounts older and younger than the configured time, and an old verified one
    settings.UNVERIFIED_ACCOUNT_TTL = timedelta(hours=48)
    stale = UserFactory(is_verified=False)
    fresh = UserFactory(is_verified=False)
    verified = UserFactory()
    User.objects.filter(pk__in=[stale.pk, verified.pk]).update(created_at=timezone.now() - timedelta(hours=49))
    # when the hourly clean-up runs
    call_command("purge_expired")
    # then only the stale unverified account is gone, and its address is free again
    assert set(User.objects.values_list("pk", flat=True)) == {fresh.pk, verified.pk}
    assert "accounts.tasks.purge_expired" in {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}


# --- finding 2: enumeration through password reset ------------------------------------------------


def test_reset_with_a_wrong_code_answers_alike_for_known_and_unknown_addresses(api_client, user):
    code = code_issue(user=user, purpose=Purpose.RESET_PASSWORD)
    weak = user.username  # too short and too similar to the username: a validation error for a real account
    known = post(api_client, "auth/password/reset", {"email": user.email, "code": wrong(code), "new_password": weak})
    unknown = post(api_client, "auth/password/reset", {"email": "no@example.com", "code": code, "new_password": weak})
    assert_error(known, 400, "invalid_code")
    assert without_request_id(known) == without_request_id(unknown)


# --- finding 3: look-alike addresses and guess caps -----------------------------------------------


def test_look_alike_addresses_share_the_accounts_throttle(api_client, settings):
    # given an account and a budget of two reset requests per account
    UserFactory(email="sam@example.com", username="sam")
    rates(settings, password_forgot="2/hour")
    for n, variant in enumerate(["sam@example.com", "SAM@example.com"]):
        response = post(api_client, "auth/password/forgot", {"email": variant}, REMOTE_ADDR=f"203.0.113.{n}")
        assert response.status_code == 202
    # when a Unicode look-alike (long s, which PostgreSQL's iexact matches) asks from a fresh IP
    look_alike = post(api_client, "auth/password/forgot", {"email": "\u017fam@example.com"}, REMOTE_ADDR="203.0.113.9")
    # then it spends the same account's budget
    assert_error(look_alike, 429, "throttled")


def test_look_alike_usernames_share_the_accounts_login_throttle(api_client, settings):
    UserFactory(username="iris")
    rates(settings, login="2/min")
    for n in range(2):
        login(api_client, "iris", "wrong-password-123", REMOTE_ADDR=f"203.0.113.{n}")
    # dotless i upper-cases to I, so PostgreSQL's iexact finds "iris"
    assert_error(login(api_client, "\u0131ris", "wrong-password-123", REMOTE_ADDR="203.0.113.9"), 429, "throttled")


def test_wrong_reset_codes_are_capped_per_account_across_codes(api_client, user, settings):
    # given an attacker who gets a fresh code issued again and again and guesses each up to its limit
    settings.ONE_TIME_CODE_MAX_FAILURES_PER_DAY = 10
    for _ in range(2):
        code = code_issue(user=user, purpose=Purpose.RESET_PASSWORD)
        for _ in range(5):
            body = {"email": user.email, "code": wrong(code), "new_password": STRONG}
            assert_error(post(api_client, "auth/password/reset", body), 400, "invalid_code")
    # when the account's daily budget of wrong guesses is spent, even a right code fails
    code = code_issue(user=user, purpose=Purpose.RESET_PASSWORD)
    body = {"email": user.email, "code": code, "new_password": STRONG}
    assert_error(post(api_client, "auth/password/reset", body), 400, "invalid_code")
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


# --- finding 8: the lockout counter is stored and decays alike --------------------------------------


@pytest.fixture
def generous_throttles(settings):
    rates(settings, **{scope: "10000/min" for scope in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]})


def lock(api_client, name):
    for _ in range(5):
        login(api_client, name, "wrong-password-123")


def test_lockout_of_accounts_and_unknown_names_survives_a_cache_flush_alike(api_client, user, generous_throttles):
    for name in (user.email, "ghost@example.com"):
        lock(api_client, name)
    cache.clear()  # a Redis restart or eviction
    names = (user.email, "ghost@example.com")
    answers = [login(api_client, name, "wrong-password-123").json()["code"] for name in names]
    assert answers == ["account_locked", "account_locked"]


def test_failed_sign_ins_decay_alike_for_accounts_and_unknown_names(api_client, user, generous_throttles, settings):
    # given both an account and an unknown name locked, with a short lockout maximum
    # (long enough that a lock set by one failure still holds at the next request on a busy machine)
    settings.LOGIN_LOCKOUT_MAX = timedelta(seconds=3)
    for name in (user.email, "ghost@example.com"):
        lock(api_client, name)
    # when that long has passed since the last failure
    time.sleep(3.2)
    # then one more failure starts a fresh count for both: neither locks again at once
    for name in (user.email, "ghost@example.com"):
        assert_error(login(api_client, name, "wrong-password-123"), 401, "invalid_credentials")
        assert_error(login(api_client, name, "wrong-password-123"), 401, "invalid_credentials")


# --- finding 12: current-password guessing ----------------------------------------------------------


def change(client, current):
    return post(client, "auth/password/change", {"current_password": current, "new_password": STRONG})


def delete_me(client, password):
    return client.delete("/api/v1/users/me", {"password": password}, format="json")


@pytest.mark.parametrize("attempt", [change, delete_me])
def test_current_password_guesses_count_toward_the_lockout(auth_client, api_client, attempt, generous_throttles):
    for _ in range(5):
        assert_error(attempt(auth_client, "not-the-password"), 400, "validation_error")
    # locked: even the right password is refused, here and at sign-in
    assert_error(attempt(auth_client, TEST_PASSWORD), 429, "account_locked")
    assert_error(login(api_client, auth_client.user.email), 429, "account_locked")
    assert User.objects.filter(pk=auth_client.user.pk).exists()


def test_current_password_checks_are_throttled_per_user(auth_client, settings):
    rates(settings, password_confirm="2/hour")
    change(auth_client, "not-the-password")
    delete_me(auth_client, "not-the-password")
    # the budget is the user's, whichever endpoint and IP asks
    throttled = post(
        auth_client,
        "auth/password/change",
        {"current_password": TEST_PASSWORD, "new_password": STRONG},
        REMOTE_ADDR="198.51.100.1",
    )
    assert_error(throttled, 429, "throttled")
    assert auth_client.get("/api/v1/users/me").status_code == 200  # reading the profile is not throttled
