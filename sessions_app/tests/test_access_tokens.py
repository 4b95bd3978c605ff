"""Personal access tokens end to end: the format and its storage, the me/tokens API and its
abuse cases, every refusal of the authenticator, staff powers, what ends a token, the admin,
the expiry reminder and the schema. Scope enforcement per endpoint is in test_token_scopes."""

import hashlib
import hmac
import json
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as accounts_services
from accounts.emails import deliver_email
from accounts.models import OutboundEmail, User
from accounts.tests.factories import TEST_PASSWORD, UserFactory
from sessions_app.access_tokens import selectors as token_selectors
from sessions_app.access_tokens.models import PersonalAccessToken
from sessions_app.access_tokens.services import token_create, token_revoke, tokens_remind_expiring
from sessions_app.access_tokens.token_format import (
    CHECKSUM_CHARS,
    LENGTH,
    PREFIX,
    _checksum,
    token_digest,
    token_generate,
    token_well_formed,
)
from sessions_app.tasks import remind_expiring_tokens
from testing.clients import assert_error, token_client
from videos.roles import CONTENT_EDITORS
from videos.tests.factories import VideoFactory

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/me/tokens"
ME = "/api/v1/users/me"
VIDEOS = "/api/v1/videos"
USERS = "/api/v1/users"
Reason = PersonalAccessToken.RevokeReason


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def create(client, **body):
    return client.post(TOKENS, {"name": "CI uploads", "scopes": ["videos:write"], **body}, format="json")


# --- format and storage -----------------------------------------------------------------------


def test_a_token_is_prefixed_base62_with_a_crc32_checksum():
    # when
    token = token_generate()

    # then
    assert token.startswith("vod_pat_") and len(token) == LENGTH == 57
    assert token[len(PREFIX) :].isalnum() and token.isascii()
    assert token_well_formed(token)
    assert token != token_generate()


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1],  # truncated
        lambda t: t[:20] + ("A" if t[20] != "A" else "B") + t[21:],  # mistyped
        lambda t: t + "x",
        lambda t: "vod_pot_" + t[8:],
        lambda t: t[:-3] + "-_=",  # outside base62
        lambda t: t.replace(t[10], "\u0430", 1),  # a look-alike Cyrillic letter
    ],
)
def test_a_mangled_token_fails_the_checksum_without_any_query(mangle, user, django_assert_num_queries):
    # given
    issued = token_create(user=user, name="x", scopes=["videos:read"])
    mangled = mangle(issued.plaintext)

    # when
    with django_assert_num_queries(0):
        found = token_selectors.token_matching(mangled)

    # then
    assert found is None and not token_well_formed(mangled)


def test_only_the_keyed_hash_and_a_prefix_are_stored(user, settings):
    # when
    issued = token_create(user=user, name="x", scopes=["videos:read"])

    # then
    row = PersonalAccessToken.objects.filter(pk=issued.token.pk).values().get()
    assert issued.plaintext not in json.dumps(row, default=str)
    expected = hmac.new(settings.TOKEN_PEPPER.encode(), issued.plaintext.encode(), hashlib.sha256).hexdigest()
    assert row["secret_hash"] == expected
    assert row["prefix"] == issued.plaintext[:16] and issued.plaintext.startswith(row["prefix"])


def test_the_pepper_is_derived_from_secret_key_when_unset_and_keys_the_hash(settings, user):
    # then: the default is not SECRET_KEY itself, but made from it
    derived = hmac.new(settings.SECRET_KEY.encode(), b"vod personal access token pepper", hashlib.sha256).hexdigest()
    assert settings.TOKEN_PEPPER == derived != settings.SECRET_KEY

    # given
    client = token_client(user, ["account:read"])
    assert client.get(ME).status_code == 200

    # when: another pepper
    settings.TOKEN_PEPPER = "another-pepper"

    # then
    assert_error(client.get(ME), 401, "token_invalid")


def test_the_stored_hash_is_compared_in_constant_time(user, monkeypatch):
    # given
    client = token_client(user, ["account:read"])
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(token_selectors.hmac, "compare_digest", spy)

    # when
    response = client.get(ME)

    # then
    assert response.status_code == 200
    assert (client.access_token.secret_hash, token_digest(client.plaintext)) in compared


# --- the API -----------------------------------------------------------------------------------


