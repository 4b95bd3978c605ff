"""Peak memory of a gunicorn worker while one request PUTs a source, to the filesystem and to S3 (moto),
at 1 GiB and at 4 GiB: the body must be streamed to storage, never held, so the worker's peak RSS
stays under 150 MB and does not grow with the file (4 GiB peak - 1 GiB peak <= 5 MB).

    make bench-upload    # = scripts/with_services.py -- python -m benchmarks.upload_memory

Environment: BENCH_UPLOAD_MIB, the sizes in MiB, smallest first ("1024,4096"); growth is measured
from the first size to the last. MB here is 10^6 bytes.

The body is one random MiB repeated, made as it is sent: the client holds 1 MiB whatever the size.
Each size gets a fresh gunicorn (1 sync worker; the image's gthread worker adds ~15 MB of thread
arena to the S3 peak, the same at every size), and each stored source is deleted before the next
run, so the disk holds at most one source (plus moto's parts while it joins them).
S3 is a moto of the bench's own (benchmarks/moto_server.py): the suite's moto joins a multipart
upload in memory, ~5x the object, which a 4 GiB source would take from the whole machine. Its peak
RSS is shown for the machine's sake, not judged: it is not our process.
"""

import contextlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3

from benchmarks.common import ROOT, free_port, gunicorn, request, setup_django

MiB = 1024 * 1024
SIZES = [int(mib) * MiB for mib in os.environ.get("BENCH_UPLOAD_MIB", "1024,4096").split(",")]
PEAK_TARGET_MB = 150
GROWTH_TARGET_MB = 5
BLOCK = os.urandom(MiB)  # the body repeats one random MiB
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


@contextlib.contextmanager
def moto_server() -> Iterator[tuple[subprocess.Popen, str]]:
    """Our own moto (benchmarks/moto_server.py: multipart uploads completed on disk); yields it and its URL."""
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.moto_server", "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("benchmarks.moto_server did not start")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.2)
        yield process, f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


class Sampler(threading.Thread):
    """Keeps the highest VmRSS of each process, read every 50 ms until stopped (moto's RssAnon: the
    object it copies from a mapped file shows in its VmRSS as page cache, not memory taken)."""

    def __init__(self, pids: dict[str, int]):
        super().__init__(daemon=True)
        self.pids, self.peak_kb, self.samples, self.done = pids, dict.fromkeys(pids, 0), 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            for name, pid in self.pids.items():
                with contextlib.suppress(OSError, LookupError):
                    field = "RssAnon" if name == "moto" else "VmRSS"
                    self.peak_kb[name] = max(self.peak_kb[name], status_kb(pid, field))
            self.samples += 1


def body(size: int) -> Iterator[bytes]:
    """The upload, 1 MiB at a time, never all in memory on the client either."""
    for offset in range(0, size, len(BLOCK)):
        yield BLOCK[: min(len(BLOCK), size - offset)]


