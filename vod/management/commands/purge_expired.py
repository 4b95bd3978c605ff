from django.core.management.base import BaseCommand

from accounts.tasks import purge_expired
from sessions_app.tasks import purge_expired_sessions


class Command(BaseCommand):
    help = (
        "Deletes expired one-time codes and old sessions, and re-sends stuck outbox emails: each app's clean-up task, "
        "which beat runs hourly."
    )

    def handle(self, *args, **options) -> None:
        for name, count in {**purge_expired(), **purge_expired_sessions()}.items():
            self.stdout.write(f"{name}: {count}")
