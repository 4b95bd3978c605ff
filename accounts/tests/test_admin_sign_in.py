"""The admin's sign-in goes through the API's lockout, throttles and second factor; staff may be
required to enrol before reaching the admin; staff can reset a user's two-factor sign-in."""

import re

import pyotp
import pytest
from django.urls import reverse

from accounts.models import OutboundEmail, User
from accounts.tests.factories import TEST_PASSWORD, UserFactory
from accounts.tests.totp_helpers import authenticator_code, enrol
from sessions_app.models import TOTPDevice

pytestmark = pytest.mark.django_db
LOGIN_URL = reverse("admin:login")
INDEX_URL = reverse("admin:index")
TWO_FACTOR_URL = reverse("admin:two_factor")
USERS_URL = reverse("admin:accounts_user_changelist")


@pytest.fixture
def staff_user(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def enrolled_staff(staff_user):
    staff_user.recovery_codes = enrol(staff_user)
    return staff_user


def admin_login(client, user, password=TEST_PASSWORD, code="", **extra):
    data = {"username": user.email, "password": password, "otp_code": code, "next": INDEX_URL}
    return client.post(LOGIN_URL, data, **extra)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def api_login(api_client, user, password=TEST_PASSWORD, **extra):
    data = {"email_or_username": user.email, "password": password}
    return api_client.post("/api/v1/auth/login", data, format="json", **extra)


def set_login_rate(settings, rate: str) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": rate},
    }


# --- finding 4: one sign-in path ------------------------------------------------------------------


def test_a_staff_account_locked_by_api_failures_cannot_sign_in_to_the_admin(client, api_client, staff_user):
    # given someone locked the account by guessing through the API
    for _ in range(5):
        assert api_login(api_client, staff_user, "wrong-password-123").status_code == 401
    # when the right password is used at /admin/login/
    response = admin_login(client, staff_user)
    # then the admin refuses too
    assert response.status_code == 200 and not signed_in(client)
    assert "Too many failed sign-ins" in response.text


def test_wrong_admin_passwords_count_toward_the_lockout(client, api_client, staff_user):
    for _ in range(5):
        response = admin_login(client, staff_user, "wrong-password-123")
        assert response.status_code == 200 and "not correct" in response.text
    staff_user.refresh_from_db()
    assert staff_user.failed_login_count == 5
    assert api_login(api_client, staff_user).json()["code"] == "account_locked"
    assert not signed_in(client)


def test_admin_login_spends_the_api_login_throttle(client, api_client, staff_user, settings):
    set_login_rate(settings, "3/min")
    for _ in range(3):
        api_login(api_client, UserFactory(), "wrong-password-123")  # same IP (127.0.0.1), other accounts
    response = admin_login(client, staff_user)
    assert "Too many sign-in attempts" in response.text and not signed_in(client)
    # and per account, from another IP
    other_ip = {"REMOTE_ADDR": "198.51.100.7"}
    for _ in range(2):
        api_login(api_client, staff_user, REMOTE_ADDR="198.51.100.8")
    assert "Too many sign-in attempts" in admin_login(client, staff_user, **other_ip).text
    assert not signed_in(client)


def test_a_right_password_signs_in_and_clears_failures(client, staff_user):
    User.objects.filter(pk=staff_user.pk).update(failed_login_count=3)
    response = admin_login(client, staff_user)
    assert response.status_code == 302 and signed_in(client)
    staff_user.refresh_from_db()
    assert staff_user.failed_login_count == 0


def test_non_staff_and_unverified_accounts_stay_out(client):
    viewer = UserFactory()
    unverified_staff = UserFactory(is_staff=True, is_verified=False)
    assert not signed_in(client) and admin_login(client, viewer).status_code == 200
    assert "Verify your email" in admin_login(client, unverified_staff).text
    assert not signed_in(client)


# --- the second factor at the admin login ---------------------------------------------------------


def test_an_enrolled_staff_user_needs_a_code(client, enrolled_staff):
    without = admin_login(client, enrolled_staff)
    assert "enter the code from your authenticator app" in without.text and not signed_in(client)
    wrong = admin_login(client, enrolled_staff, code="000000")
    assert "The code is not valid" in wrong.text and not signed_in(client)
    enrolled_staff.refresh_from_db()
    assert enrolled_staff.failed_login_count == 1

    code = authenticator_code(enrolled_staff)
    assert admin_login(client, enrolled_staff, code=code).status_code == 302 and signed_in(client)
    enrolled_staff.refresh_from_db()
    assert enrolled_staff.failed_login_count == 0
    client.logout()
    assert "The code is not valid" in admin_login(client, enrolled_staff, code=code).text  # replayed


