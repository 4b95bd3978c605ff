"""How fast the catalog API answers under gunicorn with production settings, at 10,000 and at 100,000 videos, next
to a plain Django view (the ceiling on this stack), with the SQL queries and the CPU time each endpoint costs.

    make bench-api    # = scripts/with_services.py -- python -m benchmarks.api

Each hot single URL has a mixed twin beside it: wrk's Lua `request()` cycles over BENCH_MIXED_PAGES generated list
pages (filters, tags, orderings, page sizes) or search terms, so a cache or the planner cannot answer one page only.
The sizes run one after the other on the same database (seeded up to each size, then ANALYZE), each with a fresh
gunicorn and an empty cache; the report compares every endpoint at the largest size with the smallest and ends
with a targets block.

Environment: BENCH_SIZES (10000,100000: videos), BENCH_USERS (2000), BENCH_DURATION (seconds per run, 5),
BENCH_ROUNDS (5; the endpoints take turns each round and the tables show medians), BENCH_CONNECTIONS (16),
BENCH_THREADS (2, wrk), BENCH_WORKERS (2, gunicorn), BENCH_WORD (music: the hot search term), BENCH_MIXED_PAGES
(300: distinct pages per mixed run, at least 200), BENCH_GATED_SHARE (0.3: the share of videos a plan gates; the
list runs anonymous and signed in as a subscriber to one of the two plans, with `access` and `my_rating` computed
per viewer), BENCH_FOLLOWED (500: the channels the `me/feed` reader follows; the reader also owns a public
200-item playlist).
"""

import json
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
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from benchmarks.common import ensure_bucket, gunicorn, request, setup_django, tree_cpu_seconds

SIZES = sorted(int(n) for n in os.environ.get("BENCH_SIZES", "10000,100000").split(","))
USERS = int(os.environ.get("BENCH_USERS", 2_000))
DURATION = int(os.environ.get("BENCH_DURATION", 5))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 5))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", 16))
THREADS = int(os.environ.get("BENCH_THREADS", 2))
WORKERS = int(os.environ.get("BENCH_WORKERS", 2))
WORD = os.environ.get("BENCH_WORD", "music")
MIXED_PAGES = max(200, int(os.environ.get("BENCH_MIXED_PAGES", 300)))
GATED_SHARE = float(os.environ.get("BENCH_GATED_SHARE", 0.3))
FOLLOWED = int(os.environ.get("BENCH_FOLLOWED", 500))  # channels the feed's reader follows
DETAIL_IDS = 200  # the detail run rotates over this many videos
PLAYLIST_ITEMS = 200
RATED_SHARE = 0.1  # of the videos, liked or disliked by the signed-in viewer (`my_rating`)
FEATURED_SHARE = 0.02
BATCH = 5000  # rows per INSERT while seeding

TOPICS = ["music", "guitar", "cooking", "travel", "football", "yoga", "history", "science", "gaming", "jazz"]
ADJECTIVES = ["quick", "easy", "live", "classic", "advanced", "beginner", "relaxing", "epic", "daily", "weekend"]
FORMATS = ["tutorial", "session", "review", "highlights", "lesson", "vlog", "documentary", "tips", "interview"]
FILLER = ["with", "and", "the", "for", "from", "a", "in", "of", "at", "my", "our", "best", "new", "full", "part"]
TAGS = [*TOPICS, "4k", "hd", "kids", "remix", "podcast", "shorts", "howto", "asmr", "diy", "retro", "indie"]
CATEGORIES = TOPICS[:6]
PING = "ping (ceiling)"
LIST, LIST_MIXED = "videos list", f"videos list (mixed, {MIXED_PAGES} pages)"
SIGNED_IN, SIGNED_IN_MIXED = "videos list (signed in)", f"videos list (signed in, mixed {MIXED_PAGES})"
SEARCH, SEARCH_MIXED = f"videos ?q={WORD}", f"search (mixed, {MIXED_PAGES} queries)"
DETAIL = f"video detail ({DETAIL_IDS} videos)"


@dataclass
class Cast:
    """What the seed is made of and who reads it: bench channels, the signed-in subscriber, the feed's reader."""

    channels: list = field(default_factory=list)
    categories: list = field(default_factory=list)
    tags: list = field(default_factory=list)
    plans: list = field(default_factory=list)
    subscriber: Any = None
    reader: Any = None


