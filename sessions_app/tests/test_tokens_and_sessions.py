"""Device sessions end to end: refresh rotation, reuse detection, concurrent refreshes, revocation
(logout, logout-all, from another device, password change, deactivation), forged and misused JWTs,
and the cost of the per-request "is this session alive" check.

Every test runs on committed transactions (`transaction=True`): revocations refresh the session
cache in `transaction.on_commit`, which only fires on a real commit, and the race tests use one
database connection per thread.
"""

import base64
import json
import threading
import uuid
import warnings
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from jwt.warnings import InsecureKeyLengthWarning
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts import services as accounts_services
from accounts.services import user_deactivate
from accounts.tests.factories import TEST_PASSWORD, UserFactory
from sessions_app.errors import RefreshRejected
from sessions_app.models import DeviceSession
from sessions_app.selectors import session_cache_key
from sessions_app.services import SignIn, session_refresh, session_revoke
from sessions_app.tokens import mint_token_pair
from testing.clients import assert_error, signed_in_client
from testing.race import run_concurrently, wait_for_lock_waiters

pytestmark = pytest.mark.django_db(transaction=True)

ME = "/api/v1/users/me"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
LOGOUT_ALL = "/api/v1/auth/logout-all"
PASSWORD_CHANGE = "/api/v1/auth/password/change"
SESSIONS = "/api/v1/sessions"
NEW_PASSWORD = "a-much-longer-passphrase-2026"

CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)


# --- helpers ----------------------------------------------------------------------------------


