"""Writes on plans and subscriptions: staff's plan management, grants, extensions and
cancellations, and the expiry and reminder sweeps. Every change of a subscription writes an
audit row (`SubscriptionChange`) in the same transaction."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from accounts.emails import queue_email
from accounts.models import User
from accounts.subscriptions.errors import PlanCodeTaken, PlanInactive, SubscriptionNotActive
from accounts.subscriptions.models import Plan, Subscription, SubscriptionChange
from vod.exceptions import InvalidInput
from webhooks.events import subscription_event
from webhooks.services import emit

Status = Subscription.Status
Actor = SubscriptionChange.Actor
LIVE = (Status.ACTIVE, Status.PAST_DUE)


# --- plans --------------------------------------------------------------------------------------


@transaction.atomic
def plan_create(*, code: str, name: str, description: str = "", sort_order: int = 0, is_active: bool = True) -> Plan:
    try:
        with transaction.atomic():
            return Plan.objects.create(
                code=code, name=name, description=description, sort_order=sort_order, is_active=is_active
            )
    except IntegrityError:
        raise PlanCodeTaken() from None


@transaction.atomic
def plan_update(*, plan: Plan, **changes) -> Plan:
    """Changes name, description, sort order or active; the code is the plan's stable name and stays."""
    for field, value in changes.items():
        setattr(plan, field, value)
    plan.save(update_fields=[*changes, "updated_at"])
    return plan


@transaction.atomic
def plan_delete(*, plan: Plan) -> bool:
    """Deletes an unused plan; one that subscriptions or videos use (their foreign keys protect it)
    is deactivated instead. True when deleted."""
    try:
        with transaction.atomic():
            plan.delete()
        return True
    except ProtectedError:
        if plan.is_active:
            plan_update(plan=plan, is_active=False)
        return False


# --- subscriptions ------------------------------------------------------------------------------


def snapshot(subscription: Subscription) -> dict:
    """What an audit row records of a subscription's state, before and after."""
    ends_at = subscription.ends_at.isoformat() if subscription.ends_at else None
    return {"status": subscription.status, "plan": subscription.plan.code, "ends_at": ends_at}


def record_change(
    *,
    subscription: Subscription,
    actor: str,
    action: str,
    before: dict,
    staff_user: User | None = None,
    reason: str = "",
    billing_event=None,
) -> SubscriptionChange:
    emit(subscription_event(action, before=before), subscription)
    return SubscriptionChange.objects.create(
        subscription=subscription,
        actor=actor,
        staff_user=staff_user,
        action=action,
        reason=reason[:500],
        before=before,
        after=snapshot(subscription),
        billing_event=billing_event,
    )


def _check_period(starts_at: datetime, ends_at: datetime | None) -> None:
    if ends_at is not None and ends_at <= starts_at:
        raise InvalidInput({"ends_at": ["The end must be later than the start."]})


@transaction.atomic
def subscription_grant(
    *,
    user: User,
    plan: Plan,
    staff_user: User | None,
    ends_at: datetime | None = None,
    starts_at: datetime | None = None,
    source: str = Subscription.Source.STAFF,
    reason: str = "",
) -> Subscription:
    """A staff or promo grant: a new, non-renewing subscription (users may hold several)."""
    if not plan.is_active:
        raise PlanInactive()
    starts_at = starts_at or timezone.now()
    _check_period(starts_at, ends_at)
    subscription = Subscription.objects.create(
        user=user, plan=plan, starts_at=starts_at, ends_at=ends_at, source=source, renews=False
    )
    record_change(
        subscription=subscription, actor=Actor.STAFF, staff_user=staff_user, action="granted", before={}, reason=reason
    )
    return subscription


def _locked(subscription: Subscription) -> Subscription:
    return Subscription.objects.select_for_update().select_related("plan").get(pk=subscription.pk)


