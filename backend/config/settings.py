"""Settings for EdgeFlow Studio, each read from an environment variable (README, "Configuration").

A flat read: no branches and no side effects here (importing them writes nothing); what takes more than a default lives in `backend.config.env`.
The test suite runs `backend.config.test_settings`, these plus the values only tests want.
"""

from pathlib import Path

from backend.config.env import (
    caches,
    channel_layers,
    database,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    job_runner_default,
    proxy_ssl_header,
    secret_key,
)

REPO_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(env_str("EDGEFLOW_VAR_DIR", str(REPO_DIR / "var")))

SECRET_KEY = secret_key(VAR_DIR)  # SECRET_KEY, else var/secret_key written by `manage.py migrate`
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
CSRF_FAILURE_VIEW = "backend.web.errors.csrf_failure"  # the styled 403 page, saying what to do

# Behind HTTPS (deploy/env.example turns these on): cookies only over TLS, HSTS, and the proxy's word on the scheme.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
# "1" trusts X-Forwarded-Proto: https from the reverse proxy (set it only behind one that always sets the header).
SECURE_PROXY_SSL_HEADER = proxy_ssl_header(env_bool("TRUST_X_FORWARDED_PROTO", False))
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "channels",
    "csp",
    "backend.common",
    "backend.accounts",
    "backend.projects",
    "backend.images",
    "backend.annotations",
    "backend.interactive",
    "backend.collab",
    "backend.training",
    "backend.exports",
    "backend.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

# Content-Security-Policy of every page (django-csp): scripts only from our own files, so that nothing a user
# uploads or types can run in the app's origin. Inline styles stay allowed (Konva and chips set them).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

