"""Sessionscope settings: one module, driven by the environment (see README, "Configuration")."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    """Read a comma-separated environment variable into a list, dropping blanks."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    """Read an integer environment variable, failing loudly on a malformed value."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-dev-key-only-for-debug"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    # Locks out repeated failed logins; attempts and lock-outs are in the admin (Axes).
    "axes",
    # Serves the interactive API docs (/api/docs) from our static files, not from a CDN: a
    # self-hosted install may have no way out to the internet.
    "ninja",
    # The default app config wraps the template loaders so "page.html#partial" names resolve.
    "template_partials",
    "sessions_app",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before the middleware that sets cookies, so it sees them on the way out.
    "dashboard.middleware.SecureCookiesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dashboard.middleware.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lock-out page.
    "axes.middleware.AxesMiddleware",
]
# The API paths (config/handlers.py API_PREFIXES: /api/v1/ and the OTLP receiver's paths) are
# called by agents and exporters with an API key, never with a browser session: they skip the
# middleware that exists for pages (config/handlers.py) but get the same response headers, host
# validation and Content-Length.
API_MIDDLEWARE = [
    # HEAD is answered as GET without the body; outermost, so every answer loses its body.
    "config.handlers.HeadAsGetMiddleware",
    # Before anything reads the body, so an oversized one is a JSON 413.
    "sessions_app.api.limits.BodySizeMiddleware",
    # Session and run ids holding `/`, sent as `%2F` (config/handlers.py).
    "config.handlers.EncodedSlashMiddleware",
    # Ninja's 405 is plain text; every API error is JSON.
    "config.handlers.JsonMethodNotAllowedMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "dashboard.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            "builtins": [
                "template_partials.templatetags.partials",
                "django_htmx.templatetags.django_htmx",
            ],
        },
    }
]

# The embedded default is a SQLite file next to the code; DATABASE_URL switches to PostgreSQL.
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so concurrent writers queue on the
    # timeout instead of failing with "database is locked" when a read lock is upgraded.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # Persistent connections took single-row POSTs from ~300/s to ~1,600/s on these machines.
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # The ingest and API-key statements (sessions_app/db.py) are prepared once per connection;
    # Django's own queries never are. Set DATABASE_PREPARED_STATEMENTS=0 behind a pooler in
    # transaction mode that cannot keep prepared statements (PgBouncer before 1.21).
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5

# CACHE_URL (e.g. redis://127.0.0.1:6379/1) shares the cache, and so the API rate limit's
# counters, between web processes; without it each process keeps its own.
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Outside DEBUG, static files are collected (`collectstatic`) into hashed, compressed names
# that can be cached forever; STATIC_MANIFEST=0 (the tests) serves them from the app folders.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST

