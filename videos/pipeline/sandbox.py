"""How ffmpeg and ffprobe are started on untrusted files: a minimal environment (no database URL,
storage keys or SECRET_KEY for a compromised decoder to read), and rlimits on address space, CPU
time and the size of any file they write. The network stays out through the inputs' protocol
whitelist (`file` only, `probing.SAFE_INPUT_OPTIONS`)."""

import os
import resource
import subprocess
from collections.abc import Callable
from typing import Any

from django.conf import settings


def environment() -> dict[str, str]:
    """PATH to find the binaries and a neutral locale: nothing of the worker's own environment."""
    return {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "LANG": "C.UTF-8"}


def limits(*, cpu_seconds: int) -> Callable[[], None]:
    """A `preexec_fn` that caps the child before it runs: the kernel kills it (SIGXCPU, SIGXFSZ)
    or refuses its allocations past these, whatever the file makes it do."""
    memory, file_size = settings.TRANSCODE_MEMORY_LIMIT_BYTES, settings.MEDIA_TOOL_MAX_FILE_BYTES

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))

    return apply


def popen(args: list[str], *, cpu_seconds: int, **kwargs: Any) -> subprocess.Popen:
    return subprocess.Popen(args, env=environment(), preexec_fn=limits(cpu_seconds=cpu_seconds), **kwargs)


def run(args: list[str], *, timeout: float, cpu_seconds: int | None = None) -> subprocess.CompletedProcess:
    """Runs a short tool (ffprobe, the storyboard tiling) to completion, output captured."""
    return subprocess.run(
        args,
        capture_output=True,
        timeout=timeout,
        check=False,
        env=environment(),
        preexec_fn=limits(cpu_seconds=cpu_seconds or settings.FFPROBE_CPU_SECONDS),
    )
