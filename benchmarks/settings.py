"""The project's settings (production when VOD_ENV=production) with a URL conf that adds the ping ceiling."""

from vod.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
