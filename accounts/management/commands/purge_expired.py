from django.core.management.base import BaseCommand

from accounts.tasks import purge_expired


class Command(BaseCommand):
    help = "Deletes expired one-time codes and old sessions, and re-sends stuck outbox emails (beat runs it hourly)."

    def handle(self, *args, **options):
        for name, count in purge_expired().items():
            self.stdout.write(f"{name}: {count}")
