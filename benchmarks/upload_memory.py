"""Peak memory of a gunicorn worker while one request PUTs a 1 GiB source, to the filesystem and to S3 (moto):
the body must be streamed to storage, never held, so the worker's peak RSS stays under 150 MB.

    make bench-upload    # = scripts/with_services.py -- python -m benchmarks.upload_memory

Environment: BENCH_UPLOAD_BYTES (1 GiB). MB here is 10^6 bytes.
"""

import contextlib
import http.client
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3

from benchmarks.common import gunicorn, request, setup_django

SIZE = int(os.environ.get("BENCH_UPLOAD_BYTES", 1024**3))
TARGET_MB = 150
BLOCK = os.urandom(1024 * 1024)  # the body repeats one random MiB
EMAIL, PASSWORD = "uploader@example.com", "bench-upload-secret-1"


def mb(kb: int) -> float:
    """/proc counts kB of 1024 bytes; the report uses MB of 10^6 bytes."""
    return kb * 1024 / 1e6


def status_kb(pid: int, field: str) -> int:
    """VmRSS / VmHWM of a process, in kB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def reset_peak(pid: int) -> bool:
    """Resets VmHWM (Linux >= 4.0, needs ptrace rights): the login's Argon2 hash alone takes ~100 MB for a moment."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def worker_of(master: int) -> int:
    """The single gunicorn worker: the master's child process."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {children}")
    return int(children[0])


class Sampler(threading.Thread):
    """Keeps the highest VmRSS of each process, read every 50 ms until stopped."""

    def __init__(self, pids: dict[str, int]):
        super().__init__(daemon=True)
        self.pids, self.peak_kb, self.samples, self.done = pids, dict.fromkeys(pids, 0), 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            for name, pid in self.pids.items():
                self.peak_kb[name] = max(self.peak_kb[name], status_kb(pid, "VmRSS"))
            self.samples += 1


def body(size: int) -> Iterator[bytes]:
    """The upload, 1 MiB at a time, never all in memory on the client either."""
    for offset in range(0, size, len(BLOCK)):
        yield BLOCK[: min(len(BLOCK), size - offset)]


def upload(port: int, video_id: str, token: str) -> tuple[int, bytes, float]:
    """PUT videos/{id}/source with an explicit Content-Length (http.client then sends the chunks as they are)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Length": str(SIZE),
        "Authorization": f"Bearer {token}",
    }
    started = time.monotonic()
    # If the server answers before reading everything (a refusal), its answer says why.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        conn.request("PUT", f"/api/v1/videos/{video_id}/source", body=body(SIZE), headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data, time.monotonic() - started


def measure(name: str, env: dict, stored_size) -> dict:
    """One gunicorn (1 sync worker) on this storage: idle RSS, peaks during the upload, throughput, stored size."""
    from videos.models import Video

    args = ["--workers", "1", "--worker-class", "sync", "--timeout", "600"]
    with tempfile.TemporaryDirectory(prefix="vod-bench-upload-log-") as logs:
        with gunicorn(args, Path(logs) / "gunicorn.log", env=env) as (master, port):
            request(port, "GET", "/health/ready")  # loads the storage client (botocore's models) like any busy worker
            status, signed_in = request(
                port, "POST", "/api/v1/auth/login", {"email_or_username": EMAIL, "password": PASSWORD}
            )
            if status != 200:
                sys.exit(f"login answered {status}: {signed_in}")
            token = signed_in["access"]
            status, created = request(port, "POST", "/api/v1/videos", {"title": f"Upload to {name}"}, token=token)
            if status != 201:
                sys.exit(f"create video answered {status}: {created}")
            video_id = created["video"]["id"]
            pids = {"worker": worker_of(master.pid), "master": master.pid}
            idle_kb = {role: status_kb(pid, "VmRSS") for role, pid in pids.items()}
            hwm_reset = all(reset_peak(pid) for pid in pids.values())
            sampler = Sampler(pids)
            sampler.start()
            status, answer, seconds = upload(port, video_id, token)
            sampler.done.set()
            sampler.join()
            hwm_kb = {role: status_kb(pid, "VmHWM") for role, pid in pids.items()}
        if status != 200:
            log = (Path(logs) / "gunicorn.log").read_text()[-3000:]
            sys.exit(f"{name}: upload answered {status}: {answer[:500]!r}\n{log}")
    stored = stored_size(Video.objects.get(pk=video_id).source_key)
    return {
        "name": name,
        "idle": idle_kb,
        "peak": sampler.peak_kb,
        "hwm": hwm_kb,
        "hwm_reset": hwm_reset,
        "samples": sampler.samples,
        "seconds": seconds,
        "stored": stored,
    }


def main() -> None:
    setup_django()
    from accounts.models import User

    User.objects.filter(email=EMAIL).delete()
    User.objects.create_user(email=EMAIL, username="uploader", password=PASSWORD, is_verified=True)
    limits = {"VIDEO_MAX_UPLOAD_BYTES": str(SIZE), "VIDEO_USER_QUOTA_BYTES": str(4 * SIZE)}
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT_URL"],
        aws_access_key_id=os.environ["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["S3_SECRET_ACCESS_KEY"],
        region_name=os.environ["S3_REGION"],
    )
    bucket = os.environ["S3_BUCKET"]
    s3.create_bucket(Bucket=bucket)

    media = Path(tempfile.mkdtemp(prefix="vod-bench-media-"))
    try:
        filesystem_env = {key: value for key, value in os.environ.items() if key != "S3_BUCKET"}
        filesystem_env.update(limits, MEDIA_ROOT=str(media))
        results = [
            measure("filesystem", filesystem_env, lambda key: (media / key).stat().st_size),
            measure(
                "s3 (moto)",
                {**os.environ, **limits},
                lambda key: s3.head_object(Bucket=bucket, Key=key)["ContentLength"],
            ),
        ]
    finally:
        shutil.rmtree(media, ignore_errors=True)

    print(f"\nPUT videos/{{id}}/source, {SIZE / 1e6:.0f} MB body, gunicorn 1 sync worker, production settings")
    header = (
        f"{'storage':<11} {'idle MB':>8} {'peak MB':>8} {'VmHWM MB':>9} {'master MB':>10} {'MB/s':>7} {'stored':>6}"
    )
    print(f"{header} {'target':>11}\n{'-' * (len(header) + 12)}")
    for r in results:
        worst = max(r["peak"]["worker"], r["hwm"]["worker"] if r["hwm_reset"] else 0)
        verdict = "ok" if mb(worst) < TARGET_MB else "OVER"
        print(
            f"{r['name']:<11} {mb(r['idle']['worker']):>8.1f} {mb(r['peak']['worker']):>8.1f} "
            f"{mb(r['hwm']['worker']):>9.1f} {mb(r['peak']['master']):>10.1f} {SIZE / 1e6 / r['seconds']:>7.1f} "
            f"{'ok' if r['stored'] == SIZE else r['stored']:>6} {verdict:>4} < {TARGET_MB}"
        )
    hwm = "during the upload" if all(r["hwm_reset"] for r in results) else "since the worker began (no reset)"
    print(
        "idle: the worker after health/ready (storage client loaded), a login and a create;\n"
        f"peak: the highest VmRSS sampled every 50 ms ({results[0]['samples']} and {results[1]['samples']} samples); "
        f"VmHWM: the kernel's peak {hwm}"
    )
    if any(r["stored"] != SIZE for r in results):
        sys.exit("a stored source does not have the size sent")


if __name__ == "__main__":
    main()
