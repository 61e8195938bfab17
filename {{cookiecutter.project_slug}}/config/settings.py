"""Django settings, read from the environment and from a .env file beside manage.py."""

import os
{%- if cookiecutter.auth == "jwt" %}
import secrets
{%- endif %}
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config.layers import channel_layers, redis_cache

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# pytest sets PYTEST_VERSION. The test process runs on local defaults (DEBUG on, a database
# of its own) and, like the servers the tests start (DJANGO_READ_DOT_ENV=false), never reads
# .env: tests must not reach the Redis or database a developer named there.
TESTING = "PYTEST_VERSION" in os.environ
if env.bool("DJANGO_READ_DOT_ENV", default=not TESTING):
    # Variables already in the environment win over the file.
    environ.Env.read_env(BASE_DIR / ".env")
# prometheus_client turns its multiprocess mode on when the variable exists, even empty (as
# .env.example leaves it), and would then write its files into the working directory.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)

PROJECT_NAME = {{ cookiecutter.project_name|pyliteral }}

DEBUG = env.bool("DJANGO_DEBUG", default=TESTING)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set: generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'` and export it, "
            "or set DJANGO_DEBUG=true for local development."
        )
    # Only with DJANGO_DEBUG=true: without it, start-up fails above.
    SECRET_KEY = "insecure-local-development-key-never-use-in-production"  # noqa: S105
# Earlier secret keys, comma-separated: what they signed (login sessions, password reset
# links) stays valid, so the key rotates without logging anyone out. Drop one after
# SESSION_COOKIE_AGE (two weeks).
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
{%- if cookiecutter.asgi_server == "daphne" %}
    # First, so that `runserver` is Daphne's ASGI development server.
    "daphne",
{%- endif %}
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "{{ cookiecutter.project_slug }}.core",
    "{{ cookiecutter.project_slug }}.accounts",
    "{{ cookiecutter.project_slug }}.chat",
    "{{ cookiecutter.project_slug }}.notifications",
    "{{ cookiecutter.project_slug }}.orders",
{%- if cookiecutter.use_presence %}
    "{{ cookiecutter.project_slug }}.presence",
{%- endif %}
]

MIDDLEWARE = [
    "{{ cookiecutter.project_slug }}.core.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

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
                "{{ cookiecutter.project_slug }}.core.context_processors.project",
            ],
        },
    },
]

DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
if TESTING:
    # pytest-django creates (and drops) its test_ copy of this one: SQLite in memory, or
    # TEST_DATABASE_URL, never the DATABASE_URL of the developer's environment.
    DATABASE_URL = env.str("TEST_DATABASE_URL", default="sqlite://:memory:")
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
# Under ASGI every request and consumer call runs on its own thread: persistent
# connections would pile up, so each one is closed after use, back into a pool.
DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Opening a PostgreSQL connection costs milliseconds; every socket handshake and
    # message reaches the database, so connections come from psycopg's pool.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env.int("DATABASE_POOL_SIZE", default=10),
        "timeout": 10,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Write-ahead logging: readers never wait for the writer, and a commit does not
    # wait for the disk (the log is synced at checkpoints; a power cut may lose the
    # last commits, never the database).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        transaction_mode="IMMEDIATE",
    )
