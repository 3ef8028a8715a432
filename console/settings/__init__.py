"""Kiln's Django settings, all read from the environment (see .env.example).

Defaults run locally with nothing installed: the launcher starts embedded PostgreSQL
and Redis under var/ and points DATABASE_URL / REDIS_URL at their sockets.
"""

from __future__ import annotations

from pathlib import Path

from console.settings.env import database_from_url, env_bool, env_int, env_list, env_networks, env_str

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("KILN_DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    # A per-checkout key, generated once and kept under var/ (never committed).
    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        import secrets

        VAR_DIR.mkdir(exist_ok=True)
        _key_file.write_text(secrets.token_urlsafe(50))
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
# Host names clients reach Kiln by (e.g. api.kumulos.com pointed here by DNS): served too.
KILN_CLIENT_HOSTS = env_list("KILN_CLIENT_HOSTS", [])
ALLOWED_HOSTS += [host for host in KILN_CLIENT_HOSTS if host not in ALLOWED_HOSTS]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "django_celery_beat",
    "console",
    "console.accounts",
    "console.apps",
    "console.tables",
    "apimethods",
    "console.schedules",
    "console.events",
    "console.logs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Client API calls leave here: they need none of the browser middleware below.
    "apimethods.client.ClientEndpointMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"
ASGI_APPLICATION = "console.asgi.application"

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

DATABASE_URL = env_str("DATABASE_URL", f"postgresql://postgres@/kiln?host={VAR_DIR / 'postgres' / 'run'}")
DATABASES = {"default": database_from_url(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("KILN_DB_CONN_MAX_AGE", 600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Django turns prepared statements off (prepare_threshold None, for transaction poolers,
# which Kiln does not support: see README). Kiln prepares only what it marks
# `prepare=True` — the client endpoint's app lookup and K.select — never anything by count.
DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 2**31 - 1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# App SQL runs on connections logged in as each app's role (console.tables.isolation),
# pooled per process: at most this many idle ones are kept, least recently used closed first.
KILN_APP_CONNECTIONS = env_int("KILN_APP_CONNECTIONS", 8)

REDIS_URL = env_str("REDIS_URL", f"unix://{VAR_DIR / 'redis' / 'redis.sock'}")


def _celery_url(url: str) -> str:
    # kombu spells a Unix socket redis+socket://; redis-py and channels-redis spell it unix://.
    return "redis+socket://" + url.removeprefix("unix://") if url.startswith("unix://") else url


CELERY_BROKER_URL = _celery_url(REDIS_URL)
CELERY_RESULT_BACKEND = _celery_url(REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
CELERY_TIMEZONE = "UTC"
# Celery's Django fixup otherwise closes the database connection before and after every
# task: a new PostgreSQL connection per scheduled run. Workers keep theirs as the web does
# (CONN_MAX_AGE, health checks); console/celery.py checks it after each task instead.
CELERY_DB_REUSE_MAX = 1_000_000_000

# Scheduled KScripts (console/schedules; docs/decisions.md "Scheduled KScripts"). Beat sends
# a tick every KILN_SCHEDULE_TICK_MS; the tick queues the runs due within the lead time
# (with their due time as ETA). Ticks and runs go to their own queue, which a worker
# started without -Q consumes beside the default one.
KILN_SCHEDULE_QUEUE = env_str("KILN_SCHEDULE_QUEUE", "kiln-schedules")
KILN_SCHEDULE_TICK_MS = env_int("KILN_SCHEDULE_TICK_MS", 1000)
KILN_SCHEDULE_LEAD_MS = env_int("KILN_SCHEDULE_LEAD_MS", 2000)
# Runs due at the same moment go out as at most this many messages sharing their ids
# (each message's task takes the next unclaimed run): at least the worker processes.
KILN_SCHEDULE_FANOUT = env_int("KILN_SCHEDULE_FANOUT", 8)
# A run still "running" this long after its time limit is lost (its worker died); one
# still queued this long after its due time is lost too (its message never ran).
KILN_SCHEDULE_LOST_AFTER_SECONDS = env_int("KILN_SCHEDULE_LOST_AFTER_SECONDS", 60)
KILN_SCHEDULE_QUEUE_LIMIT_SECONDS = env_int("KILN_SCHEDULE_QUEUE_LIMIT_SECONDS", 600)
KILN_SCHEDULE_HISTORY_DAYS = env_int("KILN_SCHEDULE_HISTORY_DAYS", 7)
# One app may have at most this many schedules (each one ticks and fills a history).
KILN_MAX_SCHEDULES_PER_APP = env_int("KILN_MAX_SCHEDULES_PER_APP", 50)
# K.analytics / K.users: the longest one page of events may take to read (also never past
# the run's own deadline).
KILN_EVENT_QUERY_TIMEOUT_MS = env_int("KILN_EVENT_QUERY_TIMEOUT_MS", 10_000)
# Stored client events older than this (by when they happened) are deleted, hourly.
KILN_EVENT_RETENTION_DAYS = env_int("KILN_EVENT_RETENTION_DAYS", 90)
# The invocation log (console/logs): client calls older than this are deleted, hourly.
KILN_LOG_RETENTION_DAYS = env_int("KILN_LOG_RETENTION_DAYS", 7)
CELERY_TASK_QUEUES = {"celery": {}, KILN_SCHEDULE_QUEUE: {}}
CELERY_BEAT_SCHEDULE.update(
    {
        "kiln-schedule-tick": {
            "task": "console.schedules.tick_schedules_task",
            "schedule": KILN_SCHEDULE_TICK_MS / 1000,
            # A tick that waited longer than a few intervals is stale: the next one does its work.
            "options": {"queue": KILN_SCHEDULE_QUEUE, "expires": max(5.0, KILN_SCHEDULE_TICK_MS / 200)},
        },
        "kiln-schedule-sweep": {
            "task": "console.schedules.sweep_schedule_runs_task",
            "schedule": 30.0,
            "options": {"queue": KILN_SCHEDULE_QUEUE, "expires": 60.0},
        },
        "kiln-schedule-prune": {
            "task": "console.schedules.prune_schedule_runs_task",
            "schedule": 3600.0,
            "options": {"queue": KILN_SCHEDULE_QUEUE, "expires": 600.0},
        },
        # Automations' runs share the schedules' queue, time limits and history length.
        "kiln-automation-sweep": {
            "task": "console.events.sweep_automation_runs_task",
            "schedule": 30.0,
            "options": {"queue": KILN_SCHEDULE_QUEUE, "expires": 60.0},
        },
        "kiln-automation-prune": {
            "task": "console.events.prune_automation_runs_task",
            "schedule": 3600.0,
            "options": {"queue": KILN_SCHEDULE_QUEUE, "expires": 600.0},
        },
        "kiln-event-prune": {
            "task": "console.events.prune_events_task",
            "schedule": 3600.0,
            "options": {"queue": KILN_SCHEDULE_QUEUE, "expires": 600.0},
        },
    }
)

CELERY_BEAT_SCHEDULE["kiln-call-log-prune"] = {
    "task": "console.logs.prune_call_log_task",
    "schedule": 3600.0,
    "options": {"expires": 600.0},
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL}]},
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "kiln",
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("KILN_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LOGIN_URL = "/login"
# Proxies whose X-Forwarded-For is believed (addresses or CIDR ranges). Without any, the
# client's address is the TCP peer's, whatever headers it sends (console.accounts.throttling).
KILN_TRUSTED_PROXIES = env_networks("KILN_TRUSTED_PROXIES")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env_str("KILN_STATIC_ROOT", str(VAR_DIR / "static"))
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.exists() else []
WHITENOISE_USE_FINDERS = True  # serve a fresh `npm run build` without collectstatic
WHITENOISE_KEEP_ONLY_HASHED_FILES = False


def _immutable_file_test(path: str, url: str) -> bool:
    # Vite puts a content hash in every file under assets/.
    return url.startswith(STATIC_URL + "assets/")


WHITENOISE_IMMUTABLE_FILE_TEST = _immutable_file_test

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "EXCEPTION_HANDLER": "console.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kiln console API",
    "DESCRIPTION": "JSON API behind Kiln's browser console (session auth + CSRF).",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# Client API (Kumulos wire protocol)
KILN_MAX_BODY_BYTES = env_int("KILN_MAX_BODY_BYTES", 10 * 1024 * 1024)
# Origins whose browser pages may call the client API (CORS); "*": any (calls carry keys, not cookies).
KILN_CORS_ORIGINS = env_list("KILN_CORS_ORIGINS", ["*"])
KILN_WS_URL = env_str("KILN_WS_URL", "ws://{host}:8001")
KILN_SCRIPT_TIMEOUT_SECONDS = env_int("KILN_SCRIPT_TIMEOUT_SECONDS", 30)
# One deadline for a client call and everything it starts (nested runs, SQL): the Android
# SDK gives up after 10 s. Never more than the app's own script time limit; Run It! and
# scheduled runs keep that longer one.
KILN_CLIENT_TIMEOUT_SECONDS = env_int("KILN_CLIENT_TIMEOUT_SECONDS", 10)
KILN_SCRIPT_MEMORY_MIB = env_int("KILN_SCRIPT_MEMORY_MIB", 128)
# K.session quotas, in bytes of compact UTF-8 JSON: one value, and a whole session (keys too).
KILN_SESSION_VALUE_BYTES = env_int("KILN_SESSION_VALUE_BYTES", 64 * 1024)
KILN_SESSION_BYTES = env_int("KILN_SESSION_BYTES", 1024 * 1024)

# Serving (console/serving): per web process, see docs/decisions.md "Serving model".
KILN_CLIENT_THREADS = env_int("KILN_CLIENT_THREADS", 16)
KILN_CONSOLE_THREADS = env_int("KILN_CONSOLE_THREADS", 8)
KILN_APP_CONCURRENCY = env_int("KILN_APP_CONCURRENCY", 4)
KILN_CONSOLE_APP_CONCURRENCY = env_int("KILN_CONSOLE_APP_CONCURRENCY", 2)
KILN_APP_QUEUE = env_int("KILN_APP_QUEUE", 64)
KILN_APP_QUEUE_WAIT_MS = env_int("KILN_APP_QUEUE_WAIT_MS", 2000)
KILN_KEEPALIVE_SECONDS = env_int("KILN_KEEPALIVE_SECONDS", 60)
KILN_HEADER_TIMEOUT_SECONDS = env_int("KILN_HEADER_TIMEOUT_SECONDS", 10)
KILN_MAX_UPLOAD_BYTES = env_int("KILN_MAX_UPLOAD_BYTES", 64 * 1024 * 1024)
KILN_MAX_CONNECTIONS = env_int("KILN_MAX_CONNECTIONS", 4096)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("KILN_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
