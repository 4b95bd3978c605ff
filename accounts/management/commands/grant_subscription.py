from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.selectors import user_by_login
from accounts.subscriptions.models import Plan
from accounts.subscriptions.services import subscription_grant
from vod.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Grants a user a subscription to a plan, open-ended or for --days days (an audited staff grant)."

    def add_arguments(self, parser):
        parser.add_argument("user", help="Email or username.")
        parser.add_argument("plan", help="Plan code.")
        parser.add_argument("--days", type=int, help="Ends this many days from now; without it: open-ended.")
        parser.add_argument("--reason", default="granted with manage.py grant_subscription")

    def handle(self, *args, user: str, plan: str, days: int | None, reason: str, **options):
        account = user_by_login(user)
        if account is None:
            raise CommandError(f"No user {user!r}.")
        chosen = Plan.objects.filter(code=plan).first()
        if chosen is None:
            raise CommandError(f"No plan {plan!r}.")
        if days is not None and not 1 <= days <= 36_500:
            raise CommandError("--days takes a whole number from 1 to 36500.")
        ends_at = timezone.now() + timedelta(days=days) if days else None
        try:
            subscription = subscription_grant(
                user=account, plan=chosen, ends_at=ends_at, staff_user=None, reason=reason
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        until = subscription.ends_at.isoformat() if subscription.ends_at else "open-ended"
        self.stdout.write(
            self.style.SUCCESS(f"Subscription {subscription.pk}: {chosen.code} for {account.email}, {until}.")
        )