# The sockets' database thread keeps its one connection (core/db.py); not in tests,
# whose database is dropped while that thread lives on.
SOCKET_DATABASE_KEEP_CONNECTION = not TESTING
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One Redis URL, or several separated by commas: the channel layer and presence then shard
# rooms and topics over all of them; the cache and /healthz use the first.
REDIS_URLS = env.list("REDIS_URL", default=[])
REDIS_URL = REDIS_URLS[0] if REDIS_URLS else ""
# The server closes sockets at this age (4010), and clients reconnect.
WEBSOCKET_MAX_AGE = env.int("WEBSOCKET_MAX_AGE", default=86400)
# Every Redis client of the project is sized and timed in config/layers.py, from here.
REDIS_MAX_CONNECTIONS = env.int("REDIS_MAX_CONNECTIONS", default=100)
CHANNEL_LAYERS = channel_layers(
    ",".join(REDIS_URLS),
    max_connections=REDIS_MAX_CONNECTIONS,
    group_expiry=WEBSOCKET_MAX_AGE,
)
# Frames a socket may fall behind its rooms (while its write buffer is full) before it is
# closed as a slow reader (4008), so that one slow client never holds up a room.
WEBSOCKET_SEND_BACKLOG = env.int("WEBSOCKET_SEND_BACKLOG", default=500)
# Daphne never makes a send wait (Twisted buffers without bound): there a socket whose send
# buffer stays full this many seconds is the slow reader closed with 4008 (core/server.py).
WEBSOCKET_SLOW_READER_SECONDS = env.float("WEBSOCKET_SLOW_READER_SECONDS", default=10)
# Limits of one client; 0 turns one off. Frames a socket may send a second, and at once; the
# same for all the sockets of one user together (across processes, in Redis when REDIS_URL
# is set). A frame past them gets an error frame with retry_after; a client that keeps
# sending after WEBSOCKET_RATE_LIMIT_STRIKES of those in a row is closed with 4029.
WEBSOCKET_MESSAGE_RATE = env.float("WEBSOCKET_MESSAGE_RATE", default=10)
WEBSOCKET_MESSAGE_BURST = env.int("WEBSOCKET_MESSAGE_BURST", default=20)
USER_MESSAGE_RATE = env.float("USER_MESSAGE_RATE", default=20)
USER_MESSAGE_BURST = env.int("USER_MESSAGE_BURST", default=40)
WEBSOCKET_RATE_LIMIT_STRIKES = env.int("WEBSOCKET_RATE_LIMIT_STRIKES", default=20)
# Sockets one user may have open at once, on every route and process; past it the
# handshake is refused with 4009.
USER_MAX_SOCKETS = env.int("USER_MAX_SOCKETS", default=20)
# Frames of one socket the server may hold unread (Daphne queues them without bound;
# Uvicorn stops reading): past it the socket is closed with 4029. 0 turns it off.
WEBSOCKET_RECEIVE_BACKLOG = env.int("WEBSOCKET_RECEIVE_BACKLOG", default=100)
# /metrics (Prometheus) answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it is
# off (404). Several processes sum their figures in PROMETHEUS_MULTIPROC_DIR (bin/serve).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# The default cache (login and order throttling): Redis when configured, so all processes share it.
CACHES = {"default": redis_cache(REDIS_URL, max_connections=REDIS_MAX_CONNECTIONS)}
# Login throttling (accounts/throttle.py) on every endpoint that takes a password: attempts
# per account and per client address in a window of LOGIN_FAILURE_WINDOW seconds; past
# either limit, logins are refused until the window ends. Successes are not counted.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=20)
LOGIN_FAILURE_WINDOW = env.int("LOGIN_FAILURE_WINDOW", default=300)
if min(LOGIN_FAILURE_LIMIT, LOGIN_ADDRESS_FAILURE_LIMIT, LOGIN_FAILURE_WINDOW) < 1:
    raise ImproperlyConfigured(
        "LOGIN_FAILURE_LIMIT, LOGIN_ADDRESS_FAILURE_LIMIT and LOGIN_FAILURE_WINDOW must be "
        "at least 1: they are attempts per account, attempts per address, and seconds."
    )

{%- if cookiecutter.use_presence %}
# Presence: every socket renews its entry (and its channel-layer groups) every
# PRESENCE_REFRESH_INTERVAL seconds; entries older than PRESENCE_CUTOFF are pruned, so the
# users of a crashed process leave within the cutoff.
SOCKET_EXTENSIONS = ["{{ cookiecutter.project_slug }}.presence.extension.PresenceExtension"]
PRESENCE_REFRESH_INTERVAL = env.float("PRESENCE_REFRESH_INTERVAL", default=15)
PRESENCE_CUTOFF = env.float("PRESENCE_CUTOFF", default=45)
if not 0 < 2 * PRESENCE_REFRESH_INTERVAL <= PRESENCE_CUTOFF:
    raise ImproperlyConfigured(
        "PRESENCE_CUTOFF must be at least twice PRESENCE_REFRESH_INTERVAL, or live users "
        "are pruned between two refreshes."
    )
{%- endif %}

CHAT_HISTORY_LENGTH = env.int("CHAT_HISTORY_LENGTH", default=50)
# Messages a reconnecting client may have missed and still get all of (it says the last id
# it saw); past it, it is told so and gets the latest history.
CHAT_RECOVERY_LIMIT = env.int("CHAT_RECOVERY_LIMIT", default=1000)
CHAT_MESSAGE_MAX_LENGTH = env.int("CHAT_MESSAGE_MAX_LENGTH", default=4000)
# Characters of a client frame, checked before it is parsed (longer ones get an error
# frame): room for the longest message written entirely in JSON escapes (12 characters for
# a character outside the BMP), and for the frame's other keys.
WEBSOCKET_FRAME_MAX_LENGTH = env.int(
    "WEBSOCKET_FRAME_MAX_LENGTH", default=12 * CHAT_MESSAGE_MAX_LENGTH + 1024
)

