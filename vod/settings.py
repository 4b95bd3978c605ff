"""Settings for the VOD backend, read from the environment (django-environ).

With nothing set, the project runs on embedded defaults: SQLite and media under ``var/``, console
email, local-memory cache and a Celery ``filesystem://localhost/`` broker. Each variable below switches one
part to the real service; ``VOD_ENV=production`` turns on the hardened production mode.
"""

import hashlib
import hmac
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from boto3.s3.transfer import TransferConfig
from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
env.smart_cast = False

VOD_ENV = env.str("VOD_ENV", default="development")
if VOD_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("VOD_ENV must be 'development' or 'production'.")
PRODUCTION = VOD_ENV == "production"

# --- core -----------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:  # tracebacks, settings and SQL in error pages: never in production
    raise ImproperlyConfigured("DJANGO_DEBUG cannot be on when VOD_ENV=production.")
if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")  # required: no default in production
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-insecure-key-only-for-local-runs-0123456789")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])  # old keys, while rotating

INSTALLED_APPS = [
    "vod.apps.VodAdminConfig",  # django.contrib.admin with vod.admin_site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "anymail",
    "storages",
    "vod.apps.VodConfig",
    "accounts",
    "sessions_app",
    "videos",
    "webhooks",
]

MIDDLEWARE = [
    "vod.request_context.RequestIdMiddleware",
    "vod.health.HealthProbeMiddleware",  # whatever ALLOWED_HOSTS: probes use container addresses
    "django.middleware.security.SecurityMiddleware",
    "vod.trailing_slash.OptionalTrailingSlashMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

if PRODUCTION:  # serves collected static files under gunicorn; runserver serves them in development
    MIDDLEWARE.insert(3, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "vod.urls"
WSGI_APPLICATION = "vod.wsgi.application"
ASGI_APPLICATION = "vod.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if "DATABASE_URL" not in env.ENVIRON:
    VAR_DIR.mkdir(exist_ok=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- users and passwords --------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# accounts.User.email is unique through a UniqueConstraint on Lower("email") (case-insensitive),
# which this check does not recognise.
SILENCED_SYSTEM_CHECKS = ["auth.E003"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.password_validation.MaximumLengthValidator"},  # what sign-in accepts
]

# --- i18n, static, media --------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "static"))
# hls.js for the admin's preview player, installed from npm (package.json) by `make run`/`make test`
# and the Dockerfile; it is not committed.
STATICFILES_DIRS = [("vendor/hls.js", BASE_DIR / "node_modules" / "hls.js" / "dist")]
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))

S3_BUCKET = env.str("S3_BUCKET", default="")
# The storage endpoint as browsers reach it (e.g. https://storage.vod.example.com, the proxy's
# storage site): presigned playback, poster, storyboard and upload-part URLs use it; server-side
# calls keep S3_ENDPOINT_URL. Empty: the same as S3_ENDPOINT_URL.
S3_PUBLIC_ENDPOINT_URL = env.str("S3_PUBLIC_ENDPOINT_URL", default="")
if S3_BUCKET:
    default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
            "region_name": env.str("S3_REGION", default="") or None,
            "custom_domain": env.str("S3_CUSTOM_DOMAIN", default="") or None,
            "addressing_style": env.str("S3_ADDRESSING_STYLE", default="") or None,
            # SigV4 explicitly: presigned part URLs sign their Content-Length (V2 cannot sign it), and
            # AWS refuses SigV2 on buckets made since 2020.
            "signature_version": "s3v4",
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
            "querystring_expire": env.int("S3_URL_EXPIRE_SECONDS", default=3600),
            # Streams of unknown length are buffered part by part: this bounds that memory.
            "transfer_config": TransferConfig(multipart_chunksize=8 * 1024**2, max_concurrency=4),
        },
    }
else:
    default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": MEDIA_URL},
    }
STORAGES: dict[str, dict[str, Any]] = {
    "default": default_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- cache and Celery -----------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if PRODUCTION and not REDIS_URL:
    # Throttles, sign-in lockout state in flight and session revocation must be one cache shared
    # by every worker; a per-process local-memory cache would give each worker its own budget.
    raise ImproperlyConfigured("REDIS_URL is required when VOD_ENV=production.")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "vod.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "vod",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The host part means nothing to the filesystem transport, but kombu warns when it is missing.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost/")
