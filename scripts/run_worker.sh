#!/usr/bin/env bash
# The Celery worker of `make run` (Procfile.dev): `scripts/run_worker.sh celery -A vod worker ...`.
#
# honcho stops a process by signalling its whole process group, which would hit the pool's
# children together with the worker (each logged as an error) instead of letting the worker
# finish what it runs. So the worker runs in a session of its own and gets the stop signal
# alone: a warm shutdown; a task still running after 15 s (scripts/run_dev.py gives 20 s) is
# stopped cold and, acknowledged late, runs again at the next start.
#
# Development containers often run as root; Celery's warning about that is meant for servers.
export PYTHONWARNINGS="ignore:You're running the worker with superuser privileges"

setsid "$@" &
worker=$!

stop() {
	kill -TERM "$worker" 2>/dev/null
	for _ in $(seq 150); do
		kill -0 "$worker" 2>/dev/null || exit 0
		sleep 0.1
	done
	kill -QUIT "$worker" 2>/dev/null
	wait "$worker"
	exit
}
trap stop TERM INT

wait "$worker"
