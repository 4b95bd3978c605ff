from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import OneTimeCode, OutboundEmail, User
from accounts.tests.factories import UserFactory
from sessions_app.models import DeviceSession
from sessions_app.services import session_refresh, session_start
from testing.clients import signed_in_client

USERS_URL = reverse("admin:accounts_user_changelist")
SESSIONS_URL = reverse("admin:sessions_app_devicesession_changelist")
Reason = DeviceSession.RevokeReason


@pytest.fixture
def superuser(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def staff(client, superuser):
    """The Django test client signed in to the admin as a superuser."""
    client.force_login(superuser)
    return client


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def run_action(client, url: str, action: str, objects, *, confirm: bool = False):
    """Posts an action as the changelist does; `confirm` posts the confirmation page's form instead."""
    data = {"action": action, "_selected_action": [str(obj.pk) for obj in objects]}
    data.update({"confirm": "yes"} if confirm else {"index": "0"})
    return client.post(url, data, follow=confirm)


def make_sessions(count: int) -> list[DeviceSession]:
    return [
        session_start(user=UserFactory(), user_agent="Firefox", ip_address="10.0.0.1").session for _ in range(count)
    ]


def test_user_changelist_runs_a_fixed_number_of_queries(staff):
    # given
    UserFactory.create_batch(2)
    count_queries(staff, USERS_URL)  # warms per-process caches (content types, permissions)
    few = count_queries(staff, USERS_URL)
    UserFactory.create_batch(18, locked_until=timezone.now() + timedelta(hours=1))

    # when
    many = count_queries(staff, USERS_URL)

    # then
    assert many == few


def test_user_changelist_shows_and_filters_the_locked_state(staff):
    # given
    locked = UserFactory(failed_login_count=9, locked_until=timezone.now() + timedelta(hours=1))
    lock_passed = UserFactory(failed_login_count=9, locked_until=timezone.now() - timedelta(minutes=1))

    # when
    response = staff.get(USERS_URL, {"locked": "yes"})
    sorted_by_lock = staff.get(USERS_URL, {"o": "-6"})

    # then
    assert response.status_code == 200
    assert locked.email in response.text and lock_passed.email not in response.text
    assert sorted_by_lock.text.index(locked.email) < sorted_by_lock.text.index(lock_passed.email)


def test_session_changelist_runs_a_fixed_number_of_queries(staff):
    # given
    make_sessions(2)
    count_queries(staff, SESSIONS_URL)
    few = count_queries(staff, SESSIONS_URL)
    make_sessions(18)

    # when
    many = count_queries(staff, SESSIONS_URL)

    # then
    assert many == few


def test_revoke_all_sessions_asks_first_then_the_users_tokens_are_refused(staff, django_capture_on_commit_callbacks):
    # given
    user = UserFactory()
    api = signed_in_client(user)
    session_start(user=user, user_agent="Safari")
    assert api.get("/api/v1/users/me").status_code == 200  # the live verdict is now cached

    # when
    asked = run_action(staff, USERS_URL, "revoke_all_sessions", [user])

    # then
    assert asked.status_code == 200
    assert f"{user.email}: 2 active sessions" in asked.text
    assert DeviceSession.objects.active().filter(user=user).count() == 2

    # when
    with django_capture_on_commit_callbacks(execute=True):
        done = run_action(staff, USERS_URL, "revoke_all_sessions", [user], confirm=True)

    # then
    assert "Revoked 2 sessions of 1 user." in done.text
    assert set(DeviceSession.objects.filter(user=user).values_list("revoke_reason", flat=True)) == {Reason.STAFF}
    refused = api.get("/api/v1/users/me")
    assert refused.status_code == 401
    assert refused.json()["code"] == "session_revoked"


def test_revoke_session_action_revokes_only_the_selected_session(staff, django_capture_on_commit_callbacks):
    # given
    user = UserFactory()
    chosen = session_start(user=user, user_agent="Firefox").session
    other = session_start(user=user, user_agent="Safari").session

    # when
    asked = run_action(staff, SESSIONS_URL, "revoke_selected", [chosen])
    with django_capture_on_commit_callbacks(execute=True):
        done = run_action(staff, SESSIONS_URL, "revoke_selected", [chosen], confirm=True)

    # then
    assert asked.status_code == 200 and "Revoke these sessions?" in asked.text
    assert "Revoked 1 session." in done.text
    chosen.refresh_from_db()
    other.refresh_from_db()
    assert chosen.revoke_reason == Reason.STAFF and chosen.revoked_at is not None
    assert other.is_active


def test_unlock_resets_the_failed_count_and_the_lock(staff):
    # given
    user = UserFactory(failed_login_count=8, locked_until=timezone.now() + timedelta(hours=1))

    # when
    response = run_action(staff, USERS_URL, "unlock_sign_in", [user])

    # then
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.failed_login_count, user.locked_until) == (0, None)


