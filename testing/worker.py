"""A real Celery worker in a subprocess, pointed at the test database and the test broker."""

import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from vod.celery import app

BASE_DIR = Path(settings.BASE_DIR)


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class WorkerProcess:
    """Starts `celery worker` on every queue; `stop()` ends it, `kill()` SIGKILLs it (fault tests)."""

    def __init__(self, log_path: Path, *, queues: str = "default,transcode", concurrency: int = 2):
        self.log_path = log_path
        self.queues = queues
        self.concurrency = concurrency
        self.node_name = f"test-{os.getpid()}-{time.monotonic_ns()}@localhost"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "WorkerProcess":
        env = {**os.environ, "DATABASE_URL": _database_url(), "DATABASE_CONN_MAX_AGE": "0"}
        args = [sys.executable, "-m", "celery", "-A", "vod", "worker", "-n", self.node_name]
        args += ["-Q", self.queues, "-c", str(self.concurrency), "--loglevel", "INFO"]
        args += ["--without-gossip", "--without-mingle"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(args, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited early; see {self.log_path}")
            if app.control.ping(destination=[self.node_name], timeout=0.5):
                return self
        self.stop()
        raise RuntimeError(f"celery worker did not answer a ping within {timeout:.0f}s; see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