def test_the_plaintext_appears_in_exactly_one_response(auth_client, caplog):
    # given
    caplog.set_level("DEBUG")
    created = create(auth_client)
    token = created.json()["token"]
    token_id = created.json()["id"]

    # when
    others = [
        auth_client.get(TOKENS),
        auth_client.get(f"{TOKENS}/{token_id}"),
        bearer(token).post(VIDEOS, {"title": "Made by CI"}, format="json"),
        auth_client.post(f"{TOKENS}/{token_id}/rotate"),
        auth_client.get(TOKENS),
    ]

    # then
    assert created.status_code == 201 and created["Cache-Control"] == "no-store"
    assert token.startswith("vod_pat_")
    assert others[2].status_code == 201
    assert all(token not in response.content.decode() for response in others)
    assert token not in caplog.text
    rotated = others[3].json()["token"]
    assert rotated != token
    assert all(rotated not in response.content.decode() for response in [created, *others[:3], others[4]])


def test_create_shows_the_settings_and_defaults_to_90_days(auth_client):
    # when
    response = create(auth_client, scopes=["videos:write", "videos:read"])

    # then
    body = response.json()
    assert response.status_code == 201
    assert body["scopes"] == ["videos:read", "videos:write"]
    assert body["state"] == "active" and body["revoked_at"] is None and body["last_used_at"] is None
    token = PersonalAccessToken.objects.get(pk=body["id"])
    assert abs(token.expires_at - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
    assert body["prefix"] == body["token"][:16]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["videos:delete"]}, "scopes"),
        ({"scopes": ["v\u0456deos:read"]}, "scopes"),  # Cyrillic i
        ({"scopes": ["videos:read", "videos:read"]}, "scopes"),
        ({"scopes": "videos:read"}, "scopes"),
        ({"scopes": ["staff"]}, "scopes"),  # not staff
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": 5}, "name"),
        ({"name": "CI\u202euploads"}, "name"),  # a bidi override
        ({"name": "CI\u200buploads"}, "name"),  # zero-width space
        ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "not a date"}, "expires_at"),
    ],
)
def test_bad_input_is_refused_and_creates_nothing(auth_client, body, field):
    # when
    response = create(auth_client, **body)

    # then
    assert_error(response, 400, "validation_error")
    assert field in response.json()["fields"]
    assert not PersonalAccessToken.objects.exists()


def test_expiry_is_at_most_365_days_ahead(auth_client):
    # given
    limit = timezone.now() + timedelta(days=365)

    # when
    too_far = create(auth_client, expires_at=(limit + timedelta(minutes=5)).isoformat())
    in_reach = create(auth_client, expires_at=(limit - timedelta(minutes=5)).isoformat())

    # then
    assert_error(too_far, 400, "validation_error")
    assert in_reach.status_code == 201


def test_a_huge_body_is_a_400(auth_client):
    # when
    response = create(auth_client, scopes=["videos:read"] * 10_000, name="n" * 100_000)

    # then
    assert_error(response, 400, "validation_error")
    assert not PersonalAccessToken.objects.exists()


def test_at_most_50_live_tokens(auth_client, settings):
    # given: 50 live ones, and dead ones that do not count
    user = auth_client.user
    revoked = token_create(user=user, name="revoked", scopes=["videos:read"]).token
    token_revoke(token=revoked)
    expired = token_create(user=user, name="expired", scopes=["videos:read"]).token
    PersonalAccessToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    for number in range(50):
        token_create(user=user, name=f"t{number}", scopes=["videos:read"])

    # when
    refused = create(auth_client)
    token_revoke(token=PersonalAccessToken.objects.filter(user=user, revoked_at__isnull=True).first())
    allowed = create(auth_client)

    # then
    assert_error(refused, 409, "token_limit_reached")
    assert allowed.status_code == 201
    assert PersonalAccessToken.objects.live().filter(user=user).count() == 50


@pytest.mark.django_db(transaction=True)
def test_two_creations_racing_for_the_last_place_give_one_token():
    # given
    from testing.race import run_concurrently

    user = UserFactory()
    for number in range(49):
        token_create(user=user, name=f"t{number}", scopes=["videos:read"])

    # when
    outcomes = run_concurrently(lambda i: token_create(user=user, name=f"race{i}", scopes=["videos:read"]), threads=2)

    # then
    assert sorted(type(o.error).__name__ for o in outcomes) == ["NoneType", "TokenLimitReached"]
    assert PersonalAccessToken.objects.live().filter(user=user).count() == 50