CELERY_BROKER_CONNECTION_TIMEOUT = 2
if CELERY_BROKER_URL.startswith("filesystem://"):
    # A server-less broker for `make run`: queues are folders under var/.
    _queue_dir = VAR_DIR / "celery" / "queue"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(_queue_dir.parent / "control"),  # kombu's default is ./control
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or None) or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"videos.tasks.transcode*": {"queue": "transcode"}}  # by task name (explicit, stable)
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # a transcode worker takes one job at a time
CELERY_TASK_ACKS_LATE = True  # a job whose worker dies is delivered again ...
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# ... after the visibility timeout, which must outlast the longest hard time limit (a 12 h video
# times TRANSCODE_TIMEOUT_FACTOR). The reaper requeues such jobs much sooner, by heartbeat.
if CELERY_BROKER_URL.startswith("redis"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 50 * 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "recount-ratings": {"task": "videos.tasks.recount_ratings", "schedule": 24 * 3600},
    "purge-expired-identity-records": {"task": "accounts.tasks.purge_expired", "schedule": 3600},
    "purge-expired-sessions": {"task": "sessions_app.tasks.purge_expired_sessions", "schedule": 3600},
    "remind-expiring-access-tokens": {"task": "sessions_app.tasks.remind_expiring_tokens", "schedule": 3600},
    "abort-stale-uploads": {"task": "videos.tasks.abort_stale_uploads", "schedule": 900},
    "reap-stuck-transcode-jobs": {"task": "videos.tasks.reap_stuck_jobs", "schedule": 60},
    "expire-subscriptions": {"task": "accounts.tasks.expire_subscriptions", "schedule": 300},
    "remind-ending-subscriptions": {"task": "accounts.tasks.remind_ending_subscriptions", "schedule": 3600},
    "dispatch-due-webhooks": {"task": "webhooks.tasks.dispatch_due", "schedule": 5},
    "purge-old-webhook-messages": {"task": "webhooks.tasks.purge_old_messages", "schedule": 3600},
}

# --- email ----------------------------------------------------------------------------------
# EMAIL_URL selects SMTP (smtp://user:pass@host:port, smtp+tls://...); ANYMAIL_ESP selects an
# anymail provider (e.g. "resend", "postmark", "amazon_ses") and every other ANYMAIL_* variable is
# passed to it (ANYMAIL_RESEND_API_KEY -> ANYMAIL["RESEND_API_KEY"]). Neither: console output.
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="VOD <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ANYMAIL_ESP = env.str("ANYMAIL_ESP", default="")
EMAIL_URL = env.str("EMAIL_URL", default="")
if ANYMAIL_ESP:
    EMAIL_BACKEND = f"anymail.backends.{ANYMAIL_ESP}.EmailBackend"
    ANYMAIL = {
        key.removeprefix("ANYMAIL_"): value
        for key, value in env.ENVIRON.items()
        if key.startswith("ANYMAIL_") and key != "ANYMAIL_ESP"
    }