@transaction.atomic
def subscription_extend(
    *, subscription: Subscription, ends_at: datetime | None, staff_user: User | None, reason: str = ""
) -> Subscription:
    """Moves the end (null: open-ended) of a live subscription; a past-due one becomes active again.
    The ending-soon reminder is due again for the new end."""
    subscription = _locked(subscription)
    if subscription.status not in LIVE:
        raise SubscriptionNotActive()
    _check_period(subscription.starts_at, ends_at)
    before = snapshot(subscription)
    subscription.ends_at, subscription.status, subscription.reminded_at = ends_at, Status.ACTIVE, None
    subscription.save(update_fields=["ends_at", "status", "reminded_at", "updated_at"])
    record_change(
        subscription=subscription,
        actor=Actor.STAFF,
        staff_user=staff_user,
        action="extended",
        before=before,
        reason=reason,
    )
    return subscription


@transaction.atomic
def subscription_cancel(*, subscription: Subscription, staff_user: User | None, reason: str = "") -> Subscription:
    """Revokes at once: new playlist fetches under its tokens are refused from now on."""
    subscription = _locked(subscription)
    if subscription.status not in LIVE:
        raise SubscriptionNotActive()
    before = snapshot(subscription)
    subscription.status, subscription.renews = Status.CANCELED, False
    subscription.save(update_fields=["status", "renews", "updated_at"])
    record_change(
        subscription=subscription,
        actor=Actor.STAFF,
        staff_user=staff_user,
        action="canceled",
        before=before,
        reason=reason,
    )
    return subscription


# --- expiry and reminders (beat) ---------------------------------------------------------------


def _ending_email_context(subscription: Subscription) -> dict:
    return {
        "name": subscription.user.get_full_name(),
        "plan": subscription.plan.name,
        "ends_at": subscription.ends_at.strftime("%Y-%m-%d %H:%M UTC"),
    }


def subscriptions_expire(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Moves live subscriptions past their end (plus grace when past due) to `expired`, a batch per
    transaction; rows another sweep holds are skipped, so two sweeps never expire one twice. The
    user of a non-renewing one is told it ended. Returns how many expired."""
    now = now or timezone.now()
    batch_size = batch_size or settings.SUBSCRIPTION_EXPIRY_BATCH
    expired = 0
    while True:
        with transaction.atomic():
            batch = list(
                Subscription.objects.with_access_until()
                .filter(status__in=LIVE, access_until__lte=now)
                .select_related("user", "plan")
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("pk")[:batch_size]
            )
            for subscription in batch:
                before = snapshot(subscription)
                subscription.status = Status.EXPIRED
                subscription.save(update_fields=["status", "updated_at"])
                record_change(subscription=subscription, actor=Actor.SYSTEM, action="expired", before=before)
                if not subscription.renews:
                    queue_email(
                        to=subscription.user.email,
                        template="subscription_ended",
                        context=_ending_email_context(subscription),
                    )
        expired += len(batch)
        if len(batch) < batch_size:
            return expired


def subscriptions_remind(*, now: datetime | None = None) -> int:
    """Emails once the users of non-renewing subscriptions that end within SUBSCRIPTION_REMINDER_DAYS
    (claimed with a conditional update, so a repeated sweep sends nothing twice)."""
    now = now or timezone.now()
    due = Subscription.objects.filter(
        status=Status.ACTIVE,
        renews=False,
        reminded_at__isnull=True,
        ends_at__gt=now,
        ends_at__lte=now + timedelta(days=settings.SUBSCRIPTION_REMINDER_DAYS),
    )
    sent = 0
    for subscription in due.select_related("user", "plan").order_by("pk")[: settings.SUBSCRIPTION_EXPIRY_BATCH]:
        with transaction.atomic():
            claimed = Subscription.objects.filter(pk=subscription.pk, reminded_at__isnull=True).update(reminded_at=now)
            if claimed:
                queue_email(
                    to=subscription.user.email,
                    template="subscription_ending",
                    context=_ending_email_context(subscription),
                )
                sent += claimed
    return sent