def cast() -> Cast:
    """The users, categories, tags and plans every size shares; the reader follows FOLLOWED channels."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import User
    from accounts.subscriptions.models import Plan, Subscription
    from videos.models import Category, Follow, Tag

    unusable = make_password(None)  # nobody signs in as these owners
    channels = User.objects.bulk_create(
        User(email=f"bench{i}@example.com", username=f"bench{i}", password=unusable, is_verified=True)
        for i in range(USERS)
    )
    plans = Plan.objects.bulk_create([Plan(code="gold", name="Gold"), Plan(code="silver", name="Silver")])
    subscriber = User.objects.create(
        email="bench-subscriber@example.com", username="bench-subscriber", is_verified=True
    )
    Subscription.objects.create(user=subscriber, plan=plans[0], source=Subscription.Source.STAFF)
    reader = User.objects.create(email="bench-reader@example.com", username="bench-reader", is_verified=True)
    Follow.objects.bulk_create(Follow(follower=reader, channel=channel) for channel in channels[:FOLLOWED])
    return Cast(
        channels=channels,
        categories=Category.objects.bulk_create(Category(name=name.title(), slug=name) for name in CATEGORIES),
        tags=Tag.objects.bulk_create(Tag(name=name) for name in TAGS),
        plans=plans,
        subscriber=subscriber,
        reader=reader,
    )


def copy_rows(model, rows: Iterable[dict[str, Any]]) -> None:
    """COPY `rows` (column -> value) into the model's table, every other column at its field's default (taken once)
    and auto ids from their sequence: bulk_create's per-value preparation would dominate seeding 100,000 videos."""
    from django.db import connection, models
    from django.utils import timezone

    fields = [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]
    now, defaults = timezone.now(), dict[str, Any]()
    for f in fields:
        default = now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) else f.get_default()
        defaults[f.column] = json.dumps(default) if isinstance(f, models.JSONField) else default
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    statement = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row.get(f.column, defaults[f.column]) for f in fields])


