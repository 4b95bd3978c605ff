"""`manage.py demo`: accounts, categories and generated clips the worker transcodes; idempotent;
never in production."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from videos.models import Category, Video
from videos.tests.test_transcoding import settled


def demo(**options) -> str:
    out = StringIO()
    call_command("demo", stdout=out, **options)
    return out.getvalue()


@pytest.mark.django_db
def test_refuses_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        demo(clips=1, seconds=1)
    assert not User.objects.exists() and not Video.objects.exists()


@pytest.mark.django_db
def test_refuses_out_of_range_options():
    with pytest.raises(CommandError):
        demo(clips=0)
    assert not User.objects.exists()


def test_creates_accounts_and_clips_the_worker_transcodes_and_a_rerun_adds_nothing(celery_worker):
    # when
    first = demo(clips=2, seconds=1)
    # then: a staff account for the admin, verified viewers, their passwords printed once
    staff = User.objects.get(username="admin")
    assert staff.is_staff and staff.is_superuser and staff.is_verified
    viewers = User.objects.filter(is_staff=False)
    assert viewers.count() >= 3 and all(viewer.is_verified for viewer in viewers)
    password = next(line for line in first.splitlines() if line.strip().startswith("admin")).split()[2]
    assert staff.check_password(password)
    assert Category.objects.count() == 3
    videos = list(Video.objects.all())
    assert len(videos) == 2
    for video in videos:
        assert settled(video.pk).status == Video.Status.READY
    assert Video.objects.filter(is_featured=True).count() == 1

    # when run again
    again = demo(clips=2, seconds=1)
    # then nothing is added and no password changes
    assert Video.objects.count() == 2 and User.objects.count() == 4 and Category.objects.count() == 3
    assert "unchanged" in again and password not in again
    staff.refresh_from_db()
    assert staff.check_password(password)