def test_someone_elses_token_is_not_found(auth_client):
    # given
    theirs = token_create(user=UserFactory(), name="theirs", scopes=["videos:read"]).token

    # when
    responses = [
        auth_client.get(f"{TOKENS}/{theirs.pk}"),
        auth_client.delete(f"{TOKENS}/{theirs.pk}"),
        auth_client.post(f"{TOKENS}/{theirs.pk}/rotate"),
    ]

    # then
    for response in responses:
        assert_error(response, 404, "not_found")
    assert theirs.prefix not in auth_client.get(TOKENS).content.decode()
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_the_list_shows_live_expired_and_revoked_tokens_with_their_last_use(auth_client):
    # given
    user = auth_client.user
    used = token_client(user, ["account:read"], name="used")
    used.get(ME, REMOTE_ADDR="203.0.113.9")
    expired = token_create(user=user, name="expired", scopes=["videos:read"]).token
    PersonalAccessToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked = token_create(user=user, name="revoked", scopes=["videos:read"]).token
    auth_client.delete(f"{TOKENS}/{revoked.pk}")

    # when
    rows = {row["name"]: row for row in auth_client.get(TOKENS).json()["results"]}

    # then
    assert {name: row["state"] for name, row in rows.items()} == {
        "used": "active",
        "expired": "expired",
        "revoked": "revoked",
    }
    assert rows["used"]["last_used_ip"] == "203.0.113.9" and rows["used"]["last_used_at"]
    assert rows["revoked"]["revoke_reason"] == "revoked_by_user"
    assert all("token" not in row and "secret_hash" not in row for row in rows.values())


def test_last_use_is_recorded_at_most_once_a_minute(user):
    # given
    client = token_client(user, ["account:read"])
    client.get(ME)
    token = client.access_token
    token.refresh_from_db()
    first = token.last_used_at

    # when
    client.get(ME, REMOTE_ADDR="198.51.100.7")
    token.refresh_from_db()
    within_the_minute = (token.last_used_at, token.last_used_ip)
    cache.delete(f"access-token-touched:{token.pk}")  # the minute has passed
    client.get(ME, REMOTE_ADDR="198.51.100.7")
    token.refresh_from_db()

    # then
    assert first is not None
    assert within_the_minute == (first, "127.0.0.1")
    assert token.last_used_at > first and token.last_used_ip == "198.51.100.7"


# --- rotation and revocation ---------------------------------------------------------------------


def test_rotation_gives_a_new_secret_with_the_same_settings_and_kills_the_old(auth_client):
    # given
    old = create(auth_client, scopes=["account:read"], expires_at=(timezone.now() + timedelta(days=30)).isoformat())
    old_body = old.json()

    # when
    rotated = auth_client.post(f"{TOKENS}/{old_body['id']}/rotate")

    # then
    body = rotated.json()
    assert rotated.status_code == 201 and rotated["Cache-Control"] == "no-store"
    assert (body["name"], body["scopes"]) == (old_body["name"], old_body["scopes"])
    assert body["id"] != old_body["id"] and body["token"] != old_body["token"]
    new = PersonalAccessToken.objects.get(pk=body["id"])
    assert abs(new.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert str(new.rotated_from_id) == old_body["id"]
    assert bearer(body["token"]).get(ME).status_code == 200
    assert_error(bearer(old_body["token"]).get(ME), 401, "token_revoked")
    assert PersonalAccessToken.objects.get(pk=old_body["id"]).revoke_reason == Reason.ROTATED


def test_a_revoked_token_cannot_be_rotated_but_an_expired_one_can(auth_client):
    # given
    revoked = token_create(user=auth_client.user, name="r", scopes=["videos:read"]).token
    token_revoke(token=revoked)
    expired = token_create(user=auth_client.user, name="e", scopes=["videos:read"]).token
    PersonalAccessToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))

    # when
    refused = auth_client.post(f"{TOKENS}/{revoked.pk}/rotate")
    renewed = auth_client.post(f"{TOKENS}/{expired.pk}/rotate")

    # then
    assert_error(refused, 409, "token_not_rotatable")
    assert renewed.status_code == 201
    assert PersonalAccessToken.objects.filter(rotated_from=revoked).count() == 0