def get_me(access: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get(ME)


def post_refresh(refresh: str):
    return APIClient().post(REFRESH, {"refresh": refresh}, format="json")


def assert_ok_as(response, user) -> None:
    assert response.status_code == 200, response.content
    assert response.json()["id"] == str(user.pk)


def claims(token: str) -> dict:
    """The payload of a JWT, read without checking it (to compare with what the API said)."""
    return jwt.decode(token, options={"verify_signature": False})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def from_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def session_row(session_id) -> DeviceSession:
    return DeviceSession.objects.get(pk=session_id)


# --- 1. rotation ------------------------------------------------------------------------------


def test_refresh_rotates_the_pair_and_its_output_describes_the_new_tokens(user):
    # given a signed-in device
    device = signed_in_client(user)
    old = device.tokens
    session_id = str(device.device_session.pk)

    # when it refreshes
    response = post_refresh(old.refresh)

    # then it gets a new pair, described truthfully by the response
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh", "access_expires_at", "refresh_expires_at"}
    assert body["refresh"] != old.refresh
    assert body["access"] != old.access
    access, refresh = claims(body["access"]), claims(body["refresh"])
    assert (access["token_type"], refresh["token_type"]) == ("access", "refresh")
    assert access["sid"] == refresh["sid"] == session_id
    assert access["user_id"] == refresh["user_id"] == str(user.pk)
    assert from_iso(body["access_expires_at"]) == datetime.fromtimestamp(access["exp"], tz=UTC)
    assert from_iso(body["refresh_expires_at"]) == datetime.fromtimestamp(refresh["exp"], tz=UTC)
    assert refresh["exp"] <= int(device.device_session.expires_at.timestamp())
    # and the session now owns the new refresh token and remembers the old one
    row = session_row(session_id)
    assert row.refresh_jti == refresh["jti"]
    assert row.previous_refresh_jti == claims(old.refresh)["jti"]
    assert row.rotated_at is not None
    # and both new tokens work
    assert_ok_as(get_me(body["access"]), user)
    assert post_refresh(body["refresh"]).status_code == 200


def test_old_access_token_keeps_working_after_refresh_until_the_session_is_revoked(user):
    # given a device that refreshed its tokens
    device = signed_in_client(user)
    assert post_refresh(device.tokens.refresh).status_code == 200

    # when the old access token is used
    before_revoke = get_me(device.tokens.access)
    # and then the session is revoked
    session_revoke(session=device.device_session, reason=DeviceSession.RevokeReason.LOGOUT)
    after_revoke = get_me(device.tokens.access)

    # then it worked until the revocation, and not after
    assert_ok_as(before_revoke, user)
    assert_error(after_revoke, 401, "session_revoked")


# --- 2. concurrent refreshes ------------------------------------------------------------------

RACERS = 50


def test_concurrent_refreshes_of_one_token_in_the_service_exactly_one_wins(user):
    # given one refresh token
    device = signed_in_client(user)
    token = device.tokens.refresh

    # when 50 threads exchange it at the same instant
    outcomes = run_concurrently(lambda _i: session_refresh(refresh_token=token), threads=RACERS)

    # then exactly one gets a new pair and the 49 others are told it was just rotated
    winners = [o.value for o in outcomes if o.error is None]
    losers = [o.error for o in outcomes if o.error is not None]
    assert len(winners) == 1, [repr(e) for e in losers]
    assert all(isinstance(e, RefreshRejected) for e in losers), [repr(e) for e in losers]
    assert sorted(e.code for e in losers) == ["refresh_token_rotated"] * (RACERS - 1)
    winner: SignIn = winners[0]
    # and the session was not revoked (grace window) and owns the winner's refresh token
    row = session_row(device.device_session.pk)
    assert row.is_active
    assert row.refresh_jti == winner.tokens.refresh_jti
    # and the winner's tokens work
    assert_ok_as(get_me(winner.tokens.access), user)
    assert post_refresh(winner.tokens.refresh).status_code == 200


def test_concurrent_refreshes_of_one_token_through_the_api_exactly_one_wins(user):
    # given one refresh token
    device = signed_in_client(user)
    token = device.tokens.refresh

    # when 50 clients post it to the refresh endpoint at the same instant
    def refresh(_i):
        response = APIClient().post(REFRESH, {"refresh": token}, format="json")
        return response.status_code, response.json()

    outcomes = run_concurrently(refresh, threads=RACERS)

    # then exactly one answers 200 and the 49 others 401 refresh_token_rotated
    assert [o.error for o in outcomes if o.error is not None] == []
    results = [o.value for o in outcomes]
    ok = [body for status, body in results if status == 200]
    refused = [(status, body.get("code")) for status, body in results if status != 200]
    assert len(ok) == 1, refused
    assert refused == [(401, "refresh_token_rotated")] * (RACERS - 1)
    # and the winner's tokens still work
    assert_ok_as(get_me(ok[0]["access"]), user)
    assert post_refresh(ok[0]["refresh"]).status_code == 200
    assert session_row(device.device_session.pk).is_active


# --- 3. reuse detection -----------------------------------------------------------------------


def test_replaying_a_rotated_refresh_token_within_the_grace_window_is_refused_without_revoking(user):
    # given a device that just refreshed
    device = signed_in_client(user)
    new = post_refresh(device.tokens.refresh).json()

    # when the rotated token comes back moments later
    replay = post_refresh(device.tokens.refresh)

    # then it is refused, but the session and its new tokens live on
    assert_error(replay, 401, "refresh_token_rotated")
    assert session_row(device.device_session.pk).is_active
    assert_ok_as(get_me(new["access"]), user)
    assert post_refresh(new["refresh"]).status_code == 200


def test_replaying_a_rotated_refresh_token_after_the_grace_window_revokes_the_session(user, settings):
    # given no grace window, and a device that refreshed and used its new access token (cache warm)
    settings.REFRESH_REUSE_GRACE = timedelta(0)
    device = signed_in_client(user)
    new = post_refresh(device.tokens.refresh).json()
    assert_ok_as(get_me(new["access"]), user)
    assert cache.get(session_cache_key(device.device_session.pk)) == str(user.pk)

    # when the rotated refresh token is replayed
    replay = post_refresh(device.tokens.refresh)

    # then the session is revoked for reuse
    assert_error(replay, 401, "session_revoked")
    row = session_row(device.device_session.pk)
    assert row.revoked_at is not None
    assert row.revoke_reason == DeviceSession.RevokeReason.REFRESH_REUSE
    # and the newest access and refresh tokens are refused too
    assert_error(get_me(new["access"]), 401, "session_revoked")
    assert_error(post_refresh(new["refresh"]), 401, "session_revoked")
    assert_error(get_me(device.tokens.access), 401, "session_revoked")


# --- 4. revocation from another device --------------------------------------------------------


def test_revoking_a_session_from_another_device_refuses_its_access_token_at_once(user):
    # given two devices of one user, and device A's session state cached by a successful request
    device_a = signed_in_client(user, user_agent=CHROME_MAC)
    device_b = signed_in_client(user, user_agent=FIREFOX_WINDOWS)
    assert_ok_as(device_a.get(ME), user)
    assert cache.get(session_cache_key(device_a.device_session.pk)) == str(user.pk)

    # when B ends A's session
    response = device_b.delete(f"{SESSIONS}/{device_a.device_session.pk}")

    # then A's next request is refused, and so is its refresh token; B is unaffected
    assert response.status_code == 204, response.content
    assert_error(device_a.get(ME), 401, "session_revoked")
    assert_error(post_refresh(device_a.tokens.refresh), 401, "session_revoked")
    assert session_row(device_a.device_session.pk).revoke_reason == DeviceSession.RevokeReason.REVOKED_BY_USER
    assert_ok_as(device_b.get(ME), user)


# --- 5. logout, logout-all, end all others ----------------------------------------------------


def test_logout_ends_only_the_current_session(user):
    # given two devices that both made a request (caches warm)
    device_a = signed_in_client(user)
    device_b = signed_in_client(user)
    assert_ok_as(device_a.get(ME), user)
    assert_ok_as(device_b.get(ME), user)

    # when A signs out
    response = device_a.post(LOGOUT)

    # then A's access and refresh tokens are refused, and B still works
    assert response.status_code == 204, response.content
    assert_error(device_a.get(ME), 401, "session_revoked")
    assert_error(post_refresh(device_a.tokens.refresh), 401, "session_revoked")
    assert_ok_as(device_b.get(ME), user)
    assert post_refresh(device_b.tokens.refresh).status_code == 200


def test_logout_all_ends_every_session_of_the_user_only(user):
    # given two devices of the user, and another user's device, all used once
    device_a = signed_in_client(user)
    device_b = signed_in_client(user)
    other = UserFactory()
    stranger = signed_in_client(other)
    for client, owner in ((device_a, user), (device_b, user), (stranger, other)):
        assert_ok_as(client.get(ME), owner)

    # when A signs out everywhere
    response = device_a.post(LOGOUT_ALL)

    # then every token of the user is refused, and the other user is untouched
    assert response.status_code == 204, response.content
    for device in (device_a, device_b):
        assert_error(device.get(ME), 401, "session_revoked")
        assert_error(post_refresh(device.tokens.refresh), 401, "session_revoked")
    assert not DeviceSession.objects.active().filter(user=user).exists()
    assert_ok_as(stranger.get(ME), other)


def test_deleting_all_sessions_ends_the_others_but_not_the_current(user):
    # given three devices, all used once
    current = signed_in_client(user)
    others = [signed_in_client(user), signed_in_client(user)]
    for client in (current, *others):
        assert_ok_as(client.get(ME), user)

    # when the current one ends all sessions
    response = current.delete(SESSIONS)

    # then the others are refused and the current one still works, access and refresh
    assert response.status_code == 204, response.content
    for device in others:
        assert_error(device.get(ME), 401, "session_revoked")
        assert_error(post_refresh(device.tokens.refresh), 401, "session_revoked")
    assert_ok_as(current.get(ME), user)
    assert post_refresh(current.tokens.refresh).status_code == 200
    listed = current.get(SESSIONS).json()
    assert [s["id"] for s in listed] == [str(current.device_session.pk)]


# --- 6. the sessions list ---------------------------------------------------------------------


def test_sessions_list_marks_the_current_one_names_devices_and_shows_only_mine(user):
    # given three devices of the user and one of another user
    mac = signed_in_client(user, user_agent=CHROME_MAC)
    windows = signed_in_client(user, user_agent=FIREFOX_WINDOWS)
    phone = signed_in_client(user, user_agent=SAFARI_IPHONE)
    stranger = signed_in_client(UserFactory(), user_agent=CHROME_MAC)

    # when the Mac lists its sessions
    response = mac.get(SESSIONS)

    # then it sees exactly its user's three sessions, itself marked current
    assert response.status_code == 200, response.content
    listed = {s["id"]: s for s in response.json()}
    assert set(listed) == {str(c.device_session.pk) for c in (mac, windows, phone)}
    assert str(stranger.device_session.pk) not in listed
    assert [sid for sid, s in listed.items() if s["current"] is True] == [str(mac.device_session.pk)]
    assert all(s["current"] is False for sid, s in listed.items() if sid != str(mac.device_session.pk))
    # and device names come from the User-Agent
    by_client = {c: listed[str(c.device_session.pk)] for c in (mac, windows, phone)}
    assert "Chrome" in by_client[mac]["device_name"]
    assert "Mac" in by_client[mac]["device_name"]
    assert "Firefox" in by_client[windows]["device_name"]
    assert "Windows" in by_client[windows]["device_name"]
    assert "Safari" in by_client[phone]["device_name"]
    assert by_client[mac]["user_agent"] == CHROME_MAC


def test_another_users_session_is_not_found_and_stays_active(user):
    # given my device and another user's device
    mine = signed_in_client(user)
    other = UserFactory()
    theirs = signed_in_client(other)
    their_id = theirs.device_session.pk

    # when I read and delete their session
    read = mine.get(f"{SESSIONS}/{their_id}")
    delete = mine.delete(f"{SESSIONS}/{their_id}")

    # then both answer 404, and their session lives on
    assert_error(read, 404, "not_found")
    assert_error(delete, 404, "not_found")
    assert session_row(their_id).is_active
    assert_ok_as(theirs.get(ME), other)
    # while my own session can be read
    own = mine.get(f"{SESSIONS}/{mine.device_session.pk}")
    assert own.status_code == 200, own.content
    assert own.json()["current"] is True


# --- 7. forged and misused tokens -------------------------------------------------------------


def _sign(payload: dict, key: str | None = None, algorithm: str = "HS256") -> str:
    with warnings.catch_warnings():  # PyJWT warns that the key is short for HS512; that is not the point here
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(payload, key if key is not None else settings.SIMPLE_JWT["SIGNING_KEY"], algorithm=algorithm)


def _alg_none_by_hand(payload: dict) -> str:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(payload).encode())}."