def seed(people: Cast, start: int, stop: int) -> None:
    """Videos number `start` to `stop` in batches of BATCH rows (with their tags, plan gates and the subscriber's
    ratings) by COPY, then the new search vectors in one UPDATE weighted like
    videos.catalog.services._refresh_search_vector, and VACUUM ANALYZE so the planner knows the new size."""
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from videos.models import Rating, Video, VideoPlan

    rng = random.Random(start)  # noqa: S311 (test data)
    now = timezone.now()
    gate_every = max(1, round(1 / GATED_SHARE)) if GATED_SHARE else 0
    owners = [user.pk for user in people.channels]
    categories = [category.pk for category in people.categories] + [None]
    tags = [tag.pk for tag in people.tags]
    plans = [plan.pk for plan in people.plans]
    for first in range(start, stop, BATCH):
        videos = [
            {
                "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "owner_id": rng.choice(owners),
                "title": f"{rng.choice(ADJECTIVES).title()} {rng.choice(TOPICS)} {rng.choice(FORMATS)} {i}",
                "description": " ".join(rng.choices(TOPICS + ADJECTIVES + FORMATS + FILLER, k=30)),
                "category_id": rng.choice(categories),
                "status": Video.Status.READY.value,
                "visibility": Video.Visibility.PUBLIC.value,
                "published_at": now - timedelta(seconds=rng.randrange(2 * 365 * 86400)),
                "is_featured": rng.random() < FEATURED_SHARE,
                "view_count": int(rng.paretovariate(1.2) * 10),
                "duration": rng.uniform(30, 3600),
                "width": 1920,
                "height": 1080,
            }
            for i in range(first, min(first + BATCH, stop))
        ]
        with transaction.atomic():
            copy_rows(Video, videos)
            copy_rows(
                Video.tags.through,
                ({"video_id": v["id"], "tag_id": tag} for v in videos for tag in rng.sample(tags, rng.randint(1, 5))),
            )
            copy_rows(  # the first two videos stay free: the playback runs use them
                VideoPlan,
                (
                    {"video_id": v["id"], "plan_id": plans[n % 2]}
                    for n, v in enumerate(videos, start=first)
                    if gate_every and n >= 2 and n % gate_every == 2 % gate_every
                ),
            )
            copy_rows(
                Rating,
                (
                    {"user_id": people.subscriber.pk, "video_id": v["id"], "value": rng.choice(Rating.Value.values)}
                    for v in videos
                    if rng.random() < RATED_SHARE
                ),
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
            WHERE t.video_id = v.id AND v.search_vector IS NULL
            """,
            {"config": settings.VIDEO_SEARCH_CONFIG},
        )
        cursor.execute("VACUUM ANALYZE")


def bench_playlist(reader) -> str:
    """The reader's public PLAYLIST_ITEMS-item playlist; returns its id."""
    from videos.models import Playlist, PlaylistItem, Video

    playlist = Playlist.objects.create(
        owner=reader, title="Bench", visibility=Playlist.Visibility.PUBLIC, item_count=PLAYLIST_ITEMS
    )
    videos = Video.objects.catalog().order_by("?").values_list("pk", flat=True)[:PLAYLIST_ITEMS]
    PlaylistItem.objects.bulk_create(
        PlaylistItem(playlist=playlist, video_id=pk, position=n) for n, pk in enumerate(videos, start=1)
    )
    return str(playlist.pk)


def signed_in(user) -> dict[str, str]:
    """A JWT Authorization header for `user`, signed in through a real device session."""
    from sessions_app.services import session_start

    token = session_start(user=user, user_agent="bench", ip_address="127.0.0.1").tokens.access
    return {"Authorization": f"Bearer {token}"}


def list_pages(rng: random.Random) -> list[str]:
    """MIXED_PAGES distinct catalog pages: the filters of videos.catalog.filters, its orderings, page sizes."""
    pages: set[str] = set()
    while len(pages) < MIXED_PAGES:
        params: dict[str, Any] = {}
        if rng.random() < 0.5:
            params["category"] = rng.choice(CATEGORIES)
        if rng.random() < 0.5:
            params["tag"] = rng.choice(TAGS)
        if rng.random() < 0.15:
            params["featured"] = rng.choice(["true", "false"])
        if rng.random() < 0.2:
            params["duration_min" if rng.random() < 0.5 else "duration_max"] = rng.choice([60, 300, 600, 1800])
        if rng.random() < 0.1:
            params["owner"] = f"bench{rng.randrange(USERS)}"
        if rng.random() < 0.75:
            params["ordering"] = rng.choice(["newest", "most_viewed", "title"])
        if rng.random() < 0.3:
            params["limit"] = rng.choice([10, 50, 100])
        pages.add(f"/api/v1/videos?{urlencode(params)}" if params else "/api/v1/videos")
    return rng.sample(sorted(pages), len(pages))


def search_pages(rng: random.Random) -> list[str]:
    """MIXED_PAGES distinct searches: one or two words (common and rare ones), some with a filter or an ordering."""
    words = TOPICS + ADJECTIVES + FORMATS
    pages: set[str] = set()
    while len(pages) < MIXED_PAGES:
        params: dict[str, Any] = {"q": " ".join(rng.sample(words, rng.choice([1, 2, 2])))}
        if rng.random() < 0.2:
            params["category"] = rng.choice(CATEGORIES)
        if rng.random() < 0.2:
            params["ordering"] = rng.choice(["newest", "most_viewed"])
        pages.add(f"/api/v1/videos?{urlencode(params)}")
    return rng.sample(sorted(pages), len(pages))


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


@dataclass
class Endpoint:
    name: str
    paths: list[str]  # more than one: wrk cycles over them
    headers: dict[str, str] = field(default_factory=dict)


def query_counts(endpoints: list[Endpoint]) -> dict[str, tuple[int, int]]:
    """SQL queries per request, in-process with Django's test client on the same database: (with the cache just
    emptied, the same request once more), the most over the first ten pages of a mixed run."""
    from django.core.cache import caches
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    logging.getLogger("vod.request").setLevel(logging.WARNING)  # one log line per request: not wanted here
    client, counts = Client(HTTP_HOST="127.0.0.1"), {}
    for endpoint in endpoints:
        extra: dict[str, Any] = {f"HTTP_{key.upper()}": value for key, value in endpoint.headers.items()}
        cold, warm = 0, 0
        for path in endpoint.paths[:10]:
            client.get(path, **extra)  # first request: imports, connection, content types
            for cache in caches.all():
                cache.clear()
            with CaptureQueriesContext(connection) as first:
                response = client.get(path, **extra)
            with CaptureQueriesContext(connection) as again:
                client.get(path, **extra)
            if response.status_code != 200:
                sys.exit(f"{path} answered {response.status_code}: {response.content[:300]!r}")
            cold, warm = max(cold, len(first)), max(warm, len(again))
        counts[endpoint.name] = (cold, warm)
    connection.close()
    return counts


def wrk(url: str, seconds: int, script: str | None = None, headers: dict[str, str] | None = None) -> dict:
    """One wrk run: requests/s, p50 and p99 in ms, requests, non-2xx answers and socket errors (timeouts count)."""
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
    return {
        "rps": float(found(r"Requests/sec:\s+([\d.]+)")[1]),
        "requests": int(found(r"^\s*(\d+) requests in")[1]),
        "p50": latency(50),
        "p99": latency(99),
        "non_2xx": non_2xx,
        "socket_errors": socket_errors,
    }


def lua_rotation(path: Path, paths: list[str]) -> str:
    """A wrk script whose request() cycles over `paths`, each thread from its own offset (setup() runs once per
    thread in wrk's main Lua state and sets the thread's `i`)."""
    quoted = ",\n  ".join(f'"{p}"' for p in paths)
    path.write_text(
        f"local paths = {{\n  {quoted}\n}}\ni = 0\nlocal threads = 0\n"
        f"function setup(thread)\n  thread:set('i', threads * math.floor(#paths / {THREADS}))\n"
        "  threads = threads + 1\nend\n"
        "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n"
    )
    return str(path)


def postmaster_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    connection.close()
    return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])