def test_resend_verification_mails_unverified_users_only(staff):
    # given
    unverified = UserFactory(is_verified=False)
    verified = UserFactory()

    # when
    response = staff.post(
        USERS_URL,
        {"action": "resend_verification", "index": "0", "_selected_action": [unverified.pk, verified.pk]},
        follow=True,
    )

    # then
    assert "Sent a verification code to 1 user; skipped 1 already verified." in response.text
    assert OutboundEmail.objects.filter(to=unverified.email, template="verify_email").exists()
    assert not OutboundEmail.objects.filter(to=verified.email).exists()


def test_token_ids_never_appear_in_session_pages(staff):
    # given
    user = UserFactory()
    sign_in = session_start(user=user, user_agent="Firefox")
    session_refresh(refresh_token=sign_in.tokens.refresh)
    session = DeviceSession.objects.get(pk=sign_in.session.pk)
    assert session.previous_refresh_jti

    # when
    pages = [
        staff.get(SESSIONS_URL),
        staff.get(reverse("admin:sessions_app_devicesession_change", args=[session.pk])),
        staff.get(reverse("admin:accounts_user_change", args=[user.pk])),
    ]

    # then
    for page in pages:
        assert page.status_code == 200
        assert session.refresh_jti not in page.text and session.previous_refresh_jti not in page.text
    assert session.device_name in pages[2].text  # the user page lists the session


def test_outbox_pages_never_show_the_context_and_codes_are_not_registered(staff):
    # given
    email = OutboundEmail.objects.create(to="ada@example.com", template="verify_email", context={"code": "804213"})

    # when
    pages = [
        staff.get(reverse("admin:accounts_outboundemail_changelist")),
        staff.get(reverse("admin:accounts_outboundemail_change", args=[email.pk])),
    ]

    # then
    for page in pages:
        assert page.status_code == 200
        assert "ada@example.com" in page.text and "804213" not in page.text
    assert not admin.site.is_registered(OneTimeCode)


def test_session_pages_are_read_only_even_for_superusers(staff):
    # given
    session = make_sessions(1)[0]
    change_url = reverse("admin:sessions_app_devicesession_change", args=[session.pk])

    # when
    edit = staff.post(change_url, {"device_name": "Renamed"})
    add = staff.get(reverse("admin:sessions_app_devicesession_add"))
    delete = staff.get(reverse("admin:sessions_app_devicesession_delete", args=[session.pk]))

    # then
    assert (edit.status_code, add.status_code, delete.status_code) == (403, 403, 403)
    session.refresh_from_db()
    assert session.device_name != "Renamed"


def test_staff_with_view_permission_only_cannot_revoke(client, db):
    # given
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_devicesession", "view_user"], content_type__app_label__in=["sessions_app", "accounts"]
        )
    )
    client.force_login(viewer)
    session = make_sessions(1)[0]

    # when
    listing = client.get(SESSIONS_URL)
    users_listing = client.get(USERS_URL)
    run_action(client, SESSIONS_URL, "revoke_selected", [session], confirm=True)
    run_action(client, USERS_URL, "revoke_all_sessions", [session.user], confirm=True)

    # then
    assert listing.status_code == 200 and session.device_name in listing.text
    assert users_listing.status_code == 200
    assert "revoke_selected" not in listing.text and "revoke_all_sessions" not in users_listing.text
    session.refresh_from_db()
    assert session.is_active