ROOT_URLCONF = "backend.config.urls"
ASGI_APPLICATION = "backend.config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# DATABASE_URL, else an SQLite file under var/ (write-ahead log, writers wait for each other).
DATABASES = {
    "default": database(
        env_str("DATABASE_URL", ""),
        sqlite_file=VAR_DIR / "edgeflow.sqlite3",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        sqlite_busy_timeout_s=env_int("SQLITE_BUSY_TIMEOUT_S", 30),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Django's ModelBackend, refusing while a username or address is throttled (backend.accounts.throttling).
AUTHENTICATION_BACKENDS = ["backend.accounts.throttling.ThrottledModelBackend"]
# Password guessing: after this many failures within the window, 429 until it ends (per username, per address).
LOGIN_MAX_FAILURES_PER_USER = env_int("LOGIN_MAX_FAILURES_PER_USER", 5)
LOGIN_MAX_FAILURES_PER_ADDRESS = env_int("LOGIN_MAX_FAILURES_PER_ADDRESS", 50)
LOGIN_FAILURE_WINDOW_S = env_int("LOGIN_FAILURE_WINDOW_S", 900)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    # Image files are named by their content: saving a name again replaces it (atomically) instead of renaming.
    "default": {"BACKEND": "backend.common.storage.ReplacingFileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
STATICFILES_DIRS = [d for d in [REPO_DIR / "frontend" / "dist"] if d.exists()]
# Serve the built frontend straight from frontend/dist too, so that `make test` needs no collectstatic.
WHITENOISE_USE_FINDERS = True
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# Uploads: the largest accepted request, and the decompression-bomb guard in pixels.
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 1024 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
MAX_IMAGE_PIXELS = env_int("MAX_IMAGE_PIXELS", 150_000_000)
# Images above TILED_MIN_PIXELS are checked and stored streaming, as a tile pyramid (backend.images.large); the
# bomb guard for them is MAX_TILED_PIXELS (what the tiled path can take), not MAX_IMAGE_PIXELS: 2³² - 1, as an
# object's mask is a COCO RLE, whose run lengths are 32-bit (about 65535 × 65535).
TILED_MIN_PIXELS = env_int("TILED_MIN_PIXELS", 4096 * 4096)
MAX_TILED_PIXELS = env_int("MAX_TILED_PIXELS", 2**32 - 1)
MAX_SOURCE_SAMPLES = env_int("MAX_SOURCE_SAMPLES", 1_000_000_000)
MAX_ZIP_MEMBERS = env_int("MAX_ZIP_MEMBERS", 10_000)
# Counts the file bytes of each request as they arrive, before Django's handlers keep them.
FILE_UPLOAD_HANDLERS = [
    "backend.common.upload_handlers.UploadLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# The largest COCO JSON document an import parses (parsing holds several times its size in memory).
MAX_IMPORT_BYTES = env_int("MAX_IMPORT_BYTES", 64 * 1024 * 1024)
# One object's polygons: checking costs per vertex, rasterising costs each polygon's bounding box (in image areas).
MAX_POLYGONS_PER_OBJECT = env_int("MAX_POLYGONS_PER_OBJECT", 1000)
MAX_VERTICES_PER_OBJECT = env_int("MAX_VERTICES_PER_OBJECT", 50_000)
MAX_POLYGON_BOX_COVERAGE = env_int("MAX_POLYGON_BOX_COVERAGE", 16)
THUMBNAIL_SIZE = env_int("THUMBNAIL_SIZE", 256)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first so that anonymous API calls get 401 with a WWW-Authenticate header.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 50),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "backend.common.exceptions.api_exception_handler",
    # JSON bodies: 413 above DATA_UPLOAD_MAX_MEMORY_SIZE, 400 when nested too deep (never a RecursionError).
    "DEFAULT_PARSER_CLASSES": [
        "backend.common.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "EdgeFlow Studio API",
    "DESCRIPTION": "Projects, labels, images, batches and annotation objects.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Fine-tuning and export jobs share one status enum; several models have a field named "status".
    "ENUM_NAME_OVERRIDES": {"JobStatusEnum": "backend.common.job_status.JobStatus"},
}

# Embedded default: no REDIS_URL → in-memory channel layer and cache, in-process inference.
REDIS_URL = env_str("REDIS_URL", "")
CHANNEL_LAYERS = channel_layers(REDIS_URL)
CACHES = caches(REDIS_URL)
INFERENCE_BACKEND = env_str("INFERENCE_BACKEND", job_runner_default(REDIS_URL))
INFERENCE_TIMEOUT_S = env_int("INFERENCE_TIMEOUT_S", 20)
# A click the warm workers could not start within this many seconds is answered `busy` with a time to retry.
INFERENCE_MAX_WAIT_S = env_float("INFERENCE_MAX_WAIT_S", 3.0)
INFERENCE_IMAGE_CACHE_BYTES = env_int("INFERENCE_IMAGE_CACHE_MB", 512) * 1024 * 1024
INFERENCE_SESSION_CACHE_SIZE = env_int("INFERENCE_SESSION_CACHE_SIZE", 32)
# Larger images are segmented on a copy scaled down to this many pixels, built once and kept in this folder.
INFERENCE_MAX_PIXELS = env_int("INFERENCE_MAX_PIXELS", 4096 * 4096)
INFERENCE_WORKING_DIR = Path(env_str("INFERENCE_WORKING_DIR", str(MEDIA_ROOT / "working")))
# Engine per model (ml.inference.engines: torch, torch-fused, openvino, openvino-bf16, openvino-int8, torch-cuda);
# empty = torch-cuda where torch sees a GPU, else the fastest this CPU runs natively whose guard passed. A failing
# engine (torch-cuda without a GPU too) falls back to torch with a warning saying why.
INFERENCE_ENGINE = env_str("INFERENCE_ENGINE", "")
# Threads one inference process gives a forward; 0 = the engine's default (every core). See deploy/README.md for
# threads × workers per core count.
INFERENCE_THREADS = env_int("INFERENCE_THREADS", 0)
WS_MAX_MESSAGES_PER_SECOND = env_int("WS_MAX_MESSAGES_PER_SECOND", 30)
# While an object is under way, a request re-checks the socket's login when the last check is older than this.
WS_LOGIN_RECHECK_S = env_int("WS_LOGIN_RECHECK_S", 30)
# Teamwork (backend/collab): a lease on an object lives this long unless its socket's heartbeats (every
# LEASE_HEARTBEAT_S) renew it; a socket that sent nothing for LEASE_SILENCE_S (at least two heartbeats) is taken
# for a dropped connection and its lease released; a presence entry not refreshed for PRESENCE_TTL_S is dropped.
LEASE_TTL_S = env_float("LEASE_TTL_S", 60.0)
LEASE_HEARTBEAT_S = env_float("LEASE_HEARTBEAT_S", 15.0)
LEASE_SILENCE_S = env_float("LEASE_SILENCE_S", 30.0)
PRESENCE_TTL_S = env_float("PRESENCE_TTL_S", 45.0)

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker busy with a click holds no second one (which an idle worker would otherwise wait beside).
CELERY_WORKER_DISABLE_PREFETCH = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_ROUTES = {"interactive.run_click_job": {"queue": "inference"}}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

DEFAULT_MODEL_NAME = env_str("EDGEFLOW_DEFAULT_MODEL", "hrnet18-ocr64-cocolvis")

# "Fine-tune on this project" jobs (backend.training): a Celery task on the `training` queue in team mode,
# a background thread of the server in the embedded default.
TRAINING_BACKEND = env_str("TRAINING_BACKEND", job_runner_default(REDIS_URL))
FINETUNE_ITERATIONS = env_int("FINETUNE_ITERATIONS", 60)
FINETUNE_LR = env_float("FINETUNE_LR", 1e-4)
FINETUNE_BATCH_SIZE = env_int("FINETUNE_BATCH_SIZE", 2)
FINETUNE_CROP_SIZE = (env_int("FINETUNE_CROP_HEIGHT", 320), env_int("FINETUNE_CROP_WIDTH", 480))
FINETUNE_THREADS = env_int("FINETUNE_THREADS", 1)
FINETUNE_MIN_OBJECTS = env_int("FINETUNE_MIN_OBJECTS", 2)
FINETUNE_HELDOUT_FRACTION = env_float("FINETUNE_HELDOUT_FRACTION", 0.25)
FINETUNE_MAX_HELDOUT = env_int("FINETUNE_MAX_HELDOUT", 50)
FINETUNE_VAL_MAX_CLICKS = env_int("FINETUNE_VAL_MAX_CLICKS", 10)
FINETUNE_TIMEOUT_S = env_int("FINETUNE_TIMEOUT_S", 6 * 3600)

# Export jobs (backend.exports): a Celery task on the `default` queue in team mode ("celery"), a child process per
# job in the embedded default ("process", at EXPORT_NICENESS), or a thread of the server ("local"). Archives are written under EXPORTS_DIR (empty: MEDIA_ROOT/exports, shared with
# the workers like the media) and deleted EXPORT_RETENTION_HOURS after they finish; a job still active after
# EXPORT_TIMEOUT_S died with its worker.
EXPORTS_BACKEND = env_str("EXPORTS_BACKEND", "celery" if REDIS_URL else "process")
EXPORT_NICENESS = env_int("EXPORT_NICENESS", 5)
EXPORTS_DIR = env_str("EXPORTS_DIR", "")
EXPORT_RETENTION_HOURS = env_float("EXPORT_RETENTION_HOURS", 24.0)
EXPORT_TIMEOUT_S = env_int("EXPORT_TIMEOUT_S", 2 * 3600)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