def redis_pid() -> int | None:
    import redis

    url = os.environ.get("REDIS_URL", "")
    return int(redis.Redis.from_url(url).info("server")["process_id"]) if url else None


def settle(port: int) -> None:
    """Waits until the workers have answered what wrk left in the listen queue when it stopped (the connections it
    dropped still hold a request each): a new connection is accepted after them."""
    for _ in range(WORKERS):
        request(port, "GET", "/bench/ping", timeout=120)


def run_size(endpoints: list[Endpoint], work: Path, trees: dict[str, int | None]) -> dict[str, list[dict]]:
    """ROUNDS rounds of every endpoint against a fresh gunicorn; each run also gets the CPU seconds the gunicorn
    tree, PostgreSQL and Redis spent on it."""
    scripts = {e.name: lua_rotation(work / f"{n}.lua", e.paths) for n, e in enumerate(endpoints) if len(e.paths) > 1}
    runs: dict[str, list[dict]] = {e.name: [] for e in endpoints}
    with gunicorn(["--workers", str(WORKERS), "--worker-class", "sync"], work / "gunicorn.log") as (server, port):
        base = f"http://127.0.0.1:{port}"
        roots = {name: pid for name, pid in {**trees, "app": server.pid}.items() if pid}
        for e in endpoints:  # warm-up: connections, caches, first-request work
            wrk(base + e.paths[0], 1, scripts.get(e.name), e.headers)
            settle(port)
        for _ in range(ROUNDS):  # the endpoints take turns, so a disturbance hits them alike
            for e in endpoints:
                before = {name: tree_cpu_seconds(pid) for name, pid in roots.items()}
                result = wrk(base + e.paths[0], DURATION, scripts.get(e.name), e.headers)
                settle(port)  # the requests wrk left queued are this run's work, not the next one's
                thousands = (result["requests"] + CONNECTIONS) / 1000  # + the requests in flight when wrk stopped
                result["cpu"] = {name: (tree_cpu_seconds(roots[name]) - s) / thousands for name, s in before.items()}
                runs[e.name].append(result)
        for e in endpoints:
            if any(r["non_2xx"] for r in runs[e.name]):
                for path in e.paths:
                    answer = request(port, "GET", path, token=e.headers.get("Authorization", "")[7:])
                    if answer[0] != 200:
                        print(f"{e.name}: GET {path} answers {answer}"[:300])
                        break
    return runs


def medians(results: list[dict]) -> dict[str, float]:
    summary = {key: statistics.median(r[key] for r in results) for key in ("rps", "p50", "p99")}
    for name in results[0]["cpu"]:
        summary[name] = statistics.median(r["cpu"][name] for r in results)
    return summary


