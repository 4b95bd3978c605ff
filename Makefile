# Two commands set everything up: `make run` (the service, embedded defaults) and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run demo test lint system-deps venv clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

## make run: migrate, then the dev server, a Celery worker and beat in the foreground (Ctrl-C stops all).
run: venv node_modules/.installed
	@scripts/install_system_deps.sh ffmpeg
	mkdir -p var/media var/celery/queue
	$(PY) manage.py migrate --noinput
	@scripts/print_run_banner.sh $(HOST) $(PORT)
	HOST=$(HOST) PORT=$(PORT) $(PY) scripts/run_dev.py -f Procfile.dev start

## make demo: a staff account, viewers, categories and generated clips that the worker of `make run` transcodes.
demo: venv
	@scripts/install_system_deps.sh ffmpeg
	mkdir -p var/media var/celery/queue
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo --base-url http://$(HOST):$(PORT)

## make lint: ruff, mypy (mypy.ini), migrations in sync, and Django's deployment checks with production settings.
# (REDIS_URL only names a cache for the check: production refuses to start without one; nothing connects.)
lint: venv node_modules/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run
	VOD_ENV=production SECRET_KEY=ci-only-$$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') \
		ALLOWED_HOSTS=vod.example.com REDIS_URL=redis://127.0.0.1:6379/0 $(PY) manage.py check --deploy --fail-level WARNING

## make test: quality gates, then the whole suite against PostgreSQL, Redis, moto and an SMTP sink.
test: venv node_modules/.installed
	@scripts/install_system_deps.sh ffmpeg postgresql redis chromium
	$(MAKE) --no-print-directory lint
	$(PY) scripts/with_services.py -- $(PY) -m pytest $(PYTEST_ARGS)

## make compose-smoke (not part of `make test`): docker-compose.yml's services run as written, with loopback
## stand-ins for the containers and Caddy in front, and one journey through it (scripts/compose_smoke.py).
.PHONY: compose-smoke
compose-smoke: venv node_modules/.installed
	@scripts/install_system_deps.sh ffmpeg postgresql redis chromium caddy docker-compose
	$(PY) scripts/compose_smoke.py

# hls.js (the admin's preview player, the browser tests), from npm (package.json); node_modules is not committed.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

clean:
	rm -rf $(VENV) var

## Benchmarks (figures, not tests): each runs under scripts/with_services.py and prints a table.
.PHONY: bench-api bench-upload

## make bench-api: req/s, latency, CPU per request and SQL counts of the catalog API under gunicorn at 10,000 and
## 100,000 videos (hot URLs and mixed pages), next to the ceiling; ends with a targets block. BENCH_* in benchmarks/api.py.
bench-api: venv
	@scripts/install_system_deps.sh postgresql redis
	@command -v wrk >/dev/null || { [ "$$(id -u)" -eq 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; } || \
		{ echo "wrk is missing: install it (apt-get install wrk)" >&2; exit 1; }
	$(PY) scripts/with_services.py -- $(PY) -m benchmarks.api

## make bench-upload: peak RSS of a gunicorn worker while a 1 GiB and a 4 GiB source are PUT, to the filesystem and to S3.
bench-upload: venv
	@scripts/install_system_deps.sh postgresql redis
	$(PY) scripts/with_services.py -- $(PY) -m benchmarks.upload_memory

## make bench-transcode: the transcoding pipeline (S3 in, S3 out) vs one ffmpeg per rung vs the ladder command alone.
.PHONY: bench-transcode
bench-transcode: venv
	@scripts/install_system_deps.sh ffmpeg postgresql redis
	$(PY) scripts/with_services.py -- $(PY) -m benchmarks.transcode

## make bench-webhooks: events/s one worker delivers to a loopback receiver, and what the outbox adds to a bulk update.
.PHONY: bench-webhooks
bench-webhooks: venv
	@scripts/install_system_deps.sh postgresql redis
	$(PY) scripts/with_services.py -- $(PY) -m benchmarks.webhooks