def test_a_recovery_code_signs_in_to_the_admin_once(client, enrolled_staff):
    code = enrolled_staff.recovery_codes[0]
    assert admin_login(client, enrolled_staff, code=code).status_code == 302
    client.logout()
    assert admin_login(client, enrolled_staff, code=code).status_code == 200 and not signed_in(client)


def test_guessed_codes_at_the_admin_lock_the_account(client, enrolled_staff, api_client, settings):
    set_login_rate(settings, "1000/min")
    for _ in range(5):
        admin_login(client, enrolled_staff, code="000000")
    locked = admin_login(client, enrolled_staff, code=authenticator_code(enrolled_staff))
    assert "Too many failed sign-ins" in locked.text and not signed_in(client)
    assert api_login(api_client, enrolled_staff).json()["code"] == "account_locked"


# --- STAFF_REQUIRE_2FA ----------------------------------------------------------------------------


def test_required_enrolment_sends_staff_to_the_enrolment_page_first(client, staff_user, settings):
    # given the setting is on and a staff user who has not enrolled signs in
    settings.STAFF_REQUIRE_2FA = True
    assert admin_login(client, staff_user).status_code == 302
    # then every admin page leads to enrolment (logout still works)
    for url in (INDEX_URL, USERS_URL):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == TWO_FACTOR_URL
    page = client.get(TWO_FACTOR_URL)
    assert page.status_code == 200 and "must turn on two-factor sign-in" in page.text

    # when they enrol: the password, then a code from the app
    assert "not correct" in client.post(TWO_FACTOR_URL, {"step": "setup", "password": "wrong-password-1"}).text
    setup = client.post(TWO_FACTOR_URL, {"step": "setup", "password": TEST_PASSWORD})
    assert "<svg" in setup.text
    secret = re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', setup.text).group(1).replace(" ", "")
    assert "Enter the 6 digits" in client.post(TWO_FACTOR_URL, {"step": "confirm", "code": "12"}).text
    done = client.post(TWO_FACTOR_URL, {"step": "confirm", "code": pyotp.TOTP(secret).now()})

    # then they see their recovery codes once, and the admin opens
    assert len(re.findall(r"<li><code>[a-z2-9]{5}-[a-z2-9]{5}</code></li>", done.text)) == 10
    assert TOTPDevice.objects.get(user=staff_user).confirmed_at is not None
    assert client.get(INDEX_URL).status_code == 200
    assert secret not in client.get(TWO_FACTOR_URL).text


def test_logout_stays_reachable_while_enrolment_is_required(client, staff_user, settings):
    settings.STAFF_REQUIRE_2FA = True
    client.force_login(staff_user)
    assert client.post(reverse("admin:logout")).status_code == 200
    assert not signed_in(client)


def test_without_the_setting_staff_reach_the_admin_unenrolled(client, staff_user, settings):
    settings.STAFF_REQUIRE_2FA = False
    client.force_login(staff_user)
    assert client.get(INDEX_URL).status_code == 200


def test_the_setting_is_on_in_production_only():
    from vod import settings as project_settings

    assert project_settings.STAFF_REQUIRE_2FA is project_settings.PRODUCTION


# --- staff reset ----------------------------------------------------------------------------------


def test_staff_see_and_reset_a_users_two_factor_sign_in(client, staff_user):
    # given
    client.force_login(staff_user)
    lost_phone, plain = UserFactory(), UserFactory()
    enrol(lost_phone)
    listed = client.get(USERS_URL, {"two_factor": "yes"})
    assert lost_phone.email in listed.text and plain.email not in listed.text
    data = {"action": "reset_two_factor", "_selected_action": [str(lost_phone.pk), str(plain.pk)]}

    # when staff ask, are asked to confirm, and confirm
    asked = client.post(USERS_URL, {**data, "index": "0"})
    assert "Turn two-factor sign-in off" in asked.text and TOTPDevice.objects.filter(user=lost_phone).exists()
    done = client.post(USERS_URL, {**data, "confirm": "yes"}, follow=True)

    # then
    assert "Reset two-factor sign-in for 1 user; 1 had not enrolled." in done.text
    assert not TOTPDevice.objects.filter(user=lost_phone).exists()
    assert OutboundEmail.objects.filter(to=lost_phone.email, template="two_factor_changed").count() == 2
