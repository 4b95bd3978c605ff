"""`manage.py demo` (`make demo`): something to look at within a minute of `make run`.

Creates a staff account, a few viewers, categories and a handful of clips that ffmpeg generates
on the spot (no media in the repository); the worker of `make run` transcodes them. Running it
again adds only what is missing. Development only: it refuses to run with VOD_ENV=production.
"""

import secrets
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import services as account_services
from accounts.selectors import user_by_login
from videos.catalog.services import video_update
from videos.models import Category, Video
from videos.uploads.services import video_create_with_source

STAFF = ("admin", "admin@example.com")
VIEWERS = [("ada", "ada@example.com"), ("grace", "grace@example.com"), ("alan", "alan@example.com")]
CATEGORIES = {"test-patterns": "Test patterns", "mathematics": "Mathematics", "simulations": "Simulations"}


@dataclass(frozen=True)
class Clip:
    title: str
    owner: str
    category: str
    source: str  # an ffmpeg lavfi video source
    tone_hz: int
    tags: tuple[str, ...] = ()
    visibility: str = Video.Visibility.PUBLIC
    featured: bool = False


CLIPS = [
    Clip("Colour bars in HD", "ada", "test-patterns", "smptehdbars=size=1280x720:rate=24", 1000, featured=True),
    Clip("A moving test card", "ada", "test-patterns", "testsrc2=size=640x360:rate=24", 440, ("testcard",)),
    Clip("Into the Mandelbrot set", "grace", "mathematics", "mandelbrot=size=640x360:rate=24", 330, ("fractal",)),
    Clip("Game of Life", "grace", "simulations", "life=size=640x360:rate=24:mold=10:ratio=0.3", 550, ("cellular",)),
    Clip(
        "Rule 110 (unlisted)", "ada", "simulations", "cellauto=size=640x360:rate=24:rule=110", 660,
        ("cellular",), visibility=Video.Visibility.UNLISTED,
    ),
]  # fmt: skip


def _password() -> str:
    return f"demo-{secrets.token_urlsafe(12)}"


def _render(clip: Clip, path: Path, seconds: int) -> None:
    """A short H.264 + AAC clip from ffmpeg's generated sources."""
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", clip.source,
            "-f", "lavfi", "-i", f"sine=frequency={clip.tone_hz}:sample_rate=48000",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
            str(path),
        ],
        check=True,
        timeout=120,
    )  # fmt: skip


class Command(BaseCommand):
    help = "Creates demo accounts, categories and generated clips for the worker to transcode (development only)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--clips", type=int, default=len(CLIPS), help=f"How many clips (1-{len(CLIPS)}).")
        parser.add_argument("--seconds", type=int, default=10, help="Length of each clip.")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="Where `make run` serves.")
        parser.add_argument(
            "--reset-passwords", action="store_true", help="New passwords for demo accounts that already exist."
        )

    def handle(self, *args, clips: int, seconds: int, base_url: str, reset_passwords: bool, **options) -> None:
        if settings.PRODUCTION:
            raise CommandError("The demo data is for development; it is not created with VOD_ENV=production.")
        if not 1 <= clips <= len(CLIPS) or not 1 <= seconds <= 60:
            raise CommandError(f"--clips takes 1 to {len(CLIPS)}, --seconds 1 to 60.")
        credentials = [
            self._account(username, email, staff=username == STAFF[0], reset_password=reset_passwords)
            for username, email in [STAFF, *VIEWERS]
        ]
        categories = {slug: Category.objects.get_or_create(slug=slug, defaults={"name": name})[0]
                      for slug, name in CATEGORIES.items()}  # fmt: skip
        added = self._clips(CLIPS[:clips], categories, seconds)
        self._report(credentials, added, base_url.rstrip("/"))

    def _account(self, username: str, email: str, *, staff: bool, reset_password: bool) -> tuple[str, str, str | None]:
        user = user_by_login(username)
        if user is None:
            password = _password()
            user = account_services.user_create_by_staff(by=None, email=email, username=username, password=password)
            if staff:  # the operator running the command makes it staff; the admin shows it everything
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser", "updated_at"])
        elif reset_password:
            password = _password()
            account_services.password_set_by_staff(user=user, password=password)
        else:
            password = None
        return username, email, password

    def _clips(self, clips: list[Clip], categories: dict, seconds: int) -> int:
        added = 0
        with tempfile.TemporaryDirectory(prefix="vod-demo-") as folder:
            for clip in clips:
                owner = user_by_login(clip.owner)
                assert owner is not None  # _accounts() made every clip's owner
                if Video.objects.filter(owner=owner, title=clip.title).exists():
                    continue
                path = Path(folder) / f"{added}.mp4"
                _render(clip, path, seconds)
                with open(path, "rb") as source:
                    video = video_create_with_source(
                        owner=owner,
                        source=source,
                        size=path.stat().st_size,
                        title=clip.title,
                        description=f"Generated by ffmpeg ({clip.source.split('=')[0]}) for the demo.",
                        tags=list(clip.tags),
                        category=categories[clip.category],
                        visibility=clip.visibility,
                    )
                if clip.featured:
                    video_update(video=video, is_featured=True)
                added += 1
        return added

    def _report(self, credentials, added: int, base_url: str) -> None:
        out = self.stdout.write
        out(self.style.SUCCESS(f"Demo data ready: {added} new clip(s) queued for transcoding."))
        out("Accounts (sign in with the username or the email):")
        for username, email, password in credentials:
            role = "staff, superuser" if username == STAFF[0] else "viewer"
            shown = password or "(password unchanged; --reset-passwords sets new ones)"
            out(f"  {username:<6} {email:<18} {shown}   [{role}]")
        out(f"Admin:    {base_url}/admin/  (as {STAFF[0]})")
        out(f"Catalog:  {base_url}/api/v1/videos  (clips appear once the worker has transcoded them)")
        out(f"API docs: {base_url}/api/docs/")