elif EMAIL_URL:
    globals().update(env.email_url("EMAIL_URL"))  # EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, ...
    EMAIL_TIMEOUT = 10
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# --- API ------------------------------------------------------------------------------------
FRONTEND_URL = env.str("FRONTEND_URL", default="http://localhost:3000")
_frontend_origin = "{0.scheme}://{0.netloc}".format(urlsplit(FRONTEND_URL))
# In development the frontend's origin may call the API unless set otherwise; production lists its own.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[] if PRODUCTION else [_frontend_origin])
CORS_ALLOW_HEADERS = (*cors_default_headers, "idempotency-key")
# Browser code must read a part's ETag (to complete an upload), the request id and throttle waits.
CORS_EXPOSE_HEADERS = ["ETag", "X-Request-ID", "Retry-After"]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First: the JWT authenticator refuses any bearer that is not a JWT.
        "sessions_app.access_tokens.authentication.PersonalAccessTokenAuthentication",
        "sessions_app.authentication.SessionJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "vod.pagination.CursorPage",
    "DEFAULT_SCHEMA_CLASS": "vod.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "vod.exception_handlers.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "NUM_PROXIES": None,  # client IPs come from vod.client_ip, never from DRF's own parsing
    # Rates per scope; a throttle keyed by account uses the same rate per account as per IP.
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("THROTTLE_LOGIN", default="20/min"),
        "register": env.str("THROTTLE_REGISTER", default="10/hour"),
        "verify": env.str("THROTTLE_VERIFY", default="20/hour"),
        "resend": env.str("THROTTLE_RESEND", default="5/hour"),
        "password_forgot": env.str("THROTTLE_PASSWORD_FORGOT", default="5/hour"),
        "password_reset": env.str("THROTTLE_PASSWORD_RESET", default="20/hour"),
        "refresh": env.str("THROTTLE_REFRESH", default="60/min"),
        # checks of the current password by a signed-in user (password change, account deletion)
        "password_confirm": env.str("THROTTLE_PASSWORD_CONFIRM", default="10/hour"),
        "two_factor": env.str("THROTTLE_TWO_FACTOR", default="20/min"),
        "views": env.str("THROTTLE_VIEWS", default="60/hour"),  # anonymous view reports per IP
        "transcode": env.str("THROTTLE_TRANSCODE", default="10/hour"),  # re-transcode requests per user
    },
}

# --- identity -------------------------------------------------------------------------------
# How many reverse proxies in front of the app append to X-Forwarded-For (0: use the peer address).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
DEVICE_SESSION_LIFETIME = timedelta(days=env.int("SESSION_LIFETIME_DAYS", default=30))
# A refresh token rotated less than this ago is refused without ending its session (a client
# racing itself); any older rotated token revokes the session.
REFRESH_REUSE_GRACE = timedelta(seconds=env.int("REFRESH_REUSE_GRACE_SECONDS", default=10))
VERIFICATION_CODE_TTL = timedelta(minutes=10)
PASSWORD_RESET_CODE_TTL = timedelta(minutes=15)
ONE_TIME_CODE_MAX_ATTEMPTS = 5  # wrong guesses that burn one code ...
ONE_TIME_CODE_MAX_FAILURES_PER_DAY = 20  # ... and per account and purpose over all its codes of the last 24 h
# An account that never verified its address is deleted this long after it was created (beat).
UNVERIFIED_ACCOUNT_TTL = timedelta(hours=env.int("UNVERIFIED_ACCOUNT_TTL_HOURS", default=48))
LOGIN_LOCKOUT_THRESHOLD = 5  # failed passwords in a row before the account locks
LOGIN_LOCKOUT_BASE = timedelta(minutes=1)  # doubles with each further failure ...
LOGIN_LOCKOUT_MAX = timedelta(hours=24)  # ... up to this; a count is forgotten this long after its last failure
# Two-factor sign-in (TOTP): wrong codes count toward the lockout above.
TWO_FACTOR_CHALLENGE_TTL = timedelta(minutes=5)  # from a right password to the code
TWO_FACTOR_CHALLENGE_MAX_ATTEMPTS = 5  # wrong codes on one challenge before it dies
TOTP_ISSUER = env.str("TOTP_ISSUER", default="VOD")  # the name authenticator apps show
# Encrypts TOTP secrets at rest; unset: derived from SECRET_KEY (then rotating SECRET_KEY needs the
# old key in SECRET_KEY_FALLBACKS, or enrolled users must enrol again).
TOTP_ENCRYPTION_KEY = env.str("TOTP_ENCRYPTION_KEY", default="")
# Staff must enrol in two-factor sign-in before the admin lets them in.
STAFF_REQUIRE_2FA = env.bool("STAFF_REQUIRE_2FA", default=PRODUCTION)

