"""What both benchmarks share: production settings on loopback, Django in-process, and a gunicorn server."""

import contextlib
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"

PRODUCTION_ENV = {
    "VOD_ENV": "production",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback; no proxy in front
    "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
}


def setup_django() -> None:
    """Production settings for this process and every server it starts (they inherit os.environ)."""
    if "DATABASE_URL" not in os.environ:
        sys.exit("run under scripts/with_services.py (needs DATABASE_URL, REDIS_URL, S3_*)")
    os.environ.update(PRODUCTION_ENV)
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    # Production settings expect collectstatic; no static file is served here, so whitenoise's warning is noise.
    warnings.filterwarnings("ignore", message="No directory at")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port: int, method: str, path: str, body=None, token: str = "", timeout: float = 30) -> tuple[int, dict]:
    """One JSON request to the server on loopback; returns the status and the decoded body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else {}
    finally:
        conn.close()


@contextlib.contextmanager
def gunicorn(args: list[str], log: Path, env: dict | None = None) -> Iterator[tuple[subprocess.Popen, int]]:
    """Starts `gunicorn vod.wsgi` on a free loopback port; yields (process, port) once /health/live answers."""
    port = free_port()
    command = [str(GUNICORN), "vod.wsgi:application", "--bind", f"127.0.0.1:{port}", "--no-control-socket", *args]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
                with contextlib.suppress(OSError):
                    if request(port, "GET", "/health/live", timeout=2)[0] == 200:
                        break
                time.sleep(0.2)
            yield process, port
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def ensure_bucket() -> None:
    """moto starts empty: creates the bucket the settings name (after setup_django)."""
    from videos import storage

    client = storage.s3_client()
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou, client.exceptions.BucketAlreadyExists):
        client.create_bucket(Bucket=storage.s3_bucket())


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of a process and its live descendants, each with its reaped children's (Linux
    /proc), so a worker or backend that exited between two readings still counts once, in its parent's total."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, ...
            pid = int(stat.parent.name)
            parents[pid] = int(fields[1])
            ticks[pid] = sum(int(n) for n in fields[11:15])  # utime, stime, cutime, cstime
    tree, frontier = set(), {root}
    while frontier:
        tree |= frontier
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - tree
    return sum(ticks.get(pid, 0) for pid in tree) / tick