def upload(port: int, video_id: str, token: str, size: int) -> tuple[int, bytes, float]:
    """PUT videos/{id}/source with an explicit Content-Length (http.client then sends the chunks as they are)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Length": str(size),
        "Authorization": f"Bearer {token}",
    }
    started = time.monotonic()
    # If the server answers before reading everything (a refusal), its answer says why.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        conn.request("PUT", f"/api/v1/videos/{video_id}/source", body=body(size), headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data, time.monotonic() - started


def measure(
    name: str, size: int, env: dict, stored: Callable[[str], int], delete: Callable[[str], None], moto: int | None
) -> dict:
    """One gunicorn (1 sync worker) on this storage: idle RSS, peaks during the upload, throughput,
    stored size. The stored source and its video are deleted afterwards."""
    from videos.models import Video

    args = ["--workers", "1", "--worker-class", "sync", "--timeout", "1200"]
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
            idle_kb = status_kb(pids["worker"], "VmRSS")
            hwm_reset = all(reset_peak(pid) for pid in pids.values())
            if moto:
                pids["moto"] = moto
            sampler = Sampler(pids)
            sampler.start()
            status, answer, seconds = upload(port, video_id, token, size)
            sampler.done.set()
            sampler.join()
            hwm_kb = status_kb(pids["worker"], "VmHWM")
        if status != 200:
            log = (Path(logs) / "gunicorn.log").read_text()[-3000:]
            sys.exit(f"{name}: upload answered {status}: {answer[:500]!r}\n{log}")
    video = Video.objects.get(pk=video_id)
    stored_size = stored(video.source_key)
    delete(video.source_key)
    video.delete()
    peak_kb = max(sampler.peak_kb["worker"], hwm_kb if hwm_reset else 0)
    return {
        "name": name,
        "size": size,
        "idle": idle_kb,
        "sampled": sampler.peak_kb["worker"],
        "hwm": hwm_kb,
        "hwm_reset": hwm_reset,
        "peak": peak_kb,
        "master": sampler.peak_kb["master"],
        "moto": sampler.peak_kb.get("moto"),
        "samples": sampler.samples,
        "seconds": seconds,
        "stored": stored_size,
    }


def print_report(results: list[dict]) -> None:
    print("\nPUT videos/{id}/source, gunicorn 1 sync worker, production settings")
    header = (
        f"{'storage':<11} {'size':>8} {'idle MB':>8} {'sampled':>8} {'VmHWM MB':>9} {'peak MB':>8} "
        f"{'master MB':>10} {'moto MB':>8} {'MB/s':>7} {'stored':>6}"
    )
    print(f"{header}\n{'-' * len(header)}")
    for r in results:
        moto = f"{mb(r['moto']):>8.0f}" if r["moto"] is not None else f"{'-':>8}"
        print(
            f"{r['name']:<11} {r['size'] / 1024**3:>4.2f} GiB {mb(r['idle']):>8.1f} {mb(r['sampled']):>8.1f} "
            f"{mb(r['hwm']):>9.1f} {mb(r['peak']):>8.1f} {mb(r['master']):>10.1f} {moto} "
            f"{r['size'] / 1e6 / r['seconds']:>7.1f} {'ok' if r['stored'] == r['size'] else r['stored']:>6}"
        )
    hwm = "during the upload" if all(r["hwm_reset"] for r in results) else "since the worker began (no reset)"
    print(
        "idle: the worker after health/ready (storage client loaded), a login and a create;\n"
        "sampled: the highest VmRSS read every 50 ms; "
        f"VmHWM: the kernel's peak {hwm}; peak: the higher of the two\n"
        "moto MB: the anonymous memory of the S3 stand-in (not our process), for the machine's sake"
    )

    small, large = SIZES[0], SIZES[-1]
    print("\ntargets")
    for storage in ("filesystem", "s3 (moto)"):
        mine = [r for r in results if r["name"] == storage]
        worst = max(r["peak"] for r in mine)
        verdict = "ok" if mb(worst) <= PEAK_TARGET_MB else "MISS"
        print(f"  {storage}: peak RSS <= {PEAK_TARGET_MB} MB: {mb(worst):.1f} MB {verdict}")
        if large != small:
            by_size = {r["size"]: r["peak"] for r in mine}
            growth = mb(by_size[large] - by_size[small])
            verdict = "ok" if growth <= GROWTH_TARGET_MB else "MISS"
            print(
                f"  {storage}: peak RSS {large / 1024**3:g} GiB - {small / 1024**3:g} GiB <= {GROWTH_TARGET_MB} MB: "
                f"{growth:+.1f} MB {verdict}"
            )


def main() -> None:
    setup_django()
    from accounts.models import User

    User.objects.filter(email=EMAIL).delete()
    User.objects.create_user(email=EMAIL, username="uploader", password=PASSWORD, is_verified=True)
    limits = {"VIDEO_MAX_UPLOAD_BYTES": str(max(SIZES)), "VIDEO_USER_QUOTA_BYTES": str(2 * max(SIZES))}
    media = Path(tempfile.mkdtemp(prefix="vod-bench-media-"))
    try:
        with moto_server() as (moto, endpoint):
            s3 = boto3.client(
                "s3",
                endpoint_url=endpoint,
                aws_access_key_id=os.environ["S3_ACCESS_KEY_ID"],
                aws_secret_access_key=os.environ["S3_SECRET_ACCESS_KEY"],
                region_name=os.environ["S3_REGION"],
            )
            bucket = os.environ["S3_BUCKET"]
            s3.create_bucket(Bucket=bucket)
            filesystem_env = {key: value for key, value in os.environ.items() if key != "S3_BUCKET"}
            filesystem_env.update(limits, MEDIA_ROOT=str(media))
            storages: list[tuple[str, dict, Callable[[str], int], Callable[[str], None], int | None]] = [
                (
                    "filesystem",
                    filesystem_env,
                    lambda key: (media / key).stat().st_size,
                    lambda key: (media / key).unlink(),
                    None,
                ),
                (
                    "s3 (moto)",
                    {**os.environ, **limits, "S3_ENDPOINT_URL": endpoint},
                    lambda key: s3.head_object(Bucket=bucket, Key=key)["ContentLength"],
                    lambda key: s3.delete_object(Bucket=bucket, Key=key),
                    moto.pid,
                ),
            ]
            results = [
                measure(name, size, env, stored, delete, moto_pid)
                for name, env, stored, delete, moto_pid in storages
                for size in SIZES
            ]
    finally:
        shutil.rmtree(media, ignore_errors=True)

    print_report(results)
    if any(r["stored"] != r["size"] for r in results):
        sys.exit("a stored source does not have the size sent")


if __name__ == "__main__":
    main()