def test_revoking_ends_the_token_at_once_and_twice_is_harmless(auth_client):
    # given
    body = create(auth_client, scopes=["account:read"]).json()
    client = bearer(body["token"])
    assert client.get(ME).status_code == 200

    # when
    first = auth_client.delete(f"{TOKENS}/{body['id']}")
    second = auth_client.delete(f"{TOKENS}/{body['id']}")

    # then
    assert first.status_code == second.status_code == 204
    assert_error(client.get(ME), 401, "token_revoked")


def test_deactivation_ends_a_users_tokens(staff_client, user):
    # given
    client = token_client(user, ["account:read"])

    # when
    response = staff_client.post(f"{USERS}/{user.pk}/deactivate")

    # then
    assert response.status_code == 200
    client.access_token.refresh_from_db()
    assert client.access_token.revoke_reason == Reason.ACCOUNT_DISABLED
    assert_error(client.get(ME), 401, "token_revoked")


def test_a_token_of_an_inactive_user_is_refused(user):
    # given: deactivated without the service (e.g. directly in the database)
    client = token_client(user, ["account:read"])
    User.objects.filter(pk=user.pk).update(is_active=False)

    # then
    assert_error(client.get(ME), 401, "token_owner_inactive")


def test_account_deletion_ends_a_users_tokens(user):
    # given
    client = token_client(user, ["account:read"])

    # when
    accounts_services.user_delete(user=user, password=TEST_PASSWORD)

    # then
    assert not PersonalAccessToken.objects.exists()
    assert_error(client.get(ME), 401, "token_invalid")


def test_a_password_reset_keeps_tokens(user, mailoutbox):
    """The documented decision (as GitHub and GitLab do): a reset ends sessions, not tokens."""
    # given
    client = token_client(user, ["account:read"])
    accounts_services.password_reset_code_send(email=user.email)  # what the forgot task runs
    code = OutboundEmail.objects.get(template="password_reset").context["code"]

    # when
    accounts_services.password_reset(email=user.email, code=code, new_password="a-new-long-passphrase-77")

    # then
    assert client.get(ME).status_code == 200


def test_staff_revoke_everything_in_the_admin_ends_tokens_too(db):
    # given
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    user = UserFactory()
    client = token_client(user, ["account:read"])
    browser = APIClient()
    browser.force_login(admin_user)

    # when
    done = browser.post(
        "/admin/accounts/user/",
        {"action": "revoke_all_sessions", "_selected_action": [str(user.pk)], "confirm": "yes"},
        follow=True,
    )

    # then
    assert "Revoked 0 sessions and 1 access token of 1 user." in done.content.decode()
    assert_error(client.get(ME), 401, "token_revoked")


# --- authentication --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda t: t[:-1], "token_invalid"),  # truncated
        (lambda t: t[:12] + ("a" if t[12] != "a" else "b") + t[13:-CHECKSUM_CHARS], "token_invalid"),
        (lambda t: token_generate(), "token_invalid"),  # well formed, unknown
    ],
)
def test_malformed_tampered_and_unknown_tokens_are_401_in_the_error_format(user, make, code):
    # given
    issued = token_create(user=user, name="x", scopes=["account:read"])
    token = make(issued.plaintext)
    if len(token) == LENGTH - CHECKSUM_CHARS:  # tampered, then given a valid checksum
        token += _checksum(token)

    # when
    response = bearer(token).get(ME)

    # then
    assert_error(response, 401, code)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_401(user):
    # given
    client = token_client(user, ["account:read"])
    PersonalAccessToken.objects.filter(pk=client.access_token.pk).update(expires_at=timezone.now())

    # then
    assert_error(client.get(ME), 401, "token_expired")


def test_tokens_in_the_query_string_are_ignored(user):
    # given
    issued = token_create(user=user, name="x", scopes=["account:read"])

    # when
    responses = [APIClient().get(ME, {name: issued.plaintext}) for name in ("token", "access_token", "private_token")]

    # then
    for response in responses:
        assert_error(response, 401, "not_authenticated")


def test_a_jwt_still_works_beside_tokens(auth_client):
    # when
    response = auth_client.get(ME)

    # then
    assert response.status_code == 200 and response.json()["id"] == str(auth_client.user.pk)
    assert create(auth_client).status_code == 201