def report(size: int, runs: dict[str, list[dict]], queries: dict[str, tuple[int, int]]) -> None:
    """Medians over the rounds, each endpoint against the ping ceiling, with CPU seconds per 1000 requests."""
    print(
        f"\n{size} videos: gunicorn {WORKERS} sync workers, production settings; wrk -t{THREADS} -c{CONNECTIONS} "
        f"-d{DURATION}s x {ROUNDS} rounds, medians (req/s range over rounds); {os.cpu_count()} CPUs shared by wrk, "
        "gunicorn, PostgreSQL, Redis. SQL: queries per request with an empty cache / at once again. "
        "CPU: seconds per 1000 requests (gunicorn workers, PostgreSQL, Redis)."
    )
    header = (
        f"{'endpoint':<40} {'req/s':>8} {'range':>11} {'p50 ms':>7} {'p99 ms':>7} {'vs ping':>7} {'SQL':>6} "
        f"{'CPU app':>7} {'pg':>6} {'redis':>6} {'non-2xx':>7} {'sock err':>8}"
    )
    print(f"{header}\n{'-' * len(header)}")
    ceiling = statistics.median(run["rps"] for run in runs[PING]) or float("nan")
    for name, results in runs.items():
        m = medians(results)
        spread = f"{min(r['rps'] for r in results):.0f}-{max(r['rps'] for r in results):.0f}"
        non_2xx, socket_errors = (sum(r[key] for r in results) for key in ("non_2xx", "socket_errors"))
        sql = "{}/{}".format(*queries[name])
        print(
            f"{name:<40} {m['rps']:>8.1f} {spread:>11} {m['p50']:>7.1f} {m['p99']:>7.1f} {m['rps'] / ceiling:>6.2f}x "
            f"{sql:>6} {m.get('app', 0):>7.2f} {m.get('pg', 0):>6.2f} {m.get('redis', 0):>6.2f} {non_2xx:>7} "
            f"{socket_errors:>8}"
        )


def scaling(small: int, large: int, runs: dict, queries: dict) -> list[tuple[str, bool]]:
    """Every endpoint at the largest size against the smallest: req/s, CPU per request, SQL; returns target lines."""
    print(f"\n{large} videos vs {small}: req/s, CPU (app + PostgreSQL) per 1000 requests, SQL (empty cache/again)")
    header = f"{'endpoint':<40} {f'req/s {small}':>12} {f'req/s {large}':>12} {'ratio':>6} {'CPU ratio':>9} {'SQL':>13}"
    print(f"{header}\n{'-' * len(header)}")
    targets = []
    for name in runs[small]:
        a, b = medians(runs[small][name]), medians(runs[large][name])
        ratio = b["rps"] / a["rps"] if a["rps"] else 0.0
        cpu = (b.get("app", 0) + b.get("pg", 0)) / ((a.get("app", 0) + a.get("pg", 0)) or float("nan"))
        sql = "{}/{} -> {}/{}".format(*queries[small][name], *queries[large][name])
        print(f"{name:<40} {a['rps']:>12.1f} {b['rps']:>12.1f} {ratio:>5.2f}x {cpu:>8.2f}x {sql:>13}")
        if name != PING:
            same_sql = queries[small][name] == queries[large][name]
            targets.append(
                (
                    f"at {large} videos, {name}: >= 0.8x its {small} figure with the same SQL count: {ratio:.2f}x, "
                    f"SQL {sql}",
                    ratio >= 0.8 and same_sql,
                )
            )
    return targets