def _access_without_sid(user, **_):
    return str(AccessToken.for_user(user))


def _access_with_someone_elses_sid(user, other_session, **_):
    pair = mint_token_pair(user_id=user.pk, session_id=other_session.pk, session_expires_at=other_session.expires_at)
    return pair.access


def _access_with_unknown_sid(user, session, **_):
    return mint_token_pair(user_id=user.pk, session_id=uuid.uuid4(), session_expires_at=session.expires_at).access


FORGED_ACCESS_TOKENS = {
    "alg none (PyJWT)": (lambda payload, **_: jwt.encode(payload, None, algorithm="none"), "token_not_valid"),
    "alg none (by hand)": (lambda payload, **_: _alg_none_by_hand(payload), "token_not_valid"),
    "alg none, signature kept": (
        lambda payload, **_: _alg_none_by_hand(payload) + _sign(payload).split(".")[2],
        "token_not_valid",
    ),
    "wrong key": (lambda payload, **_: _sign(payload, key="not-the-signing-key-" + "x" * 32), "token_not_valid"),
    "right key, HS512": (lambda payload, **_: _sign(payload, algorithm="HS512"), "token_not_valid"),
    "expired": (
        lambda payload, **_: _sign({**payload, "exp": int((timezone.now() - timedelta(seconds=5)).timestamp())}),
        "token_not_valid",
    ),
    "refresh as access": (lambda refresh, **_: refresh, "token_not_valid"),
    "no sid": (lambda user, **_: _access_without_sid(user), "session_revoked"),
    "sid of another user's session": (_access_with_someone_elses_sid, "session_revoked"),
    "sid of no session": (_access_with_unknown_sid, "session_revoked"),
    "garbage": (lambda **_: "not-a-jwt", "token_not_valid"),
    "three garbage parts": (lambda **_: "aaa.bbb.ccc", "token_not_valid"),
}


