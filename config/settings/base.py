"""Settings shared by every mode, read from the environment (django-environ).

With nothing configured Vigil runs on the embedded defaults: an SQLite file under ``var/``
and Celery tasks executed in-process. Production (``config.settings.production``) requires
a secret key and turns on every transport-security setting.
"""

from pathlib import Path

import environ
import plotly
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
# Only the development default may be insecure; production.py refuses to start without one.
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdefghijklmnop")
if not DEBUG and SECRET_KEY.startswith("dev-only"):
    # The published development key would let anyone forge sessions and CSRF tokens.
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "axes",
    "csp",
    "core",
    "audit",
    "portfolios",
    "riskapp",
    "surveillance",
    "execution_quality",
    "wealth",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestContextMiddleware",
    # Inside the request context: one access log line and the HTTP metrics per request.
    "core.middleware.AccessMiddleware",
    # Health and token-authenticated /metrics, answered before host validation and sessions.
    "core.middleware.ProbeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so it sees the outcome of authentication (django-axes' requirement).
    "axes.middleware.AxesMiddleware",
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
                "core.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'vigil.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# A restarted PostgreSQL must not fail the next request on a stale persistent connection.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# A statement that waits longer than this for a lock fails (PostgreSQL ``lock_timeout``) instead of
# queueing behind a long migration or a stuck transaction; the calculation run that hit it is
# retried (``RUN_MAX_RETRIES``). 0 (the default) waits for as long as it takes.
DB_LOCK_TIMEOUT_MS = env.int("DB_LOCK_TIMEOUT_MS", default=0)
if DB_LOCK_TIMEOUT_MS > 0 and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    _db_options["options"] = f"{_db_options.get('options', '')} -c lock_timeout={DB_LOCK_TIMEOUT_MS}".strip()
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database host that stops answering fails a connection attempt in seconds (libpq's
    # default is none, i.e. minutes): a request or a /health/ probe never outlives gunicorn's timeout.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", default=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttling, pre-trade state later) ----------------------------------------------
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://vigil")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "core.cache.VigilRedisCache"  # reuses its Redis clients
    # A cache Redis that is down or hung fails fast instead of holding the request.
    CACHES["default"].setdefault("OPTIONS", {}).update(socket_connect_timeout=1.0, socket_timeout=1.0)

# --- Authentication -------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Idle timeout: the session expires after SESSION_IDLE_SECONDS without a request.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Reverse proxies in front of Vigil that append to X-Forwarded-For (0: clients connect directly).
# The client IP used by the audit trail, login lockout and throttling is the address the
# outermost trusted proxy saw; a client-sent header is never trusted beyond that.
PROXY_COUNT = env.int("PROXY_COUNT", default=0)
AXES_IPWARE_PROXY_COUNT = PROXY_COUNT
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if PROXY_COUNT else ["REMOTE_ADDR"]

# Login lockout (django-axes): AXES_FAILURE_LIMIT failures for one username+IP lock it
# for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=15.0) / 60.0
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# --- Static files (whitenoise; htmx and plotly come from their installed packages) ----------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/plotly", Path(plotly.__file__).resolve().parent / "package_data"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.api.negotiation.VigilContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.TimeCursorPagination",
    "PAGE_SIZE": 500,
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.VigilAutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="1200/min"),
        "pretrade": env.str("API_THROTTLE_PRETRADE", default="60000/min"),
    },
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "NUM_PROXIES": PROXY_COUNT,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Vigil API",
    "DESCRIPTION": (
        "Risk and compliance platform. Bulk ingestion for order-management systems, "
        "read endpoints with cursor pagination. Authenticate with `Authorization: Api-Key <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets come from the installed sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "InstrumentKindEnum": "portfolios.models.Instrument.Kind",
        "AccountKindEnum": "portfolios.models.Account.Kind",
        "OwnerKindEnum": "portfolios.models.BeneficialOwner.Kind",
        "PositionKindEnum": "portfolios.models.Position.Kind",
        "OrderEventTypeEnum": "portfolios.models.OrderEvent.Type",
        "MarketEventTypeEnum": "portfolios.models.MarketEvent.Type",
        "OrderTypeEnum": "portfolios.models.Order.Type",
        "RunStatusEnum": "core.models.CalculationRun.Status",
        "LimitKindEnum": "riskapp.models.Limit.Kind",
        "StressKindEnum": "riskapp.models.StressResult.Kind",
        "AlertStateEnum": "surveillance.models.Alert.State",
        "AlertOutcomeEnum": "surveillance.models.Alert.Outcome",
        "CaseStateEnum": "surveillance.models.Case.State",
        "GoalKindEnum": "wealth.models.Goal.Kind",
        "WealthAccountKindEnum": "wealth.models.WealthAccount.Kind",
        "RecommendationKindEnum": "wealth.models.Recommendation.Kind",
        "RecommendationStatusEnum": "wealth.models.Recommendation.Status",
        "ProposalKindEnum": "wealth.api.serializers.PROPOSE_KINDS",
    },
}

