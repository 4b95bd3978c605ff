"""`make run`'s process manager: honcho, with time for the worker's warm shutdown.

honcho kills what has not stopped 5 s after Ctrl-C; an idle Celery worker on the filesystem broker
needs about 8 s to stop warm (its loops poll once a second). scripts/run_worker.sh stops a task
that is still running cold after 15 s, so this wait stays bounded.
"""

import sys

import honcho.manager
from honcho.command import main

honcho.manager.KILL_WAIT = 20

if __name__ == "__main__":
    sys.exit(main())
