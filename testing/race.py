"""Run one callable from many threads at once, to test what concurrent requests do.

Each thread uses its own database connection (Django's connections are per thread), so the test
must commit its rows first: use `transactional_db` / `@pytest.mark.django_db(transaction=True)`.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection


@dataclass(frozen=True)
class Outcome:
    """What one thread got: the callable's return value, or the exception it raised."""

    value: Any = None
    error: BaseException | None = None


def run_concurrently(func: Callable[[int], Any], *, threads: int, timeout: float = 60) -> list[Outcome]:
    """Calls `func(i)` for i in range(threads), each in its own thread, all released together by a
    barrier; returns the outcomes in thread order. Every thread closes its connection at the end."""
    barrier = threading.Barrier(threads)
    outcomes: list[Outcome | None] = [None] * threads

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=timeout)
            outcomes[index] = Outcome(value=func(index))
        except BaseException as exc:  # recorded for the test to inspect
            outcomes[index] = Outcome(error=exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=worker, args=(i,), name=f"race-{i}") for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=timeout)
    stuck = [thread.name for thread in workers if thread.is_alive()]
    if stuck:
        raise TimeoutError(f"threads still running after {timeout}s: {stuck}")
    return outcomes  # type: ignore[return-value]


def wait_for_lock_waiters(count: int = 1, *, timeout: float = 10, unless: Callable[[], bool] | None = None) -> bool:
    """Polls PostgreSQL until `count` backends of this database wait on a lock (a row lock held by
    another transaction); True when they do, False on timeout or as soon as `unless()` is true.
    Used to force an interleaving."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (unless and unless()):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return True
        time.sleep(0.02)
    return False