# Orders (orders/services.py): seconds each processing step takes, so that a person sees
# the updates arrive; larger orders than ORDER_STOCK fail (the example's business rule).
ORDER_STEP_SECONDS = env.float("ORDER_STEP_SECONDS", default=1.0)
ORDER_STOCK = env.int("ORDER_STOCK", default=10)
# Orders one user may place in a window of ORDER_RATE_WINDOW seconds; past it the page and
# the API answer 429 with Retry-After until the window ends. Counted in the cache (Redis
# when configured, shared by every process); orders go through while it is away.
ORDER_RATE_LIMIT = env.int("ORDER_RATE_LIMIT", default=10)
ORDER_RATE_WINDOW = env.int("ORDER_RATE_WINDOW", default=60)
if min(ORDER_RATE_LIMIT, ORDER_RATE_WINDOW) < 1:
    raise ImproperlyConfigured(
        "ORDER_RATE_LIMIT and ORDER_RATE_WINDOW must be at least 1: they are orders per "
        "user, and seconds."
    )
{%- if cookiecutter.use_celery %}

# Celery (config/celery.py reads every CELERY_ setting): Redis as broker and result
# backend, JSON only, acknowledged after the task ran (a worker that dies mid-task leaves it
# for another), with time limits below the visibility timeout so that a running task is
# never handed out twice. In tests, tasks run in the test process (eager) unless a test
# starts a worker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=TESTING)
CELERY_TASK_EAGER_PROPAGATES = True
if not REDIS_URL and not CELERY_TASK_ALWAYS_EAGER:
    raise ImproperlyConfigured(
        "REDIS_URL is not set: Celery needs Redis as its broker. Start `redis-server` and "
        "set REDIS_URL=redis://127.0.0.1:6379/0 (in .env), or set CELERY_TASK_ALWAYS_EAGER=true "
        "to run tasks inside the web process (development only)."
    )
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_ACCEPT_CONTENT = ["json"]
# The order row is the result: tasks store none unless they ask to (ignore_result=False).
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 86400
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One task at a time per worker process: with acks late, prefetched tasks would wait
# behind a long one (and be redelivered if the worker dies).
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The longest task may run CELERY_TASK_TIME_LIMIT seconds (then its process is killed);
# at the soft limit it gets SoftTimeLimitExceeded and records the failure.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int(
    "CELERY_TASK_SOFT_TIME_LIMIT", default=max(1, CELERY_TASK_TIME_LIMIT - 30)
)
# An unacknowledged task goes back to the queue this many seconds after it was handed out:
# longer than the time limit, or a task still running would run a second time.
CELERY_VISIBILITY_TIMEOUT = env.int(
    "CELERY_VISIBILITY_TIMEOUT", default=2 * CELERY_TASK_TIME_LIMIT
)
if not 0 < CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT < CELERY_VISIBILITY_TIMEOUT:
    raise ImproperlyConfigured(
        "Celery's timers must hold CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT < "
        "CELERY_VISIBILITY_TIMEOUT: a task still running past the visibility timeout is "
        "handed to a second worker."
    )
# Retries of tasks that met a Redis or database hiccup: at most this many, with
# exponential back-off (1, 2, 4, ... s, capped, with full jitter).
CELERY_TASK_MAX_RETRIES = env.int("CELERY_TASK_MAX_RETRIES", default=5)
CELERY_TASK_RETRY_BACKOFF_MAX = env.int("CELERY_TASK_RETRY_BACKOFF_MAX", default=60)
# Every Redis client sized and timed on purpose (redis-py's defaults: 100 connections per
# pool, 5 s socket timeouts), for the broker and for the result backend.
CELERY_BROKER_POOL_LIMIT = env.int("CELERY_BROKER_POOL_LIMIT", default=10)
CELERY_BROKER_CONNECTION_TIMEOUT = 5
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Seconds between a worker's sweeps for tasks whose worker died (unacknowledged past the
# visibility timeout), which it puts back in the queue.
CELERY_RESTORE_INTERVAL = env.int("CELERY_RESTORE_INTERVAL", default=60)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # kombu sweeps every interval x throttle seconds (100 by default): here every interval.
    "unacked_restore_interval": CELERY_RESTORE_INTERVAL,
    "unacked_restore_throttle": 1,
    # A worker killed during a sweep leaves its lock behind: kombu's 300 s default would
    # stop every sweep, so every redelivery, for five minutes.
    "unacked_mutex_expire": max(CELERY_RESTORE_INTERVAL, 5),
    "max_connections": CELERY_BROKER_POOL_LIMIT,
    # Above the worker's 1 s blocking pop, so an idle worker never times out.
    "socket_timeout": 30,
    "socket_connect_timeout": 5,
    "socket_keepalive": True,
    "health_check_interval": 25,
    "retry_on_timeout": True,
}
CELERY_REDIS_MAX_CONNECTIONS = CELERY_BROKER_POOL_LIMIT
CELERY_REDIS_SOCKET_TIMEOUT = 30
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 5
CELERY_REDIS_RETRY_ON_TIMEOUT = True
CELERY_REDIS_BACKEND_HEALTH_CHECK_INTERVAL = 25
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 5, "interval_start": 0.2, "interval_step": 0.5}
}
# Worker processes per `bin/worker` (one per core is a start; tasks that wait on I/O take
# more).
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=2)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
{%- endif %}

