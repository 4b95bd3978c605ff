from django.core.management.base import BaseCommand

from accounts.subscriptions.billing import webhook_secret


class Command(BaseCommand):
    help = "Prints the billing inlet's Standard Webhooks secret (BILLING_WEBHOOK_SECRET, or derived from SECRET_KEY)."

    def handle(self, *args, **options):
        self.stdout.write(webhook_secret())