def main() -> None:
    started = time.monotonic()
    print(f"load average at start: {' '.join(f'{n:.2f}' for n in os.getloadavg())} (other work skews every figure)")
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk (make bench-api installs it when run as root)")
    os.environ.setdefault("JWT_ACCESS_MINUTES", "240")  # the viewers' tokens outlive the whole run
    setup_django()
    ensure_bucket()
    from django.core.cache import caches

    from videos.catalog.selectors import catalog_search
    from videos.models import Video
    from videos.playback.signing import issue_token

    people = cast()
    trees = {"pg": postmaster_pid(), "redis": redis_pid()}
    endpoints: list[Endpoint] = []
    runs: dict[int, dict[str, list[dict]]] = {}
    queries: dict[int, dict[str, tuple[int, int]]] = {}
    work = Path(tempfile.mkdtemp(prefix="vod-bench-api-"))
    try:
        for size in SIZES:
            print(f"\nload average before {size} videos: {' '.join(f'{n:.2f}' for n in os.getloadavg())}", flush=True)
            seeded = Video.objects.count()
            if seeded < size:
                t0 = time.monotonic()
                seed(people, seeded, size)
                print(f"seeded videos {seeded} -> {size} in {time.monotonic() - t0:.1f}s", flush=True)
            if not endpoints:
                endpoints = first_endpoints(people, issue_token)
            matches = catalog_search(query=WORD).count()
            print(f"search {WORD!r} matches {matches} of {Video.objects.catalog().count()} public videos", flush=True)
            if not matches:
                sys.exit("the search term matches nothing")
            queries[size] = query_counts(endpoints)
            for cache in caches.all():  # the seed wrote around every invalidation: no answer from the last size
                cache.clear()
            runs[size] = run_size(endpoints, work, trees)
            report(size, runs[size], queries[size])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    targets = []
    for size in SIZES:
        ceiling = medians(runs[size][PING])["rps"] or float("nan")
        share = {name: medians(results)["rps"] / ceiling for name, results in runs[size].items()}
        for name, floor, aside in [
            (LIST, 0.30, f"mixed {share[LIST_MIXED]:.2f}x"),
            (SEARCH_MIXED, 0.20, f"hot ?q={WORD} {share[SEARCH]:.2f}x"),
            (DETAIL, 0.30, ""),
            (SIGNED_IN, 0.10, f"mixed {share[SIGNED_IN_MIXED]:.2f}x"),
        ]:
            line = f"{size} videos, {name} >= {floor:.2f}x ping: {share[name]:.2f}x" + (f" ({aside})" if aside else "")
            targets.append((line, share[name] >= floor))
    if len(SIZES) > 1:
        targets += scaling(SIZES[0], SIZES[-1], runs, queries)
    print("\ntargets")
    for line, ok in targets:
        print(f"  {'ok  ' if ok else 'MISS'} {line}")
    print(f"\ntotal {time.monotonic() - started:.0f}s")


def first_endpoints(people: Cast, issue_token) -> list[Endpoint]:
    """The runs, fixed at the first size so every size measures the same pages: the hot URLs, their mixed twins,
    detail over DETAIL_IDS videos, playback of a free public video and a private one's playlist, the reader's feed
    and playlist."""
    from videos.models import Video

    public_video, private_video = Video.objects.catalog().filter(required_plans=None).order_by("created_at", "pk")[:2]
    publish_hls(public_video, visibility=Video.Visibility.PUBLIC)
    publish_hls(private_video, visibility=Video.Visibility.PRIVATE)
    token, _ = issue_token(video=private_video, user=private_video.owner)
    ids = [str(pk) for pk in Video.objects.catalog().order_by("?").values_list("pk", flat=True)[:DETAIL_IDS]]
    playlist = bench_playlist(people.reader)
    subscriber, reader = signed_in(people.subscriber), signed_in(people.reader)
    rng = random.Random(19)  # noqa: S311 (test data)
    mixed_lists = list_pages(rng)
    return [
        Endpoint(PING, ["/bench/ping"]),
        Endpoint(LIST, ["/api/v1/videos"]),
        Endpoint(LIST_MIXED, mixed_lists),
        Endpoint(SIGNED_IN, ["/api/v1/videos"], subscriber),
        Endpoint(SIGNED_IN_MIXED, mixed_lists, subscriber),
        Endpoint(SEARCH, [f"/api/v1/videos?q={WORD}"]),
        Endpoint(SEARCH_MIXED, search_pages(rng)),
        Endpoint(DETAIL, [f"/api/v1/videos/{pk}" for pk in ids]),
        Endpoint("playback (public)", [f"/api/v1/videos/{public_video.pk}/playback"]),
        Endpoint(f"private playlist ({PLAYLIST_SEGMENTS} seg)", [f"/api/v1/playback/{token}/360p/index.m3u8"]),
        Endpoint(f"me/feed ({FOLLOWED} channels)", ["/api/v1/me/feed"], reader),
        Endpoint(f"playlist items ({PLAYLIST_ITEMS}, page of 100)", [f"/api/v1/playlists/{playlist}/items?limit=100"]),
        Endpoint("health/live", ["/health/live"]),
    ]


if __name__ == "__main__":
    main()
