from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import OneTimeCode, OutboundEmail
from accounts.one_time_codes import code_issue
from accounts.tests.factories import UserFactory
from sessions_app.models import DeviceSession
from sessions_app.services import session_start

pytestmark = pytest.mark.django_db


def test_purge_drops_dead_codes_sessions_and_old_sent_emails(capsys):
    # given live and long-dead codes, sessions and emails
    user = UserFactory()
    code_issue(user=user, purpose=OneTimeCode.Purpose.VERIFY_EMAIL)
    dead_code = OneTimeCode.objects.create(
        user=UserFactory(), purpose="verify_email", code_hash="x", expires_at=timezone.now() - timedelta(days=2)
    )
    live = session_start(user=user).session
    old = session_start(user=user).session
    DeviceSession.objects.filter(pk=old.pk).update(revoked_at=timezone.now() - timedelta(days=31))
    sent_long_ago = OutboundEmail.objects.create(
        to=user.email, template="password_changed", status="sent", sent_at=timezone.now() - timedelta(days=31)
    )
    recent = OutboundEmail.objects.create(
        to=user.email, template="password_changed", status="sent", sent_at=timezone.now()
    )
    # when the clean-up command runs
    call_command("purge_expired")
    # then only the dead records are gone
    assert not OneTimeCode.objects.filter(pk=dead_code.pk).exists()
    assert OneTimeCode.objects.filter(user=user).exists()
    assert list(DeviceSession.objects.values_list("pk", flat=True)) == [live.pk]
    assert not OutboundEmail.objects.filter(pk=sent_long_ago.pk).exists()
    assert OutboundEmail.objects.filter(pk=recent.pk).exists()
    assert "sessions_deleted: 1" in capsys.readouterr().out