def test_deactivating_in_the_change_form_ends_the_users_sessions(staff):
    # given
    user = UserFactory()
    session = session_start(user=user, user_agent="Firefox").session
    form = {
        "email": user.email,
        "username": user.username,
        "display_name": user.display_name,
        "is_verified": "on",
        "device_sessions-TOTAL_FORMS": "1",
        "device_sessions-INITIAL_FORMS": "1",
        "device_sessions-MIN_NUM_FORMS": "0",
        "device_sessions-MAX_NUM_FORMS": "0",
        "device_sessions-0-id": str(session.pk),
        "device_sessions-0-user": str(user.pk),
        "subscriptions-TOTAL_FORMS": "0",
        "subscriptions-INITIAL_FORMS": "0",
    }

    # when
    response = staff.post(reverse("admin:accounts_user_change", args=[user.pk]), form)

    # then
    assert response.status_code == 302
    user.refresh_from_db()
    session.refresh_from_db()
    assert not user.is_active
    assert session.revoke_reason == Reason.ACCOUNT_DISABLED


@pytest.mark.parametrize("usable", [True, False])
def test_a_password_set_by_staff_ends_the_users_sessions_and_tells_them(
    staff, usable, django_capture_on_commit_callbacks
):
    # given a user signed in on a device
    user = UserFactory()
    client = signed_in_client(user)
    assert client.get("/api/v1/users/me").status_code == 200
    form = {"password1": "a-brand-new-passphrase-42", "password2": "a-brand-new-passphrase-42"}
    form.update({"usable_password": "true"} if usable else {"usable_password": "false", "unset-password": "1"})

    # when staff set a new password (or disable password sign-in) in the admin
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(reverse("admin:auth_user_password_change", args=[user.pk]), form)

    # then the password is what staff chose, the session is over, and the user gets an email
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-brand-new-passphrase-42") is usable and user.has_usable_password() is usable
    assert DeviceSession.objects.get(user=user).revoke_reason == Reason.STAFF
    assert client.get("/api/v1/users/me").status_code == 401
    assert OutboundEmail.objects.filter(to=user.email, template="password_changed").exists()


def test_a_refused_staff_password_changes_nothing(staff):
    user = UserFactory()
    session = session_start(user=user, user_agent="Firefox").session
    form = {"password1": "short", "password2": "other", "usable_password": "true"}
    response = staff.post(reverse("admin:auth_user_password_change", args=[user.pk]), form)
    assert response.status_code == 200 and response.context["form"].errors
    session.refresh_from_db()
    assert session.revoked_at is None and not OutboundEmail.objects.filter(to=user.email).exists()


def test_staff_cannot_set_a_password_the_api_sign_in_would_refuse(staff):
    user = UserFactory()
    long = "a-long-passphrase-" + "x" * 300
    form = {"password1": long, "password2": long, "usable_password": "true"}
    response = staff.post(reverse("admin:auth_user_password_change", args=[user.pk]), form)
    assert response.status_code == 200
    assert "at most 256 characters" in str(response.context["form"].errors)
    user.refresh_from_db()
    assert not user.check_password(long)


def _staff_with(client, *codenames):
    member = UserFactory(is_staff=True)
    member.user_permissions.set(Permission.objects.filter(codename__in=codenames, content_type__app_label="accounts"))
    client.force_login(member)
    return member


def _change_form(user, **extra):
    return {
        "email": user.email,
        "username": user.username,
        "display_name": user.display_name,
        "is_active": "on",
        "is_verified": "on",
        "device_sessions-TOTAL_FORMS": "0",
        "device_sessions-INITIAL_FORMS": "0",
        "subscriptions-TOTAL_FORMS": "0",
        "subscriptions-INITIAL_FORMS": "0",
        **extra,
    }