@pytest.mark.parametrize("kind", FORGED_ACCESS_TOKENS)
def test_bad_access_tokens_are_refused(user, kind):
    # given a live session (whose genuine access token works), another user's live session, and a
    # token built from the genuine access token's claims in a way that must not be accepted
    device = signed_in_client(user)
    other_device = signed_in_client(UserFactory())
    assert_ok_as(device.get(ME), user)
    assert_ok_as(other_device.get(ME), other_device.user)
    build, code = FORGED_ACCESS_TOKENS[kind]
    token = build(
        payload=claims(device.tokens.access),
        refresh=device.tokens.refresh,
        user=user,
        session=device.device_session,
        other_session=other_device.device_session,
    )

    # when it is presented as a bearer token
    response = get_me(token)

    # then it is refused
    assert_error(response, 401, code)
    # and the other user's session was not touched by the attempt
    assert_ok_as(other_device.get(ME), other_device.user)


def test_refresh_refuses_an_access_token(user):
    # given a device
    device = signed_in_client(user)
    # when it sends its access token as a refresh token
    response = post_refresh(device.tokens.access)
    # then it is refused and the session is not harmed
    assert_error(response, 401, "token_not_valid")
    assert post_refresh(device.tokens.refresh).status_code == 200


@pytest.mark.parametrize("garbage", ["not-a-jwt", "aaa.bbb.ccc", "x" * 4000])
def test_refresh_refuses_garbage(garbage):
    # when a string that is no JWT is sent as a refresh token
    response = post_refresh(garbage)
    # then it is refused
    assert_error(response, 401, "token_not_valid")