def test_failed_token_attempts_are_throttled_per_ip(user, settings):
    # given
    settings.ACCESS_TOKEN_FAILURE_RATE = "3/min"
    good = token_client(user, ["account:read"])
    for _ in range(3):
        bearer(token_generate()).get(ME, REMOTE_ADDR="192.0.2.1")

    # when
    blocked = good.get(ME, REMOTE_ADDR="192.0.2.1")
    other_ip = good.get(ME, REMOTE_ADDR="192.0.2.2")

    # then
    assert_error(blocked, 429, "throttled")
    assert int(blocked["Retry-After"]) > 0
    assert other_ip.status_code == 200


def test_successful_token_requests_are_not_throttled(user, settings):
    # given
    settings.ACCESS_TOKEN_FAILURE_RATE = "3/min"
    client = token_client(user, ["account:read"])

    # then
    assert all(client.get(ME).status_code == 200 for _ in range(6))


def test_a_scope_missing_names_the_scope(user):
    # given
    client = token_client(user, ["videos:read"])

    # when
    response = client.post(VIDEOS, {"title": "x"}, format="json")

    # then
    body = assert_error(response, 403, "token_scope_missing")
    assert "`videos:write`" in body["message"]
    assert not user.videos.exists()


def test_a_token_cannot_delete_the_account_even_with_the_password(user):
    # given
    client = token_client(user, ["account:read", "videos:write"])

    # when
    response = client.delete(ME, {"password": TEST_PASSWORD}, format="json")

    # then
    assert_error(response, 403, "token_not_allowed")
    assert User.objects.filter(pk=user.pk).exists()


# --- staff -----------------------------------------------------------------------------------------


def test_only_staff_may_give_a_token_the_staff_scope(auth_client, staff_client):
    # when
    refused = create(auth_client, scopes=["staff"])
    allowed = create(staff_client, scopes=["staff"])

    # then
    assert_error(refused, 400, "validation_error")
    assert allowed.status_code == 201


def test_the_staff_scope_carries_the_staff_users_model_permissions_and_no_more(db):
    # given: a content editor (videos, not users) and someone else's private video
    editor = UserFactory(is_staff=True)
    editor.groups.add(Group.objects.get(name=CONTENT_EDITORS))
    video = VideoFactory(owner=UserFactory())
    with_staff = token_client(editor, ["staff", "videos:write"])
    without_staff = token_client(editor, ["videos:write"])

    # when
    edited = with_staff.patch(f"{VIDEOS}/{video.pk}", {"title": "Edited by staff"}, format="json")
    users = with_staff.get(USERS)
    not_staff_powers = without_staff.patch(f"{VIDEOS}/{video.pk}", {"title": "Nope"}, format="json")

    # then
    assert edited.status_code == 200, edited.content
    assert_error(users, 403, "permission_denied")
    assert_error(not_staff_powers, 404, "not_found")
    video.refresh_from_db()
    assert video.title == "Edited by staff"


def test_a_superusers_token_without_the_staff_scope_has_no_staff_powers(db):
    # given
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    private = VideoFactory(owner=UserFactory(), visibility="private")

    # when
    users = token_client(admin_user, ["videos:read"]).get(USERS)
    video = token_client(admin_user, ["videos:read"]).get(f"{VIDEOS}/{private.pk}")
    with_staff = token_client(admin_user, ["staff"]).get(USERS)

    # then
    assert_error(users, 403, "token_scope_missing")
    assert_error(video, 404, "not_found")
    assert with_staff.status_code == 200
    admin_user.refresh_from_db()
    assert admin_user.is_staff and admin_user.is_superuser  # nothing was written to the row


def test_a_staff_token_loses_its_powers_when_its_owner_is_no_longer_staff(db):
    # given
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = token_client(staff, ["staff"])
    User.objects.filter(pk=staff.pk).update(is_staff=False)

    # then
    assert_error(client.get(USERS), 403, "permission_denied")


# --- the admin -------------------------------------------------------------------------------------


@pytest.fixture
def admin_browser(db):
    browser = APIClient()
    browser.force_login(UserFactory(is_staff=True, is_superuser=True))
    return browser