# Personal access tokens: stored as HMAC-SHA256 keyed by TOKEN_PEPPER (derived from SECRET_KEY
# when unset; changing either invalidates every token).
TOKEN_PEPPER = (
    env.str("TOKEN_PEPPER", default="")
    or hmac.new(SECRET_KEY.encode(), b"vod personal access token pepper", hashlib.sha256).hexdigest()
)
ACCESS_TOKEN_MAX_LIVE = 50  # live (not revoked, not expired) tokens per user
ACCESS_TOKEN_DEFAULT_LIFETIME = timedelta(days=90)
ACCESS_TOKEN_MAX_LIFETIME = timedelta(days=365)
# Failed token attempts (invalid, expired, revoked) per client IP; past it every token from that
# IP is refused (429) until the window ends.
ACCESS_TOKEN_FAILURE_RATE = env.str("THROTTLE_ACCESS_TOKEN_FAILURES", default="20/min")

# Old JWT keys still accepted while rotating (new tokens use JWT_SIGNING_KEY); by default the
# SECRET_KEY_FALLBACKS, as the signing key defaults to SECRET_KEY.
JWT_SIGNING_KEY_FALLBACKS = env.list(
    "JWT_SIGNING_KEY_FALLBACKS", default=[] if "JWT_SIGNING_KEY" in env.ENVIRON else SECRET_KEY_FALLBACKS
)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=30)),
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_TOKEN_CLASSES": ("sessions_app.tokens.SessionAccessToken",),
    "UPDATE_LAST_LOGIN": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "VOD API",
    "DESCRIPTION": (
        "Self-hosted video-on-demand backend. Every 4xx and 5xx answer has the same JSON shape: "
        "a stable machine-readable `code`, a human `message`, and `fields` for validation errors."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs are public: no credential is read there (a stale one would be a 401).
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "vod.openapi.postprocess_schema"],
    "ENUM_NAME_OVERRIDES": {
        "CheckStatusEnum": "vod.health.CHECK_STATUSES",
        "VideoStatusEnum": "videos.models.Video.Status",
        "UploadStatusEnum": "videos.models.Upload.Status",
        "TokenRevokeReasonEnum": "sessions_app.access_tokens.models.PersonalAccessToken.RevokeReason",
        "CaptionKindEnum": "videos.models.Caption.Kind",
        "PlaylistKindEnum": "videos.models.Playlist.Kind",
    },
}

# --- production hardening -------------------------------------------------------------------
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto. Health probes stay on plain HTTP.
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health/"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    # Sends the `preload` directive only; submitting the domain to browsers' list stays manual.
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    USE_X_FORWARDED_HOST = False

# --- plans and subscriptions ------------------------------------------------------------------
SUBSCRIPTION_GRACE = timedelta(days=env.int("SUBSCRIPTION_GRACE_DAYS", default=3))  # past_due keeps access
SUBSCRIPTION_REMINDER_DAYS = env.int("SUBSCRIPTION_REMINDER_DAYS", default=3)  # ending-soon email, non-renewing
SUBSCRIPTION_EXPIRY_BATCH = 500
# Standard Webhooks secret of `POST billing/events` ("whsec_" + base64); empty: derived from SECRET_KEY
# (`manage.py billing_webhook_secret` prints it for the billing system).
BILLING_WEBHOOK_SECRET = env.str("BILLING_WEBHOOK_SECRET", default="")

