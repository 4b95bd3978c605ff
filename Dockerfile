# Production image: gunicorn serving vod.wsgi as a non-root user; the same image runs the Celery
# worker, transcode worker and beat with another command (see docker-compose.yml).
# hls.js for the admin's preview player, from npm as in `make run` (node_modules is not committed).
FROM node:20.18.0-bookworm-slim AS static-js
WORKDIR /js
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VOD_ENV=production

RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Runtime dependencies only: test and quality tools are in requirements-dev.txt.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
COPY --from=static-js /js/node_modules/hls.js/dist node_modules/hls.js/dist
# collectstatic needs settings to load; these placeholders exist only during the build.
RUN SECRET_KEY=build-only ALLOWED_HOSTS=build REDIS_URL=redis://build:6379/0 python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --home-dir /app vod \
    && mkdir -p /app/var/media /scratch && chown vod /app/var /app/var/media /scratch

USER vod
EXPOSE 8000
# Threaded workers, JSON logs: vod/gunicorn_conf.py.
CMD ["gunicorn", "-c", "python:vod.gunicorn_conf", "vod.wsgi:application"]