def test_the_admin_lists_tokens_with_filters_and_never_a_secret(admin_browser, user):
    # given
    issued = token_create(user=user, name="CMS sync", scopes=["videos:write"])
    other = token_create(user=user, name="Old reader", scopes=["videos:read"])
    token_revoke(token=other.token)

    # when
    page = admin_browser.get("/admin/sessions_app/personalaccesstoken/").content.decode()
    by_scope = admin_browser.get("/admin/sessions_app/personalaccesstoken/?scope=videos:write").content.decode()
    active = admin_browser.get("/admin/sessions_app/personalaccesstoken/?state=active").content.decode()
    detail = admin_browser.get(f"/admin/sessions_app/personalaccesstoken/{issued.token.pk}/change/").content.decode()

    # then
    assert "CMS sync" in page and "Old reader" in page and user.email in page
    assert "CMS sync" in by_scope and "Old reader" not in by_scope
    assert "CMS sync" in active and "Old reader" not in active
    for html in (page, detail):
        assert issued.token.secret_hash not in html and issued.plaintext[16:] not in html
    assert issued.token.prefix in detail


def test_the_admin_revokes_selected_tokens_after_asking(admin_browser, user):
    # given
    client = token_client(user, ["account:read"])
    data = {"action": "revoke_tokens", "_selected_action": [str(client.access_token.pk)]}

    # when
    asked = admin_browser.post("/admin/sessions_app/personalaccesstoken/", {**data, "index": "0"})
    still_works = client.get(ME).status_code
    done = admin_browser.post("/admin/sessions_app/personalaccesstoken/", {**data, "confirm": "yes"}, follow=True)

    # then
    assert "Revoke these access tokens?" in asked.content.decode() and still_works == 200
    assert "Revoked 1 access token." in done.content.decode()
    client.access_token.refresh_from_db()
    assert client.access_token.revoke_reason == Reason.STAFF
    assert_error(client.get(ME), 401, "token_revoked")


# --- the expiry reminder ------------------------------------------------------------------------------


def test_owners_are_mailed_once_seven_days_before_a_token_expires(user, mailoutbox):
    # given
    soon = token_create(user=user, name="Expiring CI", scopes=["videos:read"]).token
    PersonalAccessToken.objects.filter(pk=soon.pk).update(expires_at=timezone.now() + timedelta(days=6))
    token_create(user=user, name="Later", scopes=["videos:read"])  # 90 days
    revoked = token_create(user=user, name="Revoked", scopes=["videos:read"]).token
    PersonalAccessToken.objects.filter(pk=revoked.pk).update(expires_at=timezone.now() + timedelta(days=2))
    token_revoke(token=revoked)

    # when
    first = remind_expiring_tokens()
    again = tokens_remind_expiring()

    # then
    assert first == {"token_reminders_queued": 1} and again == 0
    [email] = OutboundEmail.objects.filter(template="token_expiring")
    assert email.to == user.email
    assert deliver_email(email_id=email.id)
    [message] = mailoutbox
    assert "Expiring CI" in message.subject and soon.prefix in message.body


def test_the_reminder_task_has_a_stable_name_and_a_beat_entry(settings):
    # then
    assert remind_expiring_tokens.name == "sessions_app.tasks.remind_expiring_tokens"
    assert "sessions_app.tasks.remind_expiring_tokens" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}


# --- the schema ------------------------------------------------------------------------------------


def test_the_schema_has_a_second_security_scheme_and_shows_each_scope(client):
    # when
    spec = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    # then
    scheme = spec["components"]["securitySchemes"]["personalAccessToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    create_video = spec["paths"]["/api/v1/videos"]["post"]
    assert create_video["x-token-scope"] == "videos:write"
    assert "`videos:write`" in create_video["description"]
    assert {"personalAccessToken": []} in create_video["security"]
    token_create_op = spec["paths"]["/api/v1/me/tokens"]["post"]
    assert token_create_op["x-token-scope"] == "no-tokens"
    assert {"personalAccessToken": []} not in token_create_op["security"]
    assert spec["paths"]["/api/v1/me/tokens/{id}/rotate"]["post"]["responses"]["201"]


def test_a_random_uuid_in_a_token_path_is_a_404_not_a_500(auth_client):
    # then
    assert_error(auth_client.get(f"{TOKENS}/{uuid.uuid4()}"), 404, "not_found")
    assert_error(auth_client.get(f"{TOKENS}/not-a-uuid"), 404, "not_found")
