"""`manage.py reencrypt_secrets`: the last step of rotating SECRET_KEY (or a purpose's own key)."""

from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError
from django.db import models

from sessions_app import totp
from sessions_app.models import TOTPDevice
from webhooks import signing
from webhooks.models import WebhookEndpoint

# Every secret stored encrypted at rest: the model, its encrypted fields, and how to re-encrypt one.
SEALED: list[tuple[type[models.Model], list[str], Callable[[str], str | None]]] = [
    (TOTPDevice, ["encrypted_secret"], totp.secret_reencrypt),
    (WebhookEndpoint, ["encrypted_secret", "encrypted_previous_secret"], signing.reseal),
]


class Command(BaseCommand):
    help = (
        "Encrypts every secret stored at rest (two-factor secrets, webhook endpoint secrets) again with the key "
        "in use, so that the old SECRET_KEY can leave SECRET_KEY_FALLBACKS without making them unreadable."
    )

    def handle(self, *args, **options) -> None:
        unreadable = 0
        for model, fields, reencrypt in SEALED:
            rewritten = 0
            rows = model._default_manager
            for row in rows.only("pk", *fields).iterator():
                old = {field: getattr(row, field) for field in fields if getattr(row, field)}
                new = {field: reencrypt(value) for field, value in old.items()}
                unreadable += sum(value is None for value in new.values())
                changes = {field: value for field, value in new.items() if value is not None}
                # Conditional on the values read: a secret changed meanwhile (a new enrolment) is left as it is.
                if changes and rows.filter(pk=row.pk, **{f: old[f] for f in changes}).update(**changes):
                    rewritten += 1
            self.stdout.write(f"{model._meta.verbose_name_plural}: {rewritten} encrypted with the key in use")
        if unreadable:
            raise CommandError(
                f"{unreadable} secrets no key in use can read: put the key they were encrypted with back in "
                "SECRET_KEY_FALLBACKS (or the purpose's own variable) and run this again."
            )