# The home page's table volumes (exact counts over millions of rows) are cached this long per desk scope.
HOME_COUNTS_CACHE_SECONDS = env.int("HOME_COUNTS_CACHE_SECONDS", default=60)

# How long a process trusts an API key it verified (revocation takes effect within this time).
API_KEY_CACHE_SECONDS = env.int("API_KEY_CACHE_SECONDS", default=10)

# Ingestion: rows per request; larger requests are refused with 413.
INGEST_MAX_ROWS = env.int("INGEST_MAX_ROWS", default=10_000)
# Raw request body cap (bytes) for ingestion endpoints: 10,000 rows of ~300 bytes each + slack.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=16 * 1024 * 1024)

# --- Surveillance ---------------------------------------------------------------------------
# Detection after every ingested order-event or trade batch (the nightly sweep runs regardless).
SURVEILLANCE_INCREMENTAL = env.bool("SURVEILLANCE_INCREMENTAL", default=True)
# An incremental run looks this far back so an episode spanning several batches is seen whole.
SURVEILLANCE_INCREMENTAL_LOOKBACK_HOURS = env.int("SURVEILLANCE_INCREMENTAL_LOOKBACK_HOURS", default=24)
# The nightly sweep reviews this many days back from the newest order event.
SURVEILLANCE_SWEEP_DAYS = env.int("SURVEILLANCE_SWEEP_DAYS", default=3)
# The longest window one sweep may cover (a sweep holds its window in memory).
SURVEILLANCE_MAX_WINDOW_DAYS = env.int("SURVEILLANCE_MAX_WINDOW_DAYS", default=31)
# Anomalies raised per run: sized to what the review team can look at in a day.
SURVEILLANCE_ANOMALY_TOP_K = env.int("SURVEILLANCE_ANOMALY_TOP_K", default=20)
# Seed of the anomaly and action-likelihood models (reproducible rankings).
SURVEILLANCE_SEED = env.int("SURVEILLANCE_SEED", default=7)
# Alerts scored at or above this (0–100) close only on a supervisor's approval of a proposal
# (four eyes); so does every outcome "STOR filed", whatever the score.
SURVEILLANCE_FOUR_EYES_SCORE = env.float("SURVEILLANCE_FOUR_EYES_SCORE", default=70.0)