# How sockets authenticate: "session" (login cookie) or "jwt" (access tokens), and the
# accounts app's mixin that does it for every consumer (core/consumers.py imports it from
# here, so that core depends on no feature app).
SOCKET_AUTH = "{{ cookiecutter.auth }}"
SOCKET_AUTH_MIXIN = "{{ cookiecutter.project_slug }}.accounts.socket_auth.SocketAuthMixin"
{%- if cookiecutter.auth == "session" %}
# Sessions in the database, whose deletion (logout, admin, clearsessions) closes their
# sockets, on every server process (accounts/sessions.py).
SESSION_ENGINE = "{{ cookiecutter.project_slug }}.accounts.sessions"
{%- endif %}
{%- if cookiecutter.auth == "jwt" %}

# Access tokens (PyJWT, HMAC). The signing key is its own secret, not SECRET_KEY.
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="")
if TESTING and not JWT_SIGNING_KEY:
    JWT_SIGNING_KEY = secrets.token_urlsafe(48)
if len(JWT_SIGNING_KEY.encode()) < 32:
    raise ImproperlyConfigured(
        "JWT_SIGNING_KEY is missing or shorter than 32 bytes: generate one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` and export it."
    )
# Earlier signing keys, comma-separated: tokens they signed stay valid until they expire,
# so the key rotates without logging anyone out. Drop one after JWT_REFRESH_TOKEN_LIFETIME.
JWT_SIGNING_KEY_FALLBACKS = env.list("JWT_SIGNING_KEY_FALLBACKS", default=[])
if any(len(key.encode()) < 32 for key in JWT_SIGNING_KEY_FALLBACKS):
    raise ImproperlyConfigured(
        "JWT_SIGNING_KEY_FALLBACKS holds a key shorter than 32 bytes: list earlier values "
        "of JWT_SIGNING_KEY there, separated by commas."
    )
JWT_ALGORITHM = env.str("JWT_ALGORITHM", default="HS256")
if JWT_ALGORITHM not in {"HS256", "HS384", "HS512"}:
    raise ImproperlyConfigured(f"JWT_ALGORITHM must be HS256, HS384 or HS512, not {JWT_ALGORITHM}")
JWT_ACCESS_TOKEN_LIFETIME = env.int("JWT_ACCESS_TOKEN_LIFETIME", default=300)
JWT_REFRESH_TOKEN_LIFETIME = env.int("JWT_REFRESH_TOKEN_LIFETIME", default=86400)
JWT_ISSUER = env.str("JWT_ISSUER", default="{{ cookiecutter.project_slug }}")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="{{ cookiecutter.project_slug }}")
{%- endif %}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat:index"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where `manage.py collectstatic` puts the files WhiteNoise serves (and nginx, if used).
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default="") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Production: HTTPS everywhere, behind a proxy that sets X-Forwarded-Proto.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# "plain" lines, or "json": one object a line, with the id of its request or socket.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f'LOG_FORMAT must be "plain" or "json", not {LOG_FORMAT!r}')
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "{{ cookiecutter.project_slug }}.core.logs.JsonFormatter"},
    },
    "filters": {
        # Tokens may arrive in query strings; no log line may carry one.
        "redact_query": {"()": "config.log_filters.RedactQueryString"},
        "log_context": {"()": "{{ cookiecutter.project_slug }}.core.logs.LogContext"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact_query", "log_context"],
        }
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "{{ cookiecutter.project_slug }}": {"level": LOG_LEVEL},
        "django.request": {"level": "WARNING"},
{%- if cookiecutter.use_celery %}
        # The worker's own lines (ready, task received and done) in this format.
        "celery": {"level": LOG_LEVEL},
{%- endif %}
{%- if cookiecutter.asgi_server == "uvicorn" %}
        # Uvicorn logs `WebSocket /path?token=...` at INFO, and the access log writes query
        # strings: both go through the console handler, whose filter removes them.
        "uvicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "uvicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
{%- endif %}
    },
}