def test_refresh_refuses_an_unsigned_or_wrongly_signed_refresh_token(user):
    # given a genuine refresh token's claims
    device = signed_in_client(user)
    payload = claims(device.tokens.refresh)
    # when they are sent unsigned and signed with another key
    unsigned = post_refresh(jwt.encode(payload, None, algorithm="none"))
    wrong_key = post_refresh(_sign(payload, key="not-the-signing-key-" + "x" * 32))
    # then both are refused
    assert_error(unsigned, 401, "token_not_valid")
    assert_error(wrong_key, 401, "token_not_valid")
    assert session_row(device.device_session.pk).is_active


def test_refresh_refuses_a_token_naming_another_users_session(user):
    # given a genuinely signed refresh token of mine that names another user's session
    other_device = signed_in_client(UserFactory())
    session = other_device.device_session
    forged = mint_token_pair(user_id=user.pk, session_id=session.pk, session_expires_at=session.expires_at)
    # when it is exchanged
    response = post_refresh(forged.refresh)
    # then it is refused, and the other session lives on
    assert_error(response, 401, "token_not_valid")
    assert session_row(session.pk).is_active
    assert post_refresh(other_device.tokens.refresh).status_code == 200


def test_refresh_refuses_the_token_of_an_expired_session(user):
    # given a session whose absolute lifetime is over (its refresh JWT is not yet expired)
    device = signed_in_client(user)
    DeviceSession.objects.filter(pk=device.device_session.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert claims(device.tokens.refresh)["exp"] > timezone.now().timestamp()

    # when its refresh token is exchanged
    response = post_refresh(device.tokens.refresh)

    # then it is refused
    assert_error(response, 401, "session_revoked")


# --- 8. password change -----------------------------------------------------------------------


def test_password_change_keeps_the_current_session_and_ends_the_others(user):
    # given two devices, both used once (caches warm)
    current = signed_in_client(user)
    other = signed_in_client(user)
    assert_ok_as(current.get(ME), user)
    assert_ok_as(other.get(ME), user)

    # when the current device changes the password
    response = current.post(
        PASSWORD_CHANGE, {"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    # then the password is changed, the current session works, and the other's tokens are refused
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert_ok_as(current.get(ME), user)
    assert post_refresh(current.tokens.refresh).status_code == 200
    assert_error(other.get(ME), 401, "session_revoked")
    assert_error(post_refresh(other.tokens.refresh), 401, "session_revoked")
    assert session_row(other.device_session.pk).revoke_reason == DeviceSession.RevokeReason.PASSWORD_CHANGE


def test_password_change_with_a_wrong_current_password_changes_nothing(user):
    # given two devices
    current = signed_in_client(user)
    other = signed_in_client(user)
    # when the current password given is wrong
    response = current.post(
        PASSWORD_CHANGE, {"current_password": "not-" + TEST_PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )
    # then it is refused and every session lives on
    assert_error(response, 400, "validation_error")
    assert "current_password" in response.json()["fields"]
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)
    assert_ok_as(other.get(ME), user)


def _change_password(current, user):
    response = current.post(
        PASSWORD_CHANGE, {"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content


def _deactivate(current, user):
    user_deactivate(user=user)


@pytest.mark.parametrize(
    ("revoke", "access_code"),
    [(_change_password, "session_revoked"), (_deactivate, "user_inactive")],
    ids=["password change", "deactivation"],
)
def test_a_refresh_racing_a_user_wide_revocation_never_fails_and_never_outlives_it(
    user, monkeypatch, revoke, access_code
):
    # given two devices, and a password change (or deactivation) held right after it saved the user
    # (its transaction then holds the user row) and before it ends the sessions
    current = signed_in_client(user)
    other = signed_in_client(user)
    user_saved, go_on, refreshed = threading.Event(), threading.Event(), threading.Event()
    real_revoke = accounts_services.sessions_revoke_for_user

    def held_revoke(**kwargs):
        user_saved.set()
        go_on.wait(timeout=10)
        return real_revoke(**kwargs)

    monkeypatch.setattr(accounts_services, "sessions_revoke_for_user", held_revoke)

    # when the other device refreshes in that moment (the revocation resumes once the refresh has
    # answered or waits on a lock)
    def step(i):
        if i == 0:
            return revoke(current, user)
        user_saved.wait(timeout=10)
        if i == 1:
            try:
                response = post_refresh(other.tokens.refresh)
                return response.status_code, response.json()
            finally:
                refreshed.set()
        wait_for_lock_waiters(1, timeout=5, unless=refreshed.is_set)
        go_on.set()
        return None

    outcomes = run_concurrently(step, threads=3)

    # then the revocation succeeds, and the refresh either came first or is refused as a revoked
    # session (never a server error)
    assert [o.error for o in outcomes] == [None, None, None]
    status, body = outcomes[1].value
    assert status in (200, 401), body
    if status == 401:
        assert body["code"] == "session_revoked", body
    else:  # it came first: the tokens it got die with the session
        assert_error(get_me(body["access"]), 401, access_code)
        assert_error(post_refresh(body["refresh"]), 401, "session_revoked")
    assert session_row(other.device_session.pk).revoked_at is not None
    assert_error(other.get(ME), 401, access_code)


# --- 9. deactivation --------------------------------------------------------------------------


def test_deactivating_a_user_refuses_their_tokens_at_once(user):
    # given two devices of the user, both used once (caches warm)
    devices = [signed_in_client(user), signed_in_client(user)]
    for device in devices:
        assert_ok_as(device.get(ME), user)

    # when the user is deactivated
    user_deactivate(user=user)

    # then their access and refresh tokens are refused at once
    for device in devices:
        assert_error(device.get(ME), 401, "user_inactive")
        assert_error(post_refresh(device.tokens.refresh), 401, "session_revoked")
    assert not DeviceSession.objects.active().filter(user=user).exists()


# --- 10. query budget -------------------------------------------------------------------------


def test_an_authenticated_request_with_a_warm_session_cache_does_not_query_the_session(
    user, django_assert_max_num_queries
):
    # given a device whose session state is cached by a first request
    device = signed_in_client(user)
    assert_ok_as(device.get(ME), user)
    assert cache.get(session_cache_key(device.device_session.pk)) == str(user.pk)

    # when it makes another request, then at most the user is loaded (no session query, no write)
    with django_assert_max_num_queries(2) as captured:
        response = device.get(ME)
    assert_ok_as(response, user)
    assert not any("sessions_app_devicesession" in q["sql"] for q in captured.captured_queries)
