"""Plans and subscriptions: the plans API (staff with the model permissions), my subscriptions,
staff grants and revocations with their audit rows, the admin, the command, and the beat's
expiry and reminders."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import OutboundEmail
from accounts.subscriptions import services
from accounts.subscriptions.models import Plan, Subscription, SubscriptionChange
from accounts.tests.factories import PlanFactory, SubscriptionFactory, UserFactory
from testing.clients import signed_in_client
from videos.catalog.services import video_update
from videos.tests.factories import VideoFactory

pytestmark = pytest.mark.django_db

PLANS = "/api/v1/plans"


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["code"] == code, response.content
    return response.json()


@pytest.fixture
def gold():
    return PlanFactory(code="gold", name="Gold")


def staff_with(*codenames):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="accounts", codename__in=codenames))
    return signed_in_client(user)


# --- plans -----------------------------------------------------------------------------------------


def test_anyone_lists_the_active_plans_in_order(api_client):
    PlanFactory(code="b", sort_order=2)
    PlanFactory(code="a", sort_order=1)
    PlanFactory(code="old", is_active=False, sort_order=3)
    assert [plan["code"] for plan in api_client.get(PLANS).json()] == ["a", "b"]
    staff = staff_with("view_plan")
    assert [plan["code"] for plan in staff.get(PLANS).json()] == ["a", "b", "old"]


def test_staff_with_the_permissions_create_edit_and_delete_plans():
    client = staff_with("add_plan", "change_plan", "delete_plan")
    created = client.post(PLANS, {"code": "gold", "name": "Gold", "sort_order": 3}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["active"] is True
    edited = client.patch(f"{PLANS}/gold", {"name": "Gold+", "active": False, "code": "other"}, format="json")
    assert (edited.json()["code"], edited.json()["name"], edited.json()["active"]) == ("gold", "Gold+", False)
    assert client.delete(f"{PLANS}/gold").status_code == 204
    assert not Plan.objects.exists()


def test_a_plan_in_use_is_deactivated_not_deleted(gold):
    client = staff_with("delete_plan")
    SubscriptionFactory(plan=gold)
    video_plan = PlanFactory(code="video-only")
    video_update(video=VideoFactory(), required_plans=["video-only"])
    for plan in (gold, video_plan):
        answer = client.delete(f"{PLANS}/{plan.code}")
        assert answer.status_code == 200 and answer.json()["active"] is False
    assert Plan.objects.filter(is_active=False).count() == 2


@pytest.mark.parametrize(
    "body",
    [
        {"code": "Gold", "name": "x"},
        {"code": "g\u043eld", "name": "x"},
        {"code": "a--b", "name": "x"},
        {"code": "gold"},
    ],
)
def test_bad_plan_input_is_refused(body):
    client = staff_with("add_plan")
    assert_error(client.post(PLANS, body, format="json"), 400, "validation_error")
    assert not Plan.objects.exists()


def test_a_taken_code_is_a_conflict(gold):
    client = staff_with("add_plan")
    assert_error(client.post(PLANS, {"code": "gold", "name": "Again"}, format="json"), 409, "plan_code_taken")


def test_plans_are_managed_only_with_the_permission(gold, auth_client, api_client):
    assert_error(auth_client.post(PLANS, {"code": "x", "name": "x"}, format="json"), 403, "permission_denied")
    assert staff_with("view_plan").delete(f"{PLANS}/gold").status_code == 403
    assert api_client.patch(f"{PLANS}/gold", {"name": "x"}, format="json").status_code == 401
    assert Plan.objects.get().name == "Gold"


# --- my subscriptions ----------------------------------------------------------------------------


def test_me_subscriptions_show_status_dates_and_what_each_unlocks(gold, auth_client):
    ends = timezone.now() + timedelta(days=5)
    SubscriptionFactory(user=auth_client.user, plan=gold, ends_at=ends)
    SubscriptionFactory(user=auth_client.user, plan=gold, status="past_due", ends_at=timezone.now() - timedelta(days=1))
    SubscriptionFactory(user=auth_client.user, plan=gold, status="canceled")
    SubscriptionFactory(plan=gold)  # someone else's
    items = auth_client.get("/api/v1/me/subscriptions").json()["results"]
    assert [(item["status"], item["grants_access"]) for item in items] == [
        ("canceled", False),
        ("past_due", True),
        ("active", True),
    ]
    assert items[2]["plan"]["code"] == "gold" and items[2]["access_until"] == items[2]["ends_at"]
    assert items[1]["access_until"] > items[1]["ends_at"]  # the grace period


# --- staff grants and revocations ------------------------------------------------------------------


def test_staff_grant_and_revoke_through_the_api_with_audit_rows(gold):
    staff = staff_with("add_subscription", "change_subscription", "view_subscription")
    user = UserFactory()
    url = f"/api/v1/users/{user.pk}/subscriptions"
    ends = (timezone.now() + timedelta(days=30)).isoformat()
    granted = staff.post(url, {"plan": "gold", "ends_at": ends, "reason": "support ticket 42"}, format="json")
    assert granted.status_code == 201, granted.content
    assert (granted.json()["source"], granted.json()["grants_access"]) == ("staff", True)
    subscription_id = granted.json()["id"]
    assert [s["id"] for s in staff.get(url).json()["results"]] == [subscription_id]
    assert staff.delete(f"{url}/{subscription_id}").status_code == 204
    assert_error(staff.delete(f"{url}/{subscription_id}"), 409, "subscription_not_active")
    changes = list(SubscriptionChange.objects.order_by("id"))
    assert [(c.action, c.staff_user, c.actor) for c in changes] == [
        ("granted", staff.user, "staff"),
        ("canceled", staff.user, "staff"),
    ]
    assert changes[0].reason == "support ticket 42" and changes[1].before["status"] == "active"
    assert changes[1].after["status"] == "canceled"


def test_grants_refuse_bad_input_and_change_nothing(gold):
    staff = staff_with("add_subscription")
    user = UserFactory()
    url = f"/api/v1/users/{user.pk}/subscriptions"
    past = (timezone.now() - timedelta(days=1)).isoformat()
    assert_error(staff.post(url, {"plan": "gold", "ends_at": past}, format="json"), 400, "validation_error")
    assert_error(staff.post(url, {"plan": "platinum"}, format="json"), 400, "validation_error")
    assert_error(
        staff.post(url, {"plan": "gold", "ends_at": "0001-01-01T00:00:00+18:00"}, format="json"),
        400,
        "validation_error",
    )
    PlanFactory(code="old", is_active=False)
    assert_error(staff.post(url, {"plan": "old"}, format="json"), 409, "plan_inactive")
    assert (
        staff.post(f"/api/v1/users/{UserFactory.build().pk}/subscriptions", {"plan": "gold"}, format="json").status_code
        == 404
    )
    assert not Subscription.objects.exists() and not SubscriptionChange.objects.exists()


def test_a_subscription_is_revoked_only_under_its_own_user(gold):
    staff = staff_with("change_subscription")
    subscription = SubscriptionFactory(plan=gold)
    other = UserFactory()
    assert staff.delete(f"/api/v1/users/{other.pk}/subscriptions/{subscription.pk}").status_code == 404
    assert Subscription.objects.get().status == "active"


def test_users_without_the_permission_cannot_grant(gold, auth_client):
    url = f"/api/v1/users/{auth_client.user.pk}/subscriptions"
    assert_error(auth_client.post(url, {"plan": "gold"}, format="json"), 403, "permission_denied")
    assert staff_with("view_subscription").post(url, {"plan": "gold"}, format="json").status_code == 403
    assert not Subscription.objects.exists()


def test_the_grant_command(gold):
    user = UserFactory(username="ada")
    out = StringIO()
    call_command("grant_subscription", "ada", "gold", "--days", "7", stdout=out)
    subscription = Subscription.objects.get(user=user)
    assert timedelta(days=6, hours=23) < subscription.ends_at - timezone.now() <= timedelta(days=7)
    assert subscription.changes.get().reason.startswith("granted with manage.py")
    for args in (["nobody", "gold"], ["ada", "platinum"], ["ada", "gold", "--days", "0"]):
        with pytest.raises(CommandError):
            call_command("grant_subscription", *args)
    assert Subscription.objects.count() == 1


def test_extending_makes_a_past_due_subscription_active_and_reminds_again(gold):
    subscription = SubscriptionFactory(plan=gold, status="past_due", ends_at=timezone.now(), reminded_at=timezone.now())
    later = timezone.now() + timedelta(days=30)
    services.subscription_extend(subscription=subscription, ends_at=later, staff_user=None, reason="goodwill")
    subscription.refresh_from_db()
    assert (subscription.status, subscription.ends_at, subscription.reminded_at) == ("active", later, None)
    assert subscription.changes.get().action == "extended"


# --- expiry and reminders --------------------------------------------------------------------------


def test_expiry_moves_ended_subscriptions_in_batches_once(gold):
    now = timezone.now()
    ended = [SubscriptionFactory(plan=gold, ends_at=now - timedelta(minutes=i + 1)) for i in range(5)]
    billing = SubscriptionFactory(plan=gold, ends_at=now - timedelta(hours=1), source="billing", renews=True)
    in_grace = SubscriptionFactory(plan=gold, status="past_due", ends_at=now - timedelta(days=1))
    past_grace = SubscriptionFactory(plan=gold, status="past_due", ends_at=now - timedelta(days=4))
    running = SubscriptionFactory(plan=gold, ends_at=now + timedelta(minutes=1))
    open_ended = SubscriptionFactory(plan=gold)

    assert services.subscriptions_expire(batch_size=2) == 7
    assert services.subscriptions_expire(batch_size=2) == 0  # idempotent

    statuses = dict(Subscription.objects.values_list("pk", "status"))
    assert {statuses[s.pk] for s in [*ended, billing, past_grace]} == {"expired"}
    assert [statuses[s.pk] for s in (in_grace, running, open_ended)] == ["past_due", "active", "active"]
    assert SubscriptionChange.objects.filter(action="expired", actor="system").count() == 7
    # the non-renewing ones are told; the billing one's customer hears from their billing system
    ended_emails = OutboundEmail.objects.filter(template="subscription_ended")
    assert ended_emails.count() == 6
    assert not ended_emails.filter(to=billing.user.email).exists()


def test_reminders_go_once_to_non_renewing_subscriptions_ending_soon(gold, settings):
    settings.SUBSCRIPTION_REMINDER_DAYS = 3
    now = timezone.now()
    soon = SubscriptionFactory(plan=gold, ends_at=now + timedelta(days=2))
    SubscriptionFactory(plan=gold, ends_at=now + timedelta(days=10))
    SubscriptionFactory(plan=gold, ends_at=now + timedelta(days=2), renews=True, source="billing")
    SubscriptionFactory(plan=gold, ends_at=now + timedelta(days=2), status="canceled")
    assert services.subscriptions_remind() == 1
    assert services.subscriptions_remind() == 0
    email = OutboundEmail.objects.get(template="subscription_ending")
    assert email.to == soon.user.email and email.context["plan"] == "Gold"


def test_the_emails_render(gold):
    from accounts.emails import _build_message

    subscription = SubscriptionFactory(plan=gold, ends_at=timezone.now() + timedelta(days=2))
    for template in ("subscription_ending", "subscription_ended"):
        email = OutboundEmail(
            to="a@example.com", template=template, context=services._ending_email_context(subscription)
        )
        message = _build_message(email)
        assert "Gold" in message.subject and "/account/subscriptions" in message.body


# --- the admin -------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    client.staff_user = superuser
    return client


def test_the_admin_grants_through_the_service(admin_client, gold):
    user = UserFactory()
    start = timezone.now().strftime("%Y-%m-%d %H:%M:%S")
    response = admin_client.post(
        reverse("admin:accounts_subscription_add"),
        {"user": user.pk, "plan": gold.pk, "starts_at_0": start[:10], "starts_at_1": start[11:], "reason": "press"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    change = Subscription.objects.get(user=user).changes.get()
    assert (change.action, change.staff_user, change.reason) == ("granted", admin_client.staff_user, "press")
    page = admin_client.get(reverse("admin:accounts_user_change", args=[user.pk]))
    assert b"Gold" in page.content  # the user page's inline


def test_the_admin_extends_and_cancels_with_actions(admin_client, gold):
    ends = timezone.now() + timedelta(days=1)
    subscription = SubscriptionFactory(plan=gold, ends_at=ends)
    url = reverse("admin:accounts_subscription_changelist")
    admin_client.post(url, {"action": "extend", "_selected_action": [subscription.pk]})
    subscription.refresh_from_db()
    assert subscription.ends_at == ends + timedelta(days=30)
    asked = admin_client.post(url, {"action": "cancel", "_selected_action": [subscription.pk]})
    assert asked.status_code == 200 and Subscription.objects.get().status == "active"  # asks first
    admin_client.post(url, {"action": "cancel", "_selected_action": [subscription.pk], "confirm": "yes"})
    assert Subscription.objects.get().status == "canceled"
    assert [c.action for c in SubscriptionChange.objects.order_by("id")] == ["extended", "canceled"]
