"""How fast the catalog API answers under gunicorn with production settings on 10,000 videos, next to a plain
Django view (the ceiling on this stack), with the SQL queries each endpoint makes.

    make bench-api    # = scripts/with_services.py -- python -m benchmarks.api

Environment: BENCH_VIDEOS (10000), BENCH_USERS (2000), BENCH_DURATION (seconds per run, 5), BENCH_ROUNDS (3; the
endpoints take turns each round and the table shows medians), BENCH_CONNECTIONS (16), BENCH_THREADS (2, wrk),
BENCH_WORKERS (2, gunicorn), BENCH_WORD (music: the search term), BENCH_GATED_SHARE (0.3: the share of videos a plan
gates; the list runs anonymous and as a subscriber to one of the two plans, with `access` computed per viewer),
BENCH_FOLLOWED (500: the channels the `me/feed` reader follows; the reader also owns a public 200-item playlist).
"""

import logging
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import ensure_bucket, gunicorn, request, setup_django

VIDEOS = int(os.environ.get("BENCH_VIDEOS", 10_000))
USERS = int(os.environ.get("BENCH_USERS", 2_000))
DURATION = int(os.environ.get("BENCH_DURATION", 5))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", 16))
THREADS = int(os.environ.get("BENCH_THREADS", 2))
WORKERS = int(os.environ.get("BENCH_WORKERS", 2))
WORD = os.environ.get("BENCH_WORD", "music")
DETAIL_IDS = 50  # the detail run rotates over this many videos
GATED_SHARE = float(os.environ.get("BENCH_GATED_SHARE", 0.3))

TOPICS = ["music", "guitar", "cooking", "travel", "football", "yoga", "history", "science", "gaming", "jazz"]
ADJECTIVES = ["quick", "easy", "live", "classic", "advanced", "beginner", "relaxing", "epic", "daily", "weekend"]
FORMATS = ["tutorial", "session", "review", "highlights", "lesson", "vlog", "documentary", "tips", "interview"]
FILLER = ["with", "and", "the", "for", "from", "a", "in", "of", "at", "my", "our", "best", "new", "full", "part"]
TAGS = [*TOPICS, "4k", "hd", "kids", "remix", "podcast", "shorts", "howto", "asmr", "diy", "retro", "indie"]