# --- Best execution (TCA) -------------------------------------------------------------------
# TCA of the parent orders of every ingested trade batch (scheduled retraining runs regardless).
TCA_INCREMENTAL = env.bool("TCA_INCREMENTAL", default=True)
# An order is a poor execution when its cost vs arrival exceeds the expected cost for its
# conditions (cost model, else spread/2 + square-root impact) by more than this many bps.
TCA_POOR_MARGIN_BPS = env.float("TCA_POOR_MARGIN_BPS", default=25.0)

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# With no broker configured, tasks run in-process (embedded default for a single machine).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Pages and the API poll CalculationRun rows, never Celery's result backend.
CELERY_TASK_IGNORE_RESULT = True
# Only the tasks that feed a chord (Monte Carlo shards of a risk run) store results, for the
# chord's last step to read; they expire after a day.
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL) or None
CELERY_RESULT_EXPIRES = env.int("CELERY_RESULT_EXPIRES", default=24 * 3600)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "riskapp.tasks.*": {"queue": "risk"},
    "surveillance.tasks.*": {"queue": "surveillance"},
    "execution_quality.tasks.*": {"queue": "tca"},
    "wealth.tasks.*": {"queue": "wealth"},
}
_VISIBILITY_TIMEOUT_S = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A message not acknowledged within this time is redelivered (acks_late): it must exceed the
    # longest run, or a second worker receives a run still in progress (the run lease skips it).
    "visibility_timeout": _VISIBILITY_TIMEOUT_S,
    # Workers look for such messages (left unacknowledged by a worker that died) at start and
    # then every ``unacked_restore_interval`` seconds. kombu's defaults scan only every 10th
    # look, 10 s apart: a lost run would wait up to ~100 s beyond the visibility timeout.
    "unacked_restore_interval": env.int(
        "CELERY_UNACKED_RESTORE_INTERVAL", default=max(1, min(60, _VISIBILITY_TIMEOUT_S // 10))
    ),
    "unacked_restore_throttle": 1,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A running calculation whose last progress report is younger than this belongs to a live worker.
RUN_LEASE_SECONDS = env.int("RUN_LEASE_SECONDS", default=300)
# A run that fails for a reason other than its inputs (a lost database connection, a lock
# timeout, a bug) is tried again this many times, after RUN_RETRY_BACKOFF_SECONDS × 2^(n−1)
# seconds (capped at RUN_RETRY_BACKOFF_MAX_SECONDS), before it ends failed. See core.services.
RUN_MAX_RETRIES = env.int("RUN_MAX_RETRIES", default=3)
RUN_RETRY_BACKOFF_SECONDS = env.float("RUN_RETRY_BACKOFF_SECONDS", default=10.0)
RUN_RETRY_BACKOFF_MAX_SECONDS = env.float("RUN_RETRY_BACKOFF_MAX_SECONDS", default=300.0)
if RUN_MAX_RETRIES < 0 or RUN_RETRY_BACKOFF_SECONDS < 0 or RUN_RETRY_BACKOFF_MAX_SECONDS < 0:
    raise ImproperlyConfigured("RUN_MAX_RETRIES and the RUN_RETRY_BACKOFF_* settings must not be negative.")
# The outbox (core.outbox): follow-up tasks are rows written with the change, sent after commit.
# One connection attempt per relay pass, with this timeout for connecting and for each broker
# command: a request never waits longer for a down or hung Redis (Celery's own retries take ~6 s).
OUTBOX_BROKER_TIMEOUT_SECONDS = env.float("OUTBOX_BROKER_TIMEOUT_SECONDS", default=1.0)
# How often beat runs the relay that sends what the prompt attempts could not (broker down).
OUTBOX_RELAY_SECONDS = env.float("OUTBOX_RELAY_SECONDS", default=30.0)
if OUTBOX_BROKER_TIMEOUT_SECONDS <= 0 or OUTBOX_RELAY_SECONDS <= 0:
    raise ImproperlyConfigured("OUTBOX_BROKER_TIMEOUT_SECONDS and OUTBOX_RELAY_SECONDS must be positive.")
# A risk run whose Monte Carlo reaches RISK_MC_SHARD_MIN_SCENARIOS scenarios is split into
# RISK_MC_SHARDS tasks per Monte Carlo method (a Celery chord over the risk workers); same
# figures as one process (riskapp.engine.montecarlo). 1 turns it off. Without a broker the
# shards would run one after another in-process, so they are only used there when
# RISK_MC_SHARD_EAGER is on (tests).
RISK_MC_SHARDS = env.int("RISK_MC_SHARDS", default=4)
RISK_MC_SHARD_MIN_SCENARIOS = env.int("RISK_MC_SHARD_MIN_SCENARIOS", default=250_000)
RISK_MC_SHARD_EAGER = env.bool("RISK_MC_SHARD_EAGER", default=False)
if RISK_MC_SHARDS < 1 or RISK_MC_SHARD_MIN_SCENARIOS < 1:
    raise ImproperlyConfigured("RISK_MC_SHARDS and RISK_MC_SHARD_MIN_SCENARIOS must be at least 1.")
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Declared here and synced into django-celery-beat's tables at beat start; editable in the admin.
CELERY_BEAT_SCHEDULE = {
    "purge-idempotency-records": {
        "task": "core.tasks.idempotency_purge",
        "schedule": crontab(minute=15, hour=3),  # replies older than 7 days
    },
    "outbox-relay": {
        "task": "core.tasks.outbox_relay",
        "schedule": OUTBOX_RELAY_SECONDS,  # sends what the broker refused at commit time
        # A relay message older than one interval is superseded by the next: drop it, not pile up.
        "options": {"queue": "default", "expires": OUTBOX_RELAY_SECONDS},
    },
    "requeue-lost-runs": {
        "task": "core.tasks.runs_requeue",
        "schedule": crontab(minute="*/15"),  # runs still queued after 30 minutes lost their message
    },
    "purge-outbox-messages": {
        "task": "core.tasks.outbox_purge",
        "schedule": crontab(minute=20, hour=3),  # messages sent more than 7 days ago
    },
    "end-of-day-position-snapshots": {
        "task": "portfolios.tasks.snapshot_all_portfolios",
        "schedule": crontab(minute=30, hour=22),  # after the US close, UTC
    },
    "end-of-day-risk-runs": {
        "task": "riskapp.tasks.risk_runs_all",
        "schedule": crontab(minute=0, hour=23),  # after the snapshots; one risk run per portfolio
    },
    "nightly-surveillance-sweep": {
        "task": "surveillance.tasks.surveillance_sweep_nightly",
        "schedule": crontab(minute=30, hour=23),  # after the day's last batches; all detectors, all instruments
    },
    "monthly-tca-model-retrain": {
        "task": "execution_quality.tasks.cost_model_retrain",
        "schedule": crontab(minute=0, hour=2, day_of_month=1),  # a month of new orders; quiet hours
    },
    "wealth-daily-scan": {
        "task": "wealth.tasks.wealth_scan_daily",
        "schedule": crontab(minute=30, hour=23),  # after the US close and the day's prices; drift/TLH/goals
    },
}
CELERY_TIMEZONE = "UTC"
# Workers log through LOGGING below (JSON lines with task id, name and run id) instead of
# Celery's own root-logger set-up.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Operations: /health/ and /metrics ------------------------------------------------------
# How long one worker broadcast answers /health/ (shared cache): load balancers polling every
# few seconds then ask the workers at most once per period.
HEALTH_WORKERS_CACHE_SECONDS = env.int("HEALTH_WORKERS_CACHE_SECONDS", default=15)
# Bearer token for Prometheus scrapes of /metrics; empty: only superuser or auditor sessions.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Security headers common to all modes ---------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp), in every mode so the browser tests see what production
# sends (docs/security.md). Scripts and stylesheets come from our own origin only: no inline
# <script> (chart data is inert <script type="application/json">), no eval, no inline <style>
# with content. Two hashes admit what plotly.js adds itself: an empty <style> it fills through
# the CSSOM (which CSP does not govern), and the MapLibre stylesheet its bundle injects on load
# (tests/config/test_csp.py recomputes it from the installed plotly.js). Style *attributes* stay
# allowed for the bar widths the templates compute: they run no code and load nothing outside
# img-src/font-src.
_EMPTY_STYLE_SHA256 = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
PLOTLY_MAPLIBRE_STYLE_SHA256 = "'sha256-ji27qzEtxXZW+7dun6UwjHXJ18e6WAin1VvNtkzIE/o='"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, _EMPTY_STYLE_SHA256, PLOTLY_MAPLIBRE_STYLE_SHA256],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# --- Logging --------------------------------------------------------------------------------
# "plain" for people (development, tests), "json" for log collectors (production's default): one
# JSON object per line with the request id, and in tasks the task id, name and run id.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be 'plain' or 'json'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "ts", "levelname": "level", "name": "logger"},
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="vigil@localhost")
