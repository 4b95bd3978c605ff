"""Two-factor sign-in through the API: enrolment, the challenge, codes accepted once, recovery
codes, disabling, and guesses counted toward the lockout."""

from datetime import timedelta

import pyotp
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import OneTimeCode, OutboundEmail, User
from accounts.one_time_codes import code_issue
from accounts.tests.factories import TEST_PASSWORD, UserFactory
from accounts.tests.totp_helpers import authenticator_code, enrol
from sessions_app.models import DeviceSession, RecoveryCode, TOTPDevice, TwoFactorChallenge
from testing.clients import signed_in_client
from testing.race import run_concurrently

pytestmark = pytest.mark.django_db


def post(client, path, data=None, **extra):
    return client.post(f"/api/v1/{path}", data, format="json", **extra)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["code"] == code, response.content


def login(client, user, password=TEST_PASSWORD, **extra):
    return post(client, "auth/login", {"email_or_username": user.email, "password": password}, **extra)


def challenge_for(client, user) -> str:
    response = login(client, user)
    assert response.status_code == 202, response.content
    return response.json()["challenge"]


def verify(client, challenge, code, **extra):
    return post(client, "auth/2fa/verify", {"challenge": challenge, "code": code}, **extra)


def failures(user) -> int:
    user.refresh_from_db()
    return user.failed_login_count


@pytest.fixture
def enrolled(user):
    user.recovery_codes = enrol(user)
    return user


@pytest.fixture
def generous_throttles(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {scope: "10000/min" for scope in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]},
    }


# --- enrolment ------------------------------------------------------------------------------------