# --- videos ---------------------------------------------------------------------------------
VIDEO_MAX_UPLOAD_BYTES = env.int("VIDEO_MAX_UPLOAD_BYTES", default=10 * 1024**3)
VIDEO_USER_QUOTA_BYTES = env.int("VIDEO_USER_QUOTA_BYTES", default=50 * 1024**3)
UPLOAD_PART_SIZE = env.int("UPLOAD_PART_SIZE", default=16 * 1024**2)  # S3 needs >= 5 MiB but the last
UPLOAD_MAX_PARTS = 10_000  # S3's limit
UPLOAD_TTL = timedelta(hours=env.int("UPLOAD_TTL_HOURS", default=24))  # then the sweeper aborts it
UPLOAD_URL_EXPIRY = timedelta(hours=6)  # part URLs; GET uploads/{id} hands out fresh ones
# Avatars and posters (vod/images.py); captions (videos/captions).
IMAGE_MAX_BYTES = env.int("IMAGE_MAX_BYTES", default=10 * 1024**2)
CAPTION_MAX_BYTES = env.int("CAPTION_MAX_BYTES", default=2 * 1024**2)
VIDEO_SEARCH_CONFIG = env.str("VIDEO_SEARCH_CONFIG", default="english")  # PostgreSQL text search config
# Relevance ranks the newest this-many matches of a search (after its filters); older ones are left out.
VIDEO_SEARCH_RANK_LIMIT = env.int("VIDEO_SEARCH_RANK_LIMIT", default=1000)
PLAYLIST_MAX_ITEMS = env.int("PLAYLIST_MAX_ITEMS", default=5000)
PLAYLISTS_PER_USER = env.int("PLAYLISTS_PER_USER", default=200)
FFPROBE_TIMEOUT = 60  # seconds, plus ...
FFPROBE_SECONDS_PER_GIB = 30  # ... this per GiB of source (a large file on a slow scratch disk)
FFPROBE_CPU_SECONDS = env.int("FFPROBE_CPU_SECONDS", default=30)  # CPU-time rlimit of ffprobe and short passes
PLAYBACK_TOKEN_TTL = timedelta(hours=env.int("PLAYBACK_TOKEN_TTL_HOURS", default=6))
# Set to a public bucket or CDN base URL that serves the storage keys to let public videos skip
# the signed playback path; empty: every video plays through signed URLs.
PLAYBACK_PUBLIC_BASE_URL = env.str("PLAYBACK_PUBLIC_BASE_URL", default="")
VIEW_MIN_SECONDS = 10  # watched at least this long before a view counts ...
VIEW_WINDOW = timedelta(hours=6)  # ... once per viewer and video in this window
# Anonymous reads of the catalog, videos, channels and categories are kept in the cache this long
# (seconds; 0: off): every write that changes them invalidates them at once, so this only bounds
# memory and what a failed invalidation leaves (vod.response_cache).
ANON_CACHE_SECONDS = env.int("ANON_CACHE_SECONDS", default=300)
# ... and what their `public, max-age` tells a CDN, which no write can purge (seconds).
ANON_CACHE_MAX_AGE = env.int("ANON_CACHE_MAX_AGE", default=30)

# Transcoding: named profiles; operators pick one with TRANSCODE_PROFILE or add their own here.
TRANSCODE_PROFILES = {
    "default": {
        "rungs": [
            {"name": "1080p", "short_side": 1080, "video_kbps": 5000},
            {"name": "720p", "short_side": 720, "video_kbps": 2800},
            {"name": "480p", "short_side": 480, "video_kbps": 1400},
            {"name": "360p", "short_side": 360, "video_kbps": 800},
        ],
        # Audio is encoded once, as one AAC rendition every rung refers to (an HLS audio group).
        "audio_kbps": 128,
        "x264_preset": env.str("TRANSCODE_X264_PRESET", default="veryfast"),
        "segment_seconds": 4,
        "gop_seconds": 2,  # fixed GOP, no scene-cut keyframes: segment boundaries align across rungs
        "storyboard_min_interval": 2,  # seconds between thumbnails ...
        "storyboard_max_thumbs": 300,  # ... more for long videos, so sprites stay few
    },
}
TRANSCODE_PROFILE = env.str("TRANSCODE_PROFILE", default="default")
# CPUs one transcode's ffmpeg keeps busy (filter and x264 threads); 0: those the worker may run on.
TRANSCODE_THREADS = env.int("TRANSCODE_THREADS", default=0)
TRANSCODE_MIN_TIMEOUT = 600  # seconds; a job may take this long, or its duration times ...
TRANSCODE_TIMEOUT_FACTOR = 4  # ... this, whichever is longer
TRANSCODE_MAX_ATTEMPTS = 3
# Transcodes one user may have running at once; their next ones wait in the queue (asked again this often).
TRANSCODE_MAX_ACTIVE_PER_USER = env.int("TRANSCODE_MAX_ACTIVE_PER_USER", default=3)
TRANSCODE_OWNER_BUSY_RETRY_SECONDS = 30
TRANSCODE_MEMORY_LIMIT_BYTES = env.int("TRANSCODE_MEMORY_LIMIT_BYTES", default=6 * 1024**3)  # ffmpeg's address space
# ffmpeg's CPU-time rlimit: this many CPU seconds per second of video (at least TRANSCODE_MIN_TIMEOUT's worth)
TRANSCODE_CPU_SECONDS_FACTOR = env.int("TRANSCODE_CPU_SECONDS_FACTOR", default=16)
MEDIA_TOOL_MAX_FILE_BYTES = env.int("MEDIA_TOOL_MAX_FILE_BYTES", default=2 * 1024**3)  # any one file ffmpeg writes
TRANSCODE_HEARTBEAT_SECONDS = 5  # a running job renews its lease this often ...
TRANSCODE_LEASE = timedelta(minutes=2)  # ... for this long; a claim may take over an expired lease
TRANSCODE_HEARTBEAT_TIMEOUT = timedelta(seconds=env.int("TRANSCODE_HEARTBEAT_TIMEOUT", default=300))  # reaper
# The reaper requeues a job still `queued` after this long (its message was lost, e.g. a broker
# restarted without persistence) and a video left `uploaded` this long without any job.
TRANSCODE_QUEUED_TIMEOUT = timedelta(seconds=env.int("TRANSCODE_QUEUED_TIMEOUT", default=1800))

