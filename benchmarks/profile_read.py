"""Where a read request spends its CPU time, in-process (Django's test client, production settings,
the bench's seeded catalog): per endpoint, CPU microseconds per request and the SQL count, and
with PROFILE=1 cProfile's top functions.

    scripts/with_services.py -- python -m benchmarks.profile_read

Environment: PROFILE_VIDEOS (10000: seeded with bench-api's seed on a fresh database), PROFILE_REQUESTS
(300 per endpoint), PROFILE (0), PROFILE_ONLY (a name).
"""

import cProfile
import os
import pstats
import sys
import time
from typing import Any

from benchmarks.common import ensure_bucket, setup_django

REQUESTS = int(os.environ.get("PROFILE_REQUESTS", 300))
VIDEOS = int(os.environ.get("PROFILE_VIDEOS", 10_000))


def main() -> None:
    os.environ.setdefault("JWT_ACCESS_MINUTES", "120")
    setup_django()
    ensure_bucket()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from benchmarks.api import WORD, cast, seed, signed_in
    from videos.models import Video

    if not User.objects.filter(username="bench-subscriber").exists():
        seed(cast(), 0, VIDEOS)
    detail = Video.objects.catalog().order_by("pk").values_list("pk", flat=True)[5]
    token = signed_in(User.objects.get(username="bench-subscriber"))["Authorization"]
    subscriber: dict[str, Any] = {"HTTP_AUTHORIZATION": token}
    paths: dict[str, tuple[str, dict[str, Any]]] = {
        "ping": ("/bench/ping", {}),
        "health/live": ("/health/live", {}),
        "list": ("/api/v1/videos", {}),
        "list (signed in)": ("/api/v1/videos", subscriber),
        f"search {WORD}": (f"/api/v1/videos?q={WORD}", {}),
        "detail": (f"/api/v1/videos/{detail}", {}),
        "detail (signed in)": (f"/api/v1/videos/{detail}", subscriber),
    }
    only = os.environ.get("PROFILE_ONLY")
    client = Client(HTTP_HOST="127.0.0.1")
    print(f"load average {os.getloadavg()[0]:.2f}; {REQUESTS} requests per endpoint")
    print(f"{'endpoint':<22} {'cpu us':>8} {'wall us':>8} {'SQL':>4}")
    for name, (path, extra) in paths.items():
        if only and only != name:
            continue
        for _ in range(20):
            assert client.get(path, **extra).status_code == 200, path
        with CaptureQueriesContext(connection) as queries:
            client.get(path, **extra)
        sql = len(queries)
        profiler = cProfile.Profile(time.process_time) if os.environ.get("PROFILE") == "1" else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for _ in range(REQUESTS):
            client.get(path, **extra)
        if profiler:
            profiler.disable()
        cpu, wall = (time.process_time() - cpu) / REQUESTS, (time.perf_counter() - wall) / REQUESTS
        print(f"{name:<22} {cpu * 1e6:>8.0f} {wall * 1e6:>8.0f} {sql:>4}", flush=True)
        if profiler:
            stats = pstats.Stats(profiler, stream=sys.stdout)
            stats.sort_stats("cumulative").print_stats(int(os.environ.get("PROFILE_LINES", 60)))


if __name__ == "__main__":
    main()