def test_enrol_then_sign_in_with_a_challenge_and_a_code(api_client, user):
    # given a signed-in user sets up an authenticator
    client = signed_in_client(user)
    setup = post(client, "auth/2fa/setup", {"password": TEST_PASSWORD})
    assert setup.status_code == 200, setup.content
    secret, uri = setup.json()["secret"], setup.json()["otpauth_uri"]
    assert uri.startswith("otpauth://totp/") and "issuer=VOD" in uri and secret in uri
    device = TOTPDevice.objects.get(user=user)
    assert secret not in device.encrypted_secret and device.confirmed_at is None
    # a pending enrolment changes nothing yet
    assert login(api_client, user).status_code == 200

    # when they confirm with a code from the app
    confirm = post(client, "auth/2fa/confirm", {"code": pyotp.TOTP(secret).now()})

    # then they get 10 recovery codes, stored only as hashes, and are told by email
    assert confirm.status_code == 200, confirm.content
    codes = confirm.json()["recovery_codes"]
    assert len(set(codes)) == 10
    hashes = set(RecoveryCode.objects.filter(device=device).values_list("code_hash", flat=True))
    assert len(hashes) == 10 and not any(code in h or code.replace("-", "") in h for code in codes for h in hashes)
    assert OutboundEmail.objects.filter(to=user.email, template="two_factor_changed").count() == 1
    # and a sign-in answers a challenge instead of tokens ...
    sessions_before = DeviceSession.objects.filter(user=user).count()
    first = login(api_client, user, HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")
    assert first.status_code == 202, first.content
    body = first.json()
    assert body["two_factor_required"] is True and "access" not in body and "refresh" not in body
    assert DeviceSession.objects.filter(user=user).count() == sessions_before
    # ... that a code turns into tokens and a device session
    done = verify(api_client, body["challenge"], authenticator_code(user), HTTP_USER_AGENT="Firefox/120.0")
    assert done.status_code == 200, done.content
    assert done.json()["session"]["device_name"].startswith("Firefox")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {done.json()['access']}")
    assert api_client.get("/api/v1/users/me").json()["id"] == str(user.pk)
    assert DeviceSession.objects.filter(user=user).count() == sessions_before + 1


def test_setup_needs_the_password_and_a_wrong_one_counts_toward_the_lockout(user):
    client = signed_in_client(user)
    assert_error(post(client, "auth/2fa/setup", {"password": "not-my-password"}), 400, "validation_error")
    assert failures(user) == 1 and not TOTPDevice.objects.exists()
    assert_error(post(client, "auth/2fa/setup", {}), 400, "validation_error")
    assert_error(post(client, "auth/2fa/setup", {"password": "x" * 300}), 400, "validation_error")


def test_setup_and_confirm_need_a_signed_in_user(api_client):
    assert_error(post(api_client, "auth/2fa/setup", {"password": TEST_PASSWORD}), 401, "not_authenticated")
    assert_error(post(api_client, "auth/2fa/confirm", {"code": "123456"}), 401, "not_authenticated")
    assert_error(post(api_client, "auth/2fa/disable", {"password": "x", "code": "1"}), 401, "not_authenticated")


def test_setup_while_enrolled_is_refused_and_keeps_the_secret(enrolled):
    client = signed_in_client(enrolled)
    before = TOTPDevice.objects.get(user=enrolled).encrypted_secret
    assert_error(post(client, "auth/2fa/setup", {"password": TEST_PASSWORD}), 409, "two_factor_already_enabled")
    assert_error(post(client, "auth/2fa/confirm", {"code": "123456"}), 409, "two_factor_already_enabled")
    assert TOTPDevice.objects.get(user=enrolled).encrypted_secret == before


def test_confirm_without_setup_is_refused(user):
    assert_error(post(signed_in_client(user), "auth/2fa/confirm", {"code": "123456"}), 409, "two_factor_not_set_up")


def test_setup_again_replaces_the_pending_secret(user):
    client = signed_in_client(user)
    old = post(client, "auth/2fa/setup", {"password": TEST_PASSWORD}).json()["secret"]
    new = post(client, "auth/2fa/setup", {"password": TEST_PASSWORD}).json()["secret"]
    assert old != new and TOTPDevice.objects.filter(user=user).count() == 1
    assert_error(post(client, "auth/2fa/confirm", {"code": pyotp.TOTP(old).now()}), 400, "invalid_code")
    assert post(client, "auth/2fa/confirm", {"code": pyotp.TOTP(new).now()}).status_code == 200


FULLWIDTH_DIGITS = "\uff11\uff12\uff13\uff14\uff15\uff16"


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", FULLWIDTH_DIGITS, 123456, None, "1" * 5000])
def test_confirm_bad_input_is_a_400_and_changes_nothing(user, code):
    client = signed_in_client(user)
    post(client, "auth/2fa/setup", {"password": TEST_PASSWORD})
    assert_error(post(client, "auth/2fa/confirm", {"code": code}), 400, "validation_error")
    assert TOTPDevice.objects.get(user=user).confirmed_at is None


# --- the challenge and codes ----------------------------------------------------------------------


def test_a_wrong_code_is_refused_and_counts_toward_the_lockout(api_client, enrolled):
    challenge = challenge_for(api_client, enrolled)
    wrong = f"{(int(authenticator_code(enrolled)) + 1) % 1_000_000:06d}"
    assert_error(verify(api_client, challenge, wrong), 400, "invalid_code")
    assert_error(verify(api_client, challenge, "nope-nope"), 400, "invalid_code")
    assert failures(enrolled) == 2
    assert not DeviceSession.objects.filter(user=enrolled).exists()


def test_a_code_is_accepted_once(api_client, enrolled):
    # given a code signed someone in
    code = authenticator_code(enrolled)
    assert verify(api_client, challenge_for(api_client, enrolled), code).status_code == 200
    # when it is replayed, within its window, on a new challenge
    replay = verify(api_client, challenge_for(api_client, enrolled), code)
    # then it is refused
    assert_error(replay, 400, "invalid_code")
    assert failures(enrolled) == 1


def test_a_challenge_works_once(api_client, enrolled):
    challenge = challenge_for(api_client, enrolled)
    assert verify(api_client, challenge, enrolled.recovery_codes[0]).status_code == 200
    assert_error(verify(api_client, challenge, enrolled.recovery_codes[1]), 401, "invalid_challenge")
    assert DeviceSession.objects.filter(user=enrolled).count() == 1


def test_an_expired_challenge_is_refused(api_client, enrolled):
    challenge = challenge_for(api_client, enrolled)
    TwoFactorChallenge.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(verify(api_client, challenge, authenticator_code(enrolled)), 401, "invalid_challenge")


@pytest.mark.parametrize("forged", ["x", "A" * 43, "A" * 128])
def test_a_forged_challenge_is_refused(api_client, enrolled, forged):
    challenge_for(api_client, enrolled)
    assert_error(verify(api_client, forged, authenticator_code(enrolled)), 401, "invalid_challenge")


def test_a_challenge_is_only_stored_as_a_hash(api_client, enrolled):
    challenge = challenge_for(api_client, enrolled)
    assert not TwoFactorChallenge.objects.filter(token_hash__contains=challenge[:16]).exists()
    assert TwoFactorChallenge.objects.filter(user=enrolled, used_at__isnull=True).count() == 1


def test_another_users_code_does_not_answer_my_challenge(api_client, enrolled):
    # given an attacker enrolled their own authenticator
    attacker = UserFactory()
    enrol(attacker)
    victim_challenge = challenge_for(api_client, enrolled)
    # when they answer the victim's challenge with their own valid code
    response = verify(api_client, victim_challenge, authenticator_code(attacker))
    # then it is a wrong code for the victim
    assert_error(response, 400, "invalid_code")
    assert failures(enrolled) == 1 and not DeviceSession.objects.filter(user=enrolled).exists()


def test_a_challenge_dies_after_five_wrong_codes(api_client, enrolled, generous_throttles):
    challenge = challenge_for(api_client, enrolled)
    for _ in range(5):
        assert_error(verify(api_client, challenge, "000000"), 400, "invalid_code")
    User.objects.filter(pk=enrolled.pk).update(failed_login_count=0, locked_until=None)  # only the challenge's tries
    assert_error(verify(api_client, challenge, authenticator_code(enrolled)), 401, "invalid_challenge")


def test_a_recovery_code_works_once_in_any_spelling(api_client, enrolled):
    code = enrolled.recovery_codes[3]
    typed = f"  {code.upper().replace('-', ' ')} "
    assert verify(api_client, challenge_for(api_client, enrolled), typed).status_code == 200
    assert_error(verify(api_client, challenge_for(api_client, enrolled), code), 400, "invalid_code")
    assert RecoveryCode.objects.filter(device__user=enrolled, used_at__isnull=False).count() == 1


def test_guessing_codes_locks_the_account_even_with_the_password_known(api_client, enrolled, generous_throttles):
    # given the attacker knows the password: each sign-in earns a new challenge
    for _ in range(5):
        challenge = challenge_for(api_client, enrolled)  # a right password must not reset the count
        assert_error(verify(api_client, challenge, "000000"), 400, "invalid_code")
    # then the account is locked: no new challenge, and not even the right code gets in
    assert_error(login(api_client, enrolled), 429, "account_locked")
    User.objects.filter(pk=enrolled.pk).update(locked_until=None)  # a challenge from before the lock ...
    challenge = challenge_for(api_client, enrolled)
    User.objects.filter(pk=enrolled.pk).update(locked_until=timezone.now() + timedelta(minutes=1))
    # ... is locked too
    assert_error(verify(api_client, challenge, authenticator_code(enrolled)), 429, "account_locked")
    # and once the lock runs out, the owner's right code gets in and clears the count
    User.objects.filter(pk=enrolled.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert verify(api_client, challenge, authenticator_code(enrolled)).status_code == 200
    assert failures(enrolled) == 0


def test_verify_is_throttled_per_ip(api_client, enrolled, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "two_factor": "2/min"},
    }
    for _ in range(2):
        verify(api_client, "forged", "000000")
    assert_error(verify(api_client, "forged", "000000"), 429, "throttled")


BAD_VERIFY_BODIES = [{}, {"challenge": "x"}, {"code": "1"}, {"challenge": "x" * 129, "code": "1"}, {"challenge": 1}]


@pytest.mark.parametrize("body", BAD_VERIFY_BODIES)
def test_verify_bad_input_is_a_400(api_client, body):
    assert_error(post(api_client, "auth/2fa/verify", body), 400, "validation_error")


def test_email_verification_of_an_enrolled_account_answers_a_challenge(api_client, user):
    # given an enrolled account that has a live verification code (e.g. staff reset its state)
    enrol(user)
    User.objects.filter(pk=user.pk).update(is_verified=False)
    code = code_issue(user=user, purpose=OneTimeCode.Purpose.VERIFY_EMAIL)
    # when the code is used
    response = post(
        api_client, "auth/verify-email", {"email": user.email, "code": code, "password": "a-new-long-passphrase-1"}
    )
    # then it is a challenge, not tokens
    assert response.status_code == 202, response.content
    assert "access" not in response.json() and not DeviceSession.objects.filter(user=user).exists()
    assert verify(api_client, response.json()["challenge"], authenticator_code(user)).status_code == 200


def test_a_disabled_account_cannot_finish_its_challenge(api_client, enrolled):
    challenge = challenge_for(api_client, enrolled)
    User.objects.filter(pk=enrolled.pk).update(is_active=False)
    assert_error(verify(api_client, challenge, authenticator_code(enrolled)), 401, "invalid_challenge")


# --- disabling ------------------------------------------------------------------------------------


def test_disable_needs_the_password_and_a_code(api_client, enrolled):
    client = signed_in_client(enrolled)
    disable = {"password": TEST_PASSWORD, "code": authenticator_code(enrolled)}
    assert_error(post(client, "auth/2fa/disable", {**disable, "password": "wrong-password-1"}), 400, "validation_error")
    assert_error(post(client, "auth/2fa/disable", {**disable, "code": "000000"}), 400, "invalid_code")
    assert failures(enrolled) == 2 and TOTPDevice.objects.filter(user=enrolled).exists()

    assert post(client, "auth/2fa/disable", disable).status_code == 204

    assert not TOTPDevice.objects.filter(user=enrolled).exists() and not RecoveryCode.objects.exists()
    assert login(api_client, enrolled).status_code == 200
    assert OutboundEmail.objects.filter(to=enrolled.email, template="two_factor_changed").count() == 2


def test_disable_with_a_recovery_code_ends_open_challenges(api_client, enrolled):
    open_challenge = challenge_for(api_client, enrolled)
    client = signed_in_client(enrolled)
    response = post(client, "auth/2fa/disable", {"password": TEST_PASSWORD, "code": enrolled.recovery_codes[0]})
    assert response.status_code == 204, response.content
    assert_error(verify(api_client, open_challenge, enrolled.recovery_codes[1]), 401, "invalid_challenge")


def test_disable_when_not_enrolled_is_refused(user):
    response = post(signed_in_client(user), "auth/2fa/disable", {"password": TEST_PASSWORD, "code": "123456"})
    assert_error(response, 409, "two_factor_not_enabled")


def test_disable_guesses_lock_the_account(enrolled, generous_throttles):
    client = signed_in_client(enrolled)
    for _ in range(5):
        post(client, "auth/2fa/disable", {"password": TEST_PASSWORD, "code": "000000"})
    right = {"password": TEST_PASSWORD, "code": authenticator_code(enrolled)}
    assert_error(post(client, "auth/2fa/disable", right), 429, "account_locked")
    assert TOTPDevice.objects.filter(user=enrolled).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_verifies_with_one_code_sign_in_once():
    # given two sign-ins of one account wait for a code, and the attacker saw the owner's code
    user = UserFactory()
    enrol(user)
    first, second = (challenge_for(APIClient(), user) for _ in range(2))
    code = authenticator_code(user)

    # when both challenges are answered with it at the same moment
    outcomes = run_concurrently(lambda i: verify(APIClient(), [first, second][i], code).status_code, threads=2)

    # then exactly one gets in
    assert sorted(outcome.value for outcome in outcomes) == [200, 400]
    assert DeviceSession.objects.filter(user=user).count() == 1