# --- webhooks -------------------------------------------------------------------------------
# Endpoint URLs must resolve to global addresses only (no loopback, private, link-local, CGNAT,
# metadata...), over https, on these ports. WEBHOOK_ALLOW_PRIVATE_NETWORKS lifts all three rules
# for development and tests; production refuses to start with it.
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)
if PRODUCTION and WEBHOOK_ALLOW_PRIVATE_NETWORKS:
    raise ImproperlyConfigured("WEBHOOK_ALLOW_PRIVATE_NETWORKS cannot be on when VOD_ENV=production.")
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=False)  # plain http to global addresses
WEBHOOK_ALLOWED_PORTS = [int(port) for port in env.list("WEBHOOK_ALLOWED_PORTS", default=["443", "80"])]
# Encrypts endpoint secrets at rest; unset: derived from SECRET_KEY (vod.encryption).
WEBHOOK_SECRET_KEY = env.str("WEBHOOK_SECRET_KEY", default="")
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=15)  # a whole attempt, connect to last byte
# A claimed delivery belongs to its worker this long; then another may take it over (same webhook-id).
WEBHOOK_DELIVERY_LEASE_SECONDS = env.int("WEBHOOK_DELIVERY_LEASE_SECONDS", default=60)
WEBHOOK_MAX_IN_FLIGHT = env.int("WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT", default=4)  # concurrent requests per endpoint
WEBHOOK_QUEUE = env.str("WEBHOOK_QUEUE", default="default")  # the Celery queue of delivery tasks
WEBHOOK_ENDPOINTS_PER_USER = 20
WEBHOOK_DISABLE_AFTER = timedelta(days=5)  # failing this long without a success disables an endpoint
WEBHOOK_RETRY_AFTER_MAX = timedelta(hours=10)  # a receiver's Retry-After is honoured up to this
WEBHOOK_RETENTION = timedelta(days=env.int("WEBHOOK_RETENTION_DAYS", default=30))  # delivery log kept

# --- logging --------------------------------------------------------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "text")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
CLIENT_ERROR_LOGGERS = [  # Django's SuspiciousOperation subclasses, each logged under its own name
    "RequestDataTooBig",
    "TooManyFieldsSent",
    "TooManyFilesSent",
    "DisallowedHost",
    "DisallowedRedirect",
    "SuspiciousOperation",
    "SuspiciousMultipartForm",
    "SuspiciousFileOperation",
    "SuspiciousSession",
]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "vod.request_context.RequestIdLogFilter"},
        "client_error": {"()": "vod.request_context.ClientErrorLogFilter"},
        "redact": {"()": "vod.log_redaction.RedactingLogFilter"},
    },
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
        "json": {
            "()": "vod.log_format.IsoJsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django logs these bad requests at ERROR with a traceback; they are the client's doing.
        **{f"django.security.{name}": {"filters": ["client_error"]} for name in CLIENT_ERROR_LOGGERS},
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}