def test_only_superusers_grant_staff_rights_or_groups_in_the_admin(client, superuser):
    # given a staff member who may change users, and a group with every permission
    from django.contrib.auth.models import Group

    member = _staff_with(client, "view_user", "change_user")
    admins = Group.objects.create(name="admins")
    admins.permissions.set(Permission.objects.all())
    target = UserFactory()
    url = reverse("admin:accounts_user_change", args=[target.pk])
    grant = {"is_staff": "on", "is_superuser": "on", "groups": [admins.pk]}
    grant["user_permissions"] = [Permission.objects.get(codename="add_user").pk]

    # when they post the change form granting rights, to another user and to themselves
    page = client.get(url)
    client.post(url, _change_form(target, **grant))
    client.post(reverse("admin:accounts_user_change", args=[member.pk]), _change_form(member, **grant))

    # then nothing is granted, and the form does not offer those fields
    assert page.status_code == 200 and 'name="is_superuser"' not in page.text and 'name="groups"' not in page.text
    for user in (target, member):
        user.refresh_from_db()
        assert (user.is_superuser, list(user.groups.all())) == (False, [])
    assert target.is_staff is False and not target.user_permissions.exists()
    assert list(member.user_permissions.values_list("codename", flat=True)) != ["add_user"]
    assert not member.has_perm("accounts.add_user")

    # and a superuser can grant them
    client.force_login(superuser)
    client.post(url, _change_form(target, **grant))
    target.refresh_from_db()
    assert (target.is_staff, target.is_superuser, list(target.groups.all())) == (True, True, [admins])


def test_admin_delete_goes_through_the_service(staff):
    """Deleting in the admin (one, and the "delete selected" action) cleans up as the user's own
    deletion does: the counters they moved come back, others' playlists close up."""
    from videos.library import services as library
    from videos.models import Playlist
    from videos.tests.factories import VideoFactory

    # given
    one, other, keeper_owner = UserFactory(), UserFactory(), UserFactory()
    liked = VideoFactory(owner=keeper_owner)
    keeper = library.playlist_create(owner=keeper_owner, title="Keep")
    for user in (one, other):
        library.rating_set(user=user, video=liked, value="like")
        library.item_add(playlist=keeper, video=VideoFactory(owner=user))
    library.item_add(playlist=keeper, video=liked)

    # when
    response = staff.post(reverse("admin:accounts_user_delete", args=[one.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert run_action(staff, USERS_URL, "delete_selected", [other]).status_code == 200  # the confirmation page
    response = staff.post(USERS_URL, {"action": "delete_selected", "_selected_action": [str(other.pk)], "post": "yes"})
    assert response.status_code == 302

    # then
    liked.refresh_from_db()
    keeper.refresh_from_db()
    assert liked.like_count == 0
    assert list(keeper.items.values_list("video_id", "position")) == [(liked.pk, 1)] and keeper.item_count == 1
    assert not Playlist.objects.filter(owner__in=[one.pk, other.pk]).exists()


def test_only_superusers_delete_staff_accounts(client, db):
    # given: staff allowed to delete users, and another staff account
    editor = UserFactory(is_staff=True)
    editor.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "delete_user"]))
    colleague, viewer = UserFactory(is_staff=True), UserFactory()
    client.force_login(editor)

    # when
    refused = client.post(reverse("admin:accounts_user_delete", args=[colleague.pk]), {"post": "yes"})
    bulk = client.post(
        USERS_URL, {"action": "delete_selected", "_selected_action": [str(colleague.pk), str(viewer.pk)], "post": "yes"}
    )
    allowed = client.post(reverse("admin:accounts_user_delete", args=[viewer.pk]), {"post": "yes"})

    # then
    assert refused.status_code == 403
    assert bulk.status_code == 403  # the whole selection is refused
    assert allowed.status_code == 302
    assert User.objects.filter(pk=colleague.pk).exists() and not User.objects.filter(pk=viewer.pk).exists()
