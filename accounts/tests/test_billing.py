"""The billing inlet with events signed by the real `standardwebhooks` library: applied once per
webhook-id, never rolled back by older events, and refused (changing nothing) when the signature,
timestamp, user or plan is wrong."""

from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from accounts.subscriptions.billing import webhook_secret
from accounts.subscriptions.models import BillingEvent, Subscription, SubscriptionChange
from accounts.tests.factories import PlanFactory, UserFactory
from testing.billing import billing_event, post_signed

pytestmark = pytest.mark.django_db


def now():
    return datetime.now(tz=UTC).replace(microsecond=0)


@pytest.fixture
def gold():
    return PlanFactory(code="gold", name="Gold")


@pytest.fixture
def buyer():
    return UserFactory(email="buyer@example.com")


def event(type_, buyer, *, at=None, period_end=None, external_id="sub_1", plan="gold", **extra):
    at = at or now()
    period_end = period_end if period_end is not None else at + timedelta(days=30)
    return billing_event(
        type_,
        occurred_at=at,
        user=str(buyer.pk),
        plan=plan,
        external_id=external_id,
        period_end=period_end.isoformat(),
        **extra,
    )


def assert_refused(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert response.json()["request_id"]


def nothing_stored():
    return not (Subscription.objects.exists() or BillingEvent.objects.exists() or SubscriptionChange.objects.exists())


def test_an_activation_creates_a_renewing_billing_subscription_with_its_audit_row(api_client, gold, buyer):
    end = now() + timedelta(days=30)
    response = post_signed(api_client, event("subscription.activated", buyer, period_end=end), webhook_id="msg_a")
    assert response.status_code == 200, response.content
    assert response.json()["result"] == "applied"
    subscription = Subscription.objects.get()
    assert (subscription.user, subscription.plan, subscription.status) == (buyer, gold, "active")
    assert (subscription.source, subscription.external_ref, subscription.renews) == ("billing", "sub_1", True)
    assert subscription.ends_at == end
    change = subscription.changes.get()
    assert (change.actor, change.action, change.billing_event.webhook_id) == ("billing", "activated", "msg_a")
    assert BillingEvent.objects.get().payload["data"]["external_id"] == "sub_1"


def test_the_user_may_be_named_by_email(api_client, gold, buyer):
    body = billing_event(
        "subscription.activated",
        occurred_at=now(),
        user="BUYER@example.com",
        plan="gold",
        external_id="s",
        period_end=(now() + timedelta(days=1)).isoformat(),
    )
    assert post_signed(api_client, body).status_code == 200
    assert Subscription.objects.get().user == buyer


def test_a_replayed_event_is_answered_from_the_store_and_changes_nothing(api_client, gold, buyer):
    # given an event applied, then the subscription renewed
    first = event("subscription.activated", buyer, at=now() - timedelta(minutes=2))
    assert post_signed(api_client, first, webhook_id="msg_1").status_code == 200
    renewed_end = now() + timedelta(days=60)
    assert post_signed(api_client, event("subscription.renewed", buyer, period_end=renewed_end)).status_code == 200
    # when the first is delivered again (same webhook-id, new signature and timestamp)
    again = post_signed(api_client, first, webhook_id="msg_1")
    # then it answers what it did the first time and the state stays
    assert again.status_code == 200 and again.json()["result"] == "applied"
    assert Subscription.objects.get().ends_at == renewed_end
    assert BillingEvent.objects.count() == 2 and SubscriptionChange.objects.count() == 2


def test_an_older_event_arriving_late_does_not_roll_the_state_back(api_client, gold, buyer):
    # given a cancellation at t2 applied first
    t1, t2 = now() - timedelta(minutes=3), now() - timedelta(minutes=1)
    assert post_signed(api_client, event("subscription.canceled", buyer, at=t2)).status_code == 200
    # when the activation of t1 arrives afterwards
    late = post_signed(api_client, event("subscription.activated", buyer, at=t1))
    # then it is stored as stale and the subscription stays canceled
    assert late.status_code == 200 and late.json()["result"] == "stale"
    subscription = Subscription.objects.get()
    assert subscription.status == "canceled" and subscription.billing_event_at == t2
    assert subscription.changes.count() == 1
    assert BillingEvent.objects.filter(result="stale").count() == 1


def test_past_due_then_renewed_in_order_moves_the_state_forward(api_client, gold, buyer):
    t = now() - timedelta(minutes=4)
    for offset, kind in enumerate(["activated", "past_due", "renewed"]):
        response = post_signed(api_client, event(f"subscription.{kind}", buyer, at=t + timedelta(minutes=offset)))
        assert response.json()["result"] == "applied"
    assert Subscription.objects.get().status == "active"
    assert [c.action for c in SubscriptionChange.objects.order_by("id")] == ["activated", "past_due", "renewed"]


def test_a_tampered_body_is_refused(api_client, gold, buyer):
    body = event("subscription.activated", buyer)
    webhook_id, sent = "msg_t", now()
    signature = Webhook(webhook_secret()).sign(webhook_id, sent, body)
    response = api_client.generic(
        "POST",
        "/api/v1/billing/events",
        body.replace("sub_1", "sub_2"),
        content_type="application/json",
        HTTP_WEBHOOK_ID=webhook_id,
        HTTP_WEBHOOK_TIMESTAMP=str(int(sent.timestamp())),
        HTTP_WEBHOOK_SIGNATURE=signature,
    )
    assert_refused(response, 401, "webhook_verification_failed")
    assert nothing_stored()


@pytest.mark.parametrize("skew", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_a_timestamp_outside_five_minutes_is_refused(api_client, gold, buyer, skew):
    response = post_signed(api_client, event("subscription.activated", buyer), sent_at=now() + skew)
    assert_refused(response, 401, "webhook_verification_failed")
    assert nothing_stored()


def test_a_timestamp_inside_five_minutes_is_accepted(api_client, gold, buyer):
    response = post_signed(api_client, event("subscription.activated", buyer), sent_at=now() - timedelta(minutes=4))
    assert response.status_code == 200


def test_another_secret_and_missing_or_garbled_headers_are_refused(api_client, gold, buyer):
    body = event("subscription.activated", buyer)
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    assert_refused(post_signed(api_client, body, secret=other), 401, "webhook_verification_failed")
    bare = api_client.generic("POST", "/api/v1/billing/events", body, content_type="application/json")
    assert_refused(bare, 401, "webhook_verification_failed")
    garbled = api_client.generic(
        "POST",
        "/api/v1/billing/events",
        body,
        content_type="application/json",
        HTTP_WEBHOOK_ID="x",
        HTTP_WEBHOOK_TIMESTAMP=str(int(now().timestamp())),
        HTTP_WEBHOOK_SIGNATURE="v1no-comma",
    )
    assert_refused(garbled, 401, "webhook_verification_failed")
    assert nothing_stored()


@pytest.mark.parametrize("field", ["user", "plan"])
def test_an_unknown_user_or_plan_is_refused_and_changes_nothing(api_client, gold, buyer, field):
    values = {"user": str(UserFactory.build().pk), "plan": "platinum"}
    body = billing_event(
        "subscription.activated",
        occurred_at=now(),
        external_id="s1",
        period_end=now().isoformat(),
        **{"user": str(buyer.pk), "plan": "gold", field: values[field]},
    )
    response = post_signed(api_client, body, webhook_id="msg_u")
    assert_refused(response, 422, f"unknown_{field}")
    assert nothing_stored()
    # and once the cause is fixed, the billing system's retry of the same id is applied
    if field == "plan":
        PlanFactory(code="platinum")
        assert post_signed(api_client, body, webhook_id="msg_u").json()["result"] == "applied"


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        '{"type": "subscription.refunded", "timestamp": "2026-01-01T00:00:00Z", "data": {}}',
        '{"type": "subscription.activated", "timestamp": "2026-01-01T00:00:00Z", '
        '"data": {"user": "x", "plan": "gold", "external_id": "e"}}',
        "[]",
    ],
)
def test_a_signed_but_malformed_event_is_a_validation_error(api_client, gold, body):
    response = post_signed(api_client, body)
    assert_refused(response, 400, "validation_error")
    assert nothing_stored()