# django-axes first: it refuses a locked-out user or client before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# After AXES_FAILURE_LIMIT failed logins, the user name is locked out, and so is the client's IP
# address (each counted on its own: one attacker trying many names, or many trying one), for
# AXES_COOLOFF_MINUTES. Admins see and lift lock-outs in the admin (Axes: access attempts) or
# with `manage.py axes_reset`, `axes_reset_username <name>`, `axes_reset_ip <ip>`.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind a reverse proxy every client has the proxy's address: set AXES_PROXY_COUNT to the
# number of proxies in front, so the client's address is read from X-Forwarded-For.
AXES_IPWARE_PROXY_COUNT = env_int("AXES_PROXY_COUNT", 0) or None
if AXES_IPWARE_PROXY_COUNT:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
# Cookies are marked Secure on every request that came over TLS (dashboard.middleware); this
# marks them Secure always, also when TLS ends at a proxy that does not say so.
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Behind a TLS-terminating proxy, requests arrive as plain HTTP: with TRUST_X_FORWARDED_PROTO on
# (only when the proxy sets X-Forwarded-Proto and strips it from clients), a request the proxy
# marks "https" counts as secure, so it gets HSTS and Secure cookies.
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Strict-Transport-Security on responses to secure requests only (SecurityMiddleware): a
# browser that reached the site over TLS keeps using TLS. 0 switches it off.
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Celery: no broker configured means tasks run in-process, eagerly (the embedded default).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# No task runs longer than this (a summary's model call included); the hard limit kills it.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 540)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A message taken by a worker that dies outright (no chance to give it back) is delivered
    # again after this many seconds. It must outlast the longest task (the hard time limit) and
    # the longest retry countdown (60 s), or a task still running would be run a second time;
    # kombu's default is an hour. summaries_reap_task re-queues a summary sooner, when its
    # worker no longer answers.
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + 120,
    # Fail fast when the broker is unreachable: a task that cannot be sent waits in the outbox
    # (sessions_app/services/outbox.py) instead of holding the request in kombu's reconnection
    # loop (3.5 to 6 s per request, measured).
    "socket_connect_timeout": 2,
    "max_retries": 0,
}
# Periodic tasks (run `celery -A config beat`).
CELERY_BEAT_SCHEDULE = {
    "retention-daily": {
        "task": "sessions_app.tasks.retention.retention_apply_all",
        "schedule": 86400,
    },
    # Tasks the broker refused while it was down are sent once it is back.
    "outbox-flush": {"task": "sessions_app.tasks.maintenance.outbox_flush_task", "schedule": 60},
    # Summaries whose worker was killed outright are re-queued within minutes.
    "summaries-reap": {
        "task": "sessions_app.tasks.maintenance.summaries_reap_task",
        "schedule": 60,
    },
    # Queue rules add their sample of new matching sessions.
    "review-queue-rules": {
        "task": "sessions_app.tasks.review.queue_rules_apply_all",
        "schedule": 300,
    },
}

# A running summary whose worker no longer answers is re-queued once it has run this long.
SUMMARY_REAP_GRACE_SECONDS = env_int("SUMMARY_REAP_GRACE_SECONDS", 60)

# Summaries: the model litellm calls. Without credentials for it, the extractive summarizer runs.
SUMMARY_MODEL = os.environ.get("SUMMARY_MODEL", "gpt-4o-mini")

# Ingest limits (documented in docs/api.md): oversize bodies and batches are refused with 413.
# A verified API key is reused for this many seconds by the process that checked it (0: look
# it up on every request). A revoked key stops working within this time in other processes.
API_KEY_CACHE_SECONDS = env_int("API_KEY_CACHE_SECONDS", 5)
# Requests per minute one API key may make (429 with Retry-After above it); 0: no limit. Counted
# in the cache: per process unless CACHE_URL points all web processes at one Redis.
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 0)
INGEST_MAX_BODY_BYTES = env_int("INGEST_MAX_BODY_BYTES", 5 * 1024 * 1024)
INGEST_MAX_EVENTS = env_int("INGEST_MAX_EVENTS", 1000)
INGEST_MAX_JSON_DEPTH = env_int("INGEST_MAX_JSON_DEPTH", 32)
# The OTLP receiver (docs/otel.md): the largest body, compressed or decompressed, and how many
# exports one process decodes and stores at once before answering 429 with Retry-After.
OTLP_MAX_BODY_BYTES = env_int("OTLP_MAX_BODY_BYTES", INGEST_MAX_BODY_BYTES)
OTLP_MAX_CONCURRENT = env_int("OTLP_MAX_CONCURRENT", 8)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(INGEST_MAX_BODY_BYTES, OTLP_MAX_BODY_BYTES) + 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # A client's error (4xx) is one line without a traceback (config/logging.py): on the console
    # handler too, for django.security.*'s records, which django.request's filters never see.
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["client_error_one_line"]}
    },
    "filters": {
        "api_not_found_at_info": {"()": "config.logging.ApiNotFoundAtInfo"},
        "client_error_one_line": {"()": "config.logging.ClientErrorOneLine"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Celery logs a line per task at INFO; with in-process tasks that floods the web log.
    "loggers": {
        "LiteLLM": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        # Axes logs every login attempt at INFO; lock-outs and failures are WARNING.
        "axes": {"level": "WARNING"},
        # A 404 under /api/ is an ordinary answer to a client (a new session's first read): INFO.
        "django.request": {"filters": ["api_not_found_at_info", "client_error_one_line"]},
    },
}