def seed() -> None:
    """Bulk rows, then every search vector in one UPDATE, weighted like
    videos.catalog.services._refresh_search_vector."""
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from videos.models import Category, Tag, Video

    rng = random.Random(42)  # noqa: S311 (test data)
    unusable = make_password(None)  # nobody signs in as these owners
    users = User.objects.bulk_create(
        User(email=f"bench{i}@example.com", username=f"bench{i}", password=unusable, is_verified=True)
        for i in range(USERS)
    )
    categories = Category.objects.bulk_create(Category(name=name.title(), slug=name) for name in TOPICS[:6])
    tags = Tag.objects.bulk_create(Tag(name=name) for name in TAGS)
    now = timezone.now()
    videos = [
        Video(
            owner=rng.choice(users),
            title=f"{rng.choice(ADJECTIVES).title()} {rng.choice(TOPICS)} {rng.choice(FORMATS)} {i}",
            description=" ".join(rng.choices(TOPICS + ADJECTIVES + FORMATS + FILLER, k=30)),
            category=rng.choice([*categories, None]),
            status=Video.Status.READY,
            visibility=Video.Visibility.PUBLIC,
            published_at=now - timedelta(seconds=rng.randrange(2 * 365 * 86400)),
            view_count=int(rng.paretovariate(1.2) * 10),
            duration=rng.uniform(30, 3600),
            width=1920,
            height=1080,
        )
        for i in range(VIDEOS)
    ]
    Video.objects.bulk_create(videos, batch_size=2000)
    Video.tags.through.objects.bulk_create(
        (
            Video.tags.through(video_id=video.pk, tag_id=tag.pk)
            for video in videos
            for tag in rng.sample(tags, rng.randint(1, 5))
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE videos_video AS v SET search_vector =
                setweight(to_tsvector(%(config)s::regconfig, v.title), 'A')
                || setweight(to_tsvector(%(config)s::regconfig, coalesce(t.names, '')), 'B')
                || setweight(to_tsvector(%(config)s::regconfig, v.description), 'C')
            FROM (
                SELECT vt.video_id, string_agg(tag.name, ' ') AS names
                FROM videos_video_tags AS vt JOIN videos_tag AS tag ON tag.id = vt.tag_id
                GROUP BY vt.video_id
            ) AS t
            WHERE t.video_id = v.id
            """,
            {"config": settings.VIDEO_SEARCH_CONFIG},
        )
        cursor.execute("VACUUM ANALYZE")


def gate_and_subscribe() -> str:
    """Gates a share of the videos behind two plans (once), and returns the bearer token of a
    subscriber to one of them, signed in through a real device session."""
    from accounts.models import User
    from accounts.subscriptions.models import Plan, Subscription
    from sessions_app.services import session_start
    from videos.models import Video, VideoPlan

    gold, _ = Plan.objects.get_or_create(code="gold", defaults={"name": "Gold"})
    silver, _ = Plan.objects.get_or_create(code="silver", defaults={"name": "Silver"})
    if not VideoPlan.objects.exists():
        pks = list(Video.objects.catalog().order_by("pk").values_list("pk", flat=True))
        gated = pks[2 :: max(1, round(1 / GATED_SHARE))] if GATED_SHARE else []  # the first two stay free
        VideoPlan.objects.bulk_create(
            (VideoPlan(video_id=pk, plan=gold if n % 2 else silver) for n, pk in enumerate(gated)), batch_size=5000
        )
    viewer, created = User.objects.get_or_create(
        email="bench-subscriber@example.com", defaults={"username": "bench-subscriber", "is_verified": True}
    )
    if created:
        Subscription.objects.create(user=viewer, plan=gold, source=Subscription.Source.STAFF)
    return session_start(user=viewer, user_agent="bench", ip_address="127.0.0.1").tokens.access


FOLLOWED = int(os.environ.get("BENCH_FOLLOWED", 500))  # channels the feed's reader follows
PLAYLIST_ITEMS = 200


def library_reader() -> tuple[str, str]:
    """A reader following FOLLOWED of the seeded channels, with a public PLAYLIST_ITEMS-item
    playlist (once); returns their bearer token and the playlist's id."""
    from accounts.models import User
    from sessions_app.services import session_start
    from videos.models import Follow, Playlist, PlaylistItem, Video

    reader, _ = User.objects.get_or_create(
        email="bench-reader@example.com", defaults={"username": "bench-reader", "is_verified": True}
    )
    if not Follow.objects.filter(follower=reader).exists():
        channels = User.objects.filter(username__startswith="bench").exclude(pk=reader.pk).order_by("pk")
        Follow.objects.bulk_create(Follow(follower=reader, channel=channel) for channel in channels[:FOLLOWED])
    playlist = Playlist.objects.filter(owner=reader, kind=Playlist.Kind.REGULAR).first()
    if playlist is None:
        playlist = Playlist.objects.create(
            owner=reader, title="Bench", visibility=Playlist.Visibility.PUBLIC, item_count=PLAYLIST_ITEMS
        )
        videos = Video.objects.catalog().order_by("?").values_list("pk", flat=True)[:PLAYLIST_ITEMS]
        PlaylistItem.objects.bulk_create(
            PlaylistItem(playlist=playlist, video_id=pk, position=n) for n, pk in enumerate(videos, start=1)
        )
    return session_start(user=reader, user_agent="bench", ip_address="127.0.0.1").tokens.access, str(playlist.pk)


PLAYLIST_SEGMENTS = 450  # a 30-minute rendition in 4 s segments


def publish_hls(video, *, visibility: str) -> str:
    """Gives a seeded video a published HLS version (playlists only, in the real storage) and
    returns the prefix; the private playlist run measures the per-segment URL rewrite."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from videos.models import Rendition, Video

    prefix = f"{video.storage_prefix}hls/bench-1/"
    master = '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=985600,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"\n'
    variant = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:4", "#EXT-X-PLAYLIST-TYPE:VOD"]
    variant += ['#EXT-X-MAP:URI="init_0.mp4"']
    for n in range(PLAYLIST_SEGMENTS):
        variant += ["#EXTINF:4.000000,", f"seg_{n:05d}.m4s"]
    files = {"master.m3u8": master + "360p/index.m3u8\n", "360p/index.m3u8": "\n".join([*variant, "#EXT-X-ENDLIST"])}
    for name, text in files.items():
        if not default_storage.exists(prefix + name):
            default_storage.save(prefix + name, ContentFile(text.encode()))
    Rendition.objects.get_or_create(
        video=video,
        name="360p",
        defaults={"width": 640, "height": 360, "bandwidth": 985600, "codecs": "avc1.64001e", "playlist_key": ""},
    )
    Video.objects.filter(pk=video.pk).update(
        visibility=visibility,
        hls_prefix=prefix,
        master_key=prefix + "master.m3u8",
        poster_key=prefix + "poster.jpg",
        storyboard_key=prefix + "storyboard/storyboard.vtt",
    )
    return prefix


def query_counts(paths: dict[str, str], headers: dict[str, dict[str, str]]) -> dict[str, int]:
    """SQL queries per request (anonymous unless `headers` names the run), in-process with Django's
    test client on the same database."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    logging.getLogger("vod.request").setLevel(logging.WARNING)  # one log line per request: not wanted here
    client, counts = Client(HTTP_HOST="127.0.0.1"), {}
    for name, path in paths.items():
        extra: dict[str, Any] = {f"HTTP_{key.upper()}": value for key, value in headers.get(name, {}).items()}
        client.get(path, **extra)  # first request: imports, connection, content types
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path, **extra)
        if response.status_code != 200:
            sys.exit(f"{path} answered {response.status_code}: {response.content[:300]!r}")
        counts[name] = len(queries)
    connection.close()
    return counts


def wrk(url: str, seconds: int, script: str | None = None, headers: dict[str, str] | None = None) -> dict:
    """One wrk run: requests/s, p50 and p99 in ms, non-2xx answers and socket errors (timeouts count)."""
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout", "10s", url]
    for key, value in (headers or {}).items():
        command += ["-H", f"{key}: {value}"]
    out = subprocess.run(
        [*command, *(["-s", script] if script else [])],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout

    def found(pattern: str) -> re.Match:
        match = re.search(pattern, out, re.M)
        if match is None:
            raise RuntimeError(f"wrk printed no {pattern!r}:\n{out}")
        return match

    def latency(percent: int) -> float:
        value, unit = found(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m)\s*$").groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000}[unit]

    socket_errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", out) or [0, 0])[1])
    rps = float(found(r"Requests/sec:\s+([\d.]+)")[1])
    return {"rps": rps, "p50": latency(50), "p99": latency(99), "non_2xx": non_2xx, "socket_errors": socket_errors}


def report(runs: dict[str, list[dict]], queries: dict[str, int]) -> None:
    """Medians over the rounds, each endpoint against the ping ceiling."""
    print(
        f"\ngunicorn {WORKERS} sync workers, production settings; wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION}s x "
        f"{ROUNDS} rounds, medians (req/s range over rounds); {os.cpu_count()} CPUs shared by wrk, gunicorn, PostgreSQL"
    )
    header = f"{'endpoint':<26} {'req/s':>8} {'range':>11} {'p50 ms':>7} {'p99 ms':>7} {'vs ping':>7} {'SQL':>4}"
    print(f"{header} {'non-2xx':>7} {'sock err':>8}\n{'-' * (len(header) + 17)}")
    ceiling = statistics.median(run["rps"] for run in runs["ping (ceiling)"]) or float("nan")
    for name, results in runs.items():
        rps, p50, p99 = (statistics.median(r[key] for r in results) for key in ("rps", "p50", "p99"))
        spread = f"{min(r['rps'] for r in results):.0f}-{max(r['rps'] for r in results):.0f}"
        non_2xx, socket_errors = (sum(r[key] for r in results) for key in ("non_2xx", "socket_errors"))
        print(
            f"{name:<26} {rps:>8.1f} {spread:>11} {p50:>7.1f} {p99:>7.1f} {rps / ceiling:>6.2f}x {queries[name]:>4} "
            f"{non_2xx:>7} {socket_errors:>8}"
        )


def main() -> None:
    started = time.monotonic()
    print(f"load average before: {os.getloadavg()[0]:.2f} (other work on these CPUs skews every figure)")
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk (make bench-api installs it when run as root)")
    os.environ.setdefault("JWT_ACCESS_MINUTES", "120")  # the subscriber's token outlives the whole run
    setup_django()
    ensure_bucket()
    from videos.catalog.selectors import catalog_search
    from videos.models import Video

    if Video.objects.catalog().count() < VIDEOS:
        t0 = time.monotonic()
        seed()
        print(f"seeded {VIDEOS} videos, {USERS} users in {time.monotonic() - t0:.1f}s", flush=True)
    ids = [str(pk) for pk in Video.objects.catalog().order_by("?").values_list("pk", flat=True)[:DETAIL_IDS]]
    matches = catalog_search(query=WORD).count()
    print(f"search {WORD!r} matches {matches} of {Video.objects.catalog().count()} public videos", flush=True)
    if not matches:
        sys.exit("the search term matches nothing")

    from videos.playback.signing import issue_token

    public_video, private_video = Video.objects.catalog().order_by("pk")[:2]
    publish_hls(public_video, visibility=Video.Visibility.PUBLIC)
    publish_hls(private_video, visibility=Video.Visibility.PRIVATE)
    token, _ = issue_token(video=private_video, user=private_video.owner)
    ids = [pk for pk in ids if pk != str(private_video.pk)]
    subscriber = {"Authorization": f"Bearer {gate_and_subscribe()}"}
    reader_token, bench_playlist = library_reader()
    reader = {"Authorization": f"Bearer {reader_token}"}
    paths = {
        "ping (ceiling)": "/bench/ping",
        "videos list": "/api/v1/videos",
        "videos list (subscriber)": "/api/v1/videos",
        f"videos ?q={WORD}": f"/api/v1/videos?q={WORD}",
        "video detail": f"/api/v1/videos/{ids[0]}",
        "playback (public)": f"/api/v1/videos/{public_video.pk}/playback",
        f"private playlist ({PLAYLIST_SEGMENTS} seg)": f"/api/v1/playback/{token}/360p/index.m3u8",
        f"me/feed ({FOLLOWED} channels)": "/api/v1/me/feed",
        f"playlist items ({PLAYLIST_ITEMS}, page of 100)": f"/api/v1/playlists/{bench_playlist}/items?limit=100",
        "health/live": "/health/live",
    }
    headers = {"videos list (subscriber)": subscriber, f"me/feed ({FOLLOWED} channels)": reader}
    queries = query_counts(paths, headers)

    work = Path(tempfile.mkdtemp(prefix="vod-bench-api-"))
    try:
        script = work / "detail.lua"  # the detail run rotates over DETAIL_IDS videos
        script.write_text(
            "local paths = {" + ", ".join(f'"/api/v1/videos/{pk}"' for pk in ids) + "}\nlocal i = 0\n"
            "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n"
        )
        scripts = {"video detail": str(script)}
        with gunicorn(["--workers", str(WORKERS), "--worker-class", "sync"], work / "gunicorn.log") as (_, port):
            base = f"http://127.0.0.1:{port}"
            for name, path in paths.items():  # warm-up: connections, caches, first-request work
                wrk(base + path, 1, scripts.get(name), headers.get(name))
            runs: dict[str, list[dict]] = {name: [] for name in paths}
            for _ in range(ROUNDS):  # the endpoints take turns, so a disturbance hits them alike
                for name, path in paths.items():
                    runs[name].append(wrk(base + path, DURATION, scripts.get(name), headers.get(name)))
            for name, path in paths.items():
                if any(r["non_2xx"] for r in runs[name]):
                    print(f"{name}: a GET now answers {request(port, 'GET', path)}"[:300])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    report(runs, queries)
    print(f"\ntotal {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
