"""Reads of plans and subscriptions, and the entitlement questions the playback gate asks."""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, QuerySet

from accounts.models import User
from accounts.subscriptions.models import Plan, Subscription
from vod.exceptions import NotFoundError
from vod.permissions import staff_may


def plans_visible_to(user: User | None) -> QuerySet[Plan]:
    """The active plans; staff who may view plans also see the deactivated ones."""
    plans = Plan.objects.all()
    if not staff_may(user, "accounts.view_plan"):
        plans = plans.filter(is_active=True)
    return plans


def plan_by_code(code: str) -> Plan:
    plan = Plan.objects.filter(code=code).first()
    if plan is None:
        raise NotFoundError()
    return plan


def subscriptions_of(*, user: User) -> QuerySet[Subscription]:
    """A user's subscriptions, newest first, each with `access_until` and `grants_access` (now)."""
    entitling = Subscription.objects.entitling().filter(pk=OuterRef("pk"))
    return (
        Subscription.objects.filter(user=user)
        .with_access_until()
        .annotate(grants_access=ExpressionWrapper(Exists(entitling), output_field=BooleanField()))
        .select_related("plan")
    )


def entitling_plan_ids(*, user: User | None, at: datetime | None = None) -> QuerySet:
    """A subquery: the ids of the plans `user` holds an entitling subscription to at `at`."""
    if user is None or not user.is_authenticated:
        return Plan.objects.none().values("pk")
    return Subscription.objects.entitling(at).filter(user=user).values("plan_id")


def held_plan_codes(*, user: User | None) -> set[str]:
    """The codes of the plans `user` holds an entitling subscription to now (one query)."""
    if user is None or not user.is_authenticated:
        return set()
    return set(Subscription.objects.entitling().filter(user=user).values_list("plan__code", flat=True))


def access_end(*, user: User, plan_ids: Iterable[int]) -> tuple[bool, datetime | None]:
    """Whether `user` has access through one of these plans now, and until when (None: open-ended,
    or no access). With several subscriptions the one lasting longest counts."""
    ends = list(
        Subscription.objects.entitling()
        .filter(user=user, plan_id__in=list(plan_ids))
        .values_list("access_until", flat=True)
    )
    if not ends:
        return False, None
    if any(end is None for end in ends):
        return True, None
    return True, max(ends)
