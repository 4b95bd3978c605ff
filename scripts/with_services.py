"""Runs a command with PostgreSQL, Redis, an S3 server (moto) and an SMTP sink on loopback.

Each service gets a free port and lives in one temporary folder; the command sees them through
the same environment variables the project reads in production (DATABASE_URL, REDIS_URL, S3_*,
EMAIL_URL), plus SMTP_SINK_MAILDIR where the sink stores every message it receives. Everything is
stopped and removed when the command ends, fails or is interrupted.

    python scripts/with_services.py -- pytest -q
"""

import argparse
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, name: str, process: subprocess.Popen | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not listen on port {port} within {timeout:.0f}s")


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def spawn(stack: ExitStack, args: list[str], log: Path, **kwargs) -> subprocess.Popen:
    log_file = stack.enter_context(open(log, "wb"))  # noqa: SIM115 (closed by the stack)
    process = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
    stack.callback(stop_process, process)
    return process


def postgres_bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL is not installed (no initdb found); run `make system-deps`.")


def start_postgres(stack: ExitStack, root: Path) -> str:
    """initdb + pg_ctl into root/pg; as root the server runs as the `postgres` system user."""
    bin_dir = postgres_bin_dir()
    data = root / "pg"
    data.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        pg_user = pwd.getpwnam("postgres")
        os.chown(root, pg_user.pw_uid, pg_user.pw_gid)
        os.chown(data, pg_user.pw_uid, pg_user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [*as_user, bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    # Durability is not needed for a throw-away test database; speed is.
    options = (
        f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=200"
        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    subprocess.run(
        [*as_user, bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", data / "server.log", "-w", "start"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    stop: list[str | Path] = [*as_user, bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "stop"]
    stack.callback(lambda: subprocess.run(stop, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    subprocess.run([bin_dir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "vod"], check=True)
    return f"postgres://postgres@127.0.0.1:{port}/vod"


def start_redis(stack: ExitStack, root: Path) -> str:
    port = free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = spawn(stack, args, root / "redis.log", cwd=root)
    wait_for_port(port, "redis-server", process)
    return f"redis://127.0.0.1:{port}/0"


def start_moto(stack: ExitStack, root: Path) -> str:
    port = free_port()
    process = spawn(stack, [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], root / "moto.log")
    wait_for_port(port, "moto_server", process)
    return f"http://127.0.0.1:{port}"


def start_smtp_sink(stack: ExitStack, root: Path) -> tuple[str, Path]:
    port = free_port()
    maildir = root / "maildir"
    args = [
        sys.executable,
        "-m",
        "aiosmtpd",
        "-n",
        "-l",
        f"127.0.0.1:{port}",
        "-c",
        "aiosmtpd.handlers.Mailbox",
        str(maildir),
    ]
    process = spawn(stack, args, root / "smtp.log")
    wait_for_port(port, "aiosmtpd", process)
    return f"smtp://127.0.0.1:{port}", maildir


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run, after --")
    args = parser.parse_args()
    command = [part for part in args.command if part != "--"] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")

    # Turn SIGTERM into a normal exit so the clean-up below runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with ExitStack() as stack:
        root = Path(tempfile.mkdtemp(prefix="vod-services-"))
        stack.callback(shutil.rmtree, root, ignore_errors=True)
        env = dict(os.environ)
        env["DATABASE_URL"] = start_postgres(stack, root)
        env["REDIS_URL"] = start_redis(stack, root)
        env["S3_ENDPOINT_URL"] = start_moto(stack, root)
        moto_credentials = {"S3_ACCESS_KEY_ID": "testing", "S3_SECRET_ACCESS_KEY": "testing"}  # moto checks none
        env.update(S3_BUCKET="vod-test", S3_REGION="us-east-1", **moto_credentials)
        env["EMAIL_URL"], maildir = start_smtp_sink(stack, root)
        env["SMTP_SINK_MAILDIR"] = str(maildir)
        print(f"services up in {root}: postgres, redis, moto, smtp sink", flush=True)
        try:
            return subprocess.run(command, env=env).returncode
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    sys.exit(main())