def test_an_activation_without_a_period_end_or_from_the_future_is_refused(api_client, gold, buyer):
    no_end = billing_event(
        "subscription.activated", occurred_at=now(), user=str(buyer.pk), plan="gold", external_id="e"
    )
    assert_refused(post_signed(api_client, no_end), 400, "validation_error")
    future = event("subscription.activated", buyer, at=now() + timedelta(days=365))
    assert_refused(post_signed(api_client, future), 400, "validation_error")
    assert nothing_stored()


def test_an_event_for_another_users_subscription_is_refused(api_client, gold, buyer):
    post_signed(api_client, event("subscription.activated", buyer, at=now() - timedelta(minutes=1)))
    intruder = UserFactory()
    response = post_signed(api_client, event("subscription.renewed", intruder, period_end=now() + timedelta(days=900)))
    assert_refused(response, 400, "validation_error")
    assert Subscription.objects.get().user == buyer and BillingEvent.objects.count() == 1


def test_a_huge_body_is_refused_before_it_is_read(api_client, gold):
    response = post_signed(api_client, '{"pad": "' + "x" * 70_000 + '"}')
    assert_refused(response, 413, "event_too_large")


def test_without_its_own_setting_the_secret_derives_from_the_secret_key(settings):
    settings.BILLING_WEBHOOK_SECRET = ""
    derived = webhook_secret()
    assert derived.startswith("whsec_") and Webhook(derived)
    settings.SECRET_KEY = "another-secret-key-0123456789-0123456789"
    assert webhook_secret() != derived
    settings.BILLING_WEBHOOK_SECRET = "whsec_c2VjcmV0"
    assert webhook_secret() == "whsec_c2VjcmV0"
