"""One settings module for web, worker and beat, driven by environment variables.

Required: DATABASE_URL, REDIS_URL, SECRET_KEY. A process started without one of them stops
with a message naming it. Only the development launcher (bin/run, bin/test, bin/manage)
fills them in, with embedded servers under .data/ (docs/operations.md, "Development servers
vs production").
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url

from riskplatform.env import env_bool, env_int, env_list, env_required_all, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
# Lower-case names: helpers, not settings (Django takes only upper-case names as settings).
_required = env_required_all(
    ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"),
    "Set it in the environment (docs/operations.md). For development on this machine, bin/run, "
    "bin/test and bin/manage start embedded servers and keep a key under .data/ instead.",
)
# "production" makes platform_status fail on development servers and the development
# launcher refuse to run (docs/operations.md, "Development servers vs production").
RISKPLATFORM_ENV = env_str("RISKPLATFORM_ENV", "development")
# Where local files live: the demo cohort, generated cohorts, the admin password file.
DATA_DIR = Path(env_str("RISKPLATFORM_DATA_DIR", str(BASE_DIR / ".data")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = _required["SECRET_KEY"]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    # Before django_pgviews: both define `migrate`, and the first app's command is the one
    # run (core's extends django_pgviews' with the session timeouts lifted).
    "riskplatform.core",
    "django_pgviews",
    "simple_history",
    "django_celery_beat",
    "csp",
    "axes",
    "patients",
    "predictions",
    "finance",
    # Tooling (bin/manage drill): nothing in the apps above imports it.
    "riskplatform.drills",
]

MIDDLEWARE = [
    # First: turns a database or broker outage in a JSON API view into a JSON 503, and any
    # other error answer under /api/ (a 405 of require_POST, say) into JSON.
    "riskplatform.core.api_failures.ApiFailureMiddleware",
    # Then: a body over the limit (API, 413) or a NUL in the address (400) goes no further.
    "riskplatform.core.request_limits.RequestLimitsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "riskplatform.core.sessions.SessionLifetimeMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "riskplatform.urls"
WSGI_APPLICATION = "riskplatform.wsgi.application"

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
                "riskplatform.core.context_processors.role",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        _required["DATABASE_URL"],
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# Connections that notice a dead peer instead of hanging (docs/operations.md, "Connections and
# timeouts"); seconds. libpq's keepalives and tcp_user_timeout apply to TCP, not to a Unix
# socket. The server-side settings travel in the startup packet's `options`; `migrate` lifts
# the two timeouts for its own session (riskplatform/core/management/commands/migrate.py).
_db_keepalives = {
    "idle": env_int("DB_KEEPALIVES_IDLE", 30),
    "interval": env_int("DB_KEEPALIVES_INTERVAL", 10),
    "count": env_int("DB_KEEPALIVES_COUNT", 3),
}
_db_tcp_user_timeout_ms = env_int("DB_TCP_USER_TIMEOUT", 30) * 1000
_db_session = {
    "statement_timeout": env_int("DB_STATEMENT_TIMEOUT", 300) * 1000,
    "idle_in_transaction_session_timeout": env_int("DB_IDLE_IN_TRANSACTION_TIMEOUT", 60) * 1000,
    "tcp_keepalives_idle": _db_keepalives["idle"],
    "tcp_keepalives_interval": _db_keepalives["interval"],
    "tcp_keepalives_count": _db_keepalives["count"],
    "tcp_user_timeout": _db_tcp_user_timeout_ms,
}
_db_url_options = DATABASES["default"].get("OPTIONS", {})
DATABASES["default"]["OPTIONS"] = {
    "connect_timeout": env_int("DB_CONNECT_TIMEOUT", 10),
    "keepalives": 1,
    **{f"keepalives_{name}": seconds for name, seconds in _db_keepalives.items()},
    "tcp_user_timeout": _db_tcp_user_timeout_ms,
    # Parameters given in DATABASE_URL win (and its own `options` come last, so they do too).
    **_db_url_options,
    "options": " ".join(
        [*(f"-c {name}={value}" for name, value in _db_session.items()),
         _db_url_options.get("options", "")]
    ).strip(),
}  # fmt: skip
# The schema's owner, for `migrate` only (docs/operations.md, "Security: database roles"):
# DATABASE_URL is the application's role, which owns nothing. Unset, migrate runs as
# DATABASE_URL's role, except with RISKPLATFORM_ENV=production, where it refuses.
DATABASE_MIGRATE_URL = env_str("DATABASE_MIGRATE_URL", "")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = _required["REDIS_URL"]
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "riskplatform",
    }
}

# Celery: the broker is Redis; tasks are acknowledged after they finish so that a worker
# dying mid-task gives the task to another worker instead of losing it.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3600)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 3300)
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Broker restarts (docs/operations.md, "Broker restarts"): a worker reconnects for as long as
# the broker is away (Celery's default gives up after 100 attempts, about 47 minutes), and a
# task running when the connection drops runs on and is acknowledged after the reconnect:
# cancelling it would only leave its message waiting for the visibility timeout.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Redis hands an unacknowledged message to another worker once it is this old, so it must
# exceed every task's hard time limit (system check core.E001, riskplatform/core/checks.py),
# or a long task runs twice at once. It is also how long a message of a worker host that
# died waits, which matters little: scoring runs are recovered through their chunk leases and
# periodic tasks come round again. 75 min: the longest limit is re-evaluation's training, 61 min.
BROKER_VISIBILITY_TIMEOUT = env_int("BROKER_VISIBILITY_TIMEOUT", 75 * 60)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": BROKER_VISIBILITY_TIMEOUT,
    # A broker that vanished without closing the connection (failover, NAT, firewall): a
    # command on the dead socket fails after 30 s instead of waiting forever, which would also
    # keep kombu's health checks (every 25 s) from running.
    "socket_keepalive": True,
    "socket_connect_timeout": 5,
    "socket_timeout": 30,
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = env_str("TIME_ZONE", "UTC")

# Login throttling (django-axes, riskplatform/core/lockout.py): after AXES_FAILURE_LIMIT failed
# logins for one username from one address, or AXES_USERNAME_FAILURE_LIMIT for that username
# from all addresses together (distributed guessing), it is refused for AXES_COOLOFF_MINUTES,
# even with the right password. An admin lifts a lock early with
# `manage.py axes_reset_username <name>`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "riskplatform.core.lockout.TwoLimitHandler"
AXES_USERNAME_CALLABLE = "riskplatform.core.lockout.lockout_username"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_USERNAME_FAILURE_LIMIT = env_int("AXES_USERNAME_FAILURE_LIMIT", 20)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Repeats, sequences, keyboard runs, the username inside (riskplatform/core/passwords.py).
    {"NAME": "riskplatform.core.passwords.ZxcvbnValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Security. HTTPS is on unless explicitly turned off (the local launcher turns it off because
# it serves plain HTTP on 127.0.0.1); production runs behind TLS.
HTTPS = env_bool("HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
# Sessions end at the first of: SESSION_IDLE_SECONDS without a request (Django's
# SESSION_COOKIE_AGE, whose expiry riskplatform/core/sessions.py moves on at most once a minute
# while the user is active), SESSION_MAX_SECONDS after login whatever the activity (same
# module), or the browser closing (the cookie carries no expiry date). SESSION_COOKIE_AGE was
# this project's name for the absolute limit and still sets it.
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_MAX_SECONDS = env_int("SESSION_MAX_SECONDS", env_int("SESSION_COOKIE_AGE", 8 * 3600))
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Only this site's own scripts, styles and images: no inline script or style attribute, no
# CDN. Pages draw charts as inline SVG elements, which img-src does not govern.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# Mail (department digests). Development prints messages on the console; set EMAIL_BACKEND to
# django.core.mail.backends.filebased.EmailBackend with EMAIL_FILE_PATH to keep them as files.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
if env_str("EMAIL_FILE_PATH"):
    EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "riskplatform@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Links in mail are absolute: where users reach the platform.
PLATFORM_BASE_URL = env_str("PLATFORM_BASE_URL", "http://127.0.0.1:8000")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "workspace"
LOGOUT_REDIRECT_URL = "login"

# Care coordinators see their departments' patients in the admin; whether they may also
# change a patient's record and features there is the hospital's choice (platform admins
# always may).
COORDINATOR_FEATURE_EDITS = env_bool("COORDINATOR_FEATURE_EDITS", False)

# Population runs (docs/operations.md, "Population runs: chunks, leases and fencing").
# Claimer threads (each with a database connection) of an in-process run (the CLI, demo).
SCORING_WORKERS = env_int("SCORING_WORKERS", 2)
# A chunk's holder renews its lease every third of this; a chunk whose holder stopped (dead,
# paused or cut off) is taken over once it ends.
SCORING_LEASE_SECONDS = env_int("SCORING_LEASE_SECONDS", 60)
# Claims of one chunk before the run fails naming it; a chunk given back after an error
# waits BACKOFF x 2^(attempt - 1) seconds, at most BACKOFF_MAX.
SCORING_CHUNK_MAX_ATTEMPTS = env_int("SCORING_CHUNK_MAX_ATTEMPTS", 5)
SCORING_RETRY_BACKOFF_SECONDS = env_int("SCORING_RETRY_BACKOFF_SECONDS", 10)
SCORING_RETRY_BACKOFF_MAX_SECONDS = env_int("SCORING_RETRY_BACKOFF_MAX_SECONDS", 300)
# Celery tasks asked to take part in a run (each claims chunks until none is left).
SCORING_RUN_TASKS = env_int("SCORING_RUN_TASKS", 4)
# How long one such task claims before it hands over to a fresh message (keeps every task
# far inside the broker's visibility timeout).
SCORING_TASK_BUDGET_SECONDS = env_int("SCORING_TASK_BUDGET_SECONDS", 600)
# The sweep asks workers again for a run nobody holds a lease on, at most this often.
SCORING_REDISPATCH_SECONDS = env_int("SCORING_REDISPATCH_SECONDS", 120)
# Tasks retry a database outage with a backoff (5 s, 10 s, 20 s, …) that grows to this.
TASK_RETRY_BACKOFF_MAX_SECONDS = env_int("TASK_RETRY_BACKOFF_MAX_SECONDS", 300)

# Re-evaluation trains on the latest registered training snapshot, in PostgreSQL (no file on
# any host: `training_data_register`). Whether a candidate that is no worse (AUC per window
# not lower, calibration slope within bounds) is promoted on its own:
MODEL_AUTO_PROMOTE = env_bool("MODEL_AUTO_PROMOTE", False)
MODEL_CALIBRATION_SLOPE_BOUNDS = (0.8, 1.2)

# Model monitoring (docs/monitoring.md, "Model monitoring"): when a version's observed
# performance or its population's drift raises a warning. Windows with fewer outcomes than
# MONITORING_MIN_OUTCOMES, and populations smaller than MONITORING_MIN_POPULATION, are shown
# but not judged. PSI: below MODERATE stable, up to THRESHOLD moderate, above it major.
MONITORING_AUC_MARGIN = float(env_str("MONITORING_AUC_MARGIN", "0.05"))
MONITORING_CALIBRATION_TOLERANCE = float(env_str("MONITORING_CALIBRATION_TOLERANCE", "0.05"))
MONITORING_CALIBRATION_SLOPE_BOUNDS = (
    float(env_str("MONITORING_CALIBRATION_SLOPE_MIN", "0.8")),
    float(env_str("MONITORING_CALIBRATION_SLOPE_MAX", "1.2")),
)
MONITORING_PSI_MODERATE = float(env_str("MONITORING_PSI_MODERATE", "0.1"))
MONITORING_PSI_THRESHOLD = float(env_str("MONITORING_PSI_THRESHOLD", "0.25"))
MONITORING_MIN_OUTCOMES = env_int("MONITORING_MIN_OUTCOMES", 100)
MONITORING_MIN_POPULATION = env_int("MONITORING_MIN_POPULATION", 100)
# When the active version's latest monitoring run warns, the monitoring task enqueues the
# re-evaluation (train, score, compare) at once instead of waiting for Monday; not again
# while a comparison against the active version is younger than the cooldown.
REEVALUATION_RETRAIN_ON_WARNING = env_bool("REEVALUATION_RETRAIN_ON_WARNING", False)
REEVALUATION_RETRAIN_COOLDOWN_DAYS = env_int("REEVALUATION_RETRAIN_COOLDOWN_DAYS", 7)

# The JSON API during outages and retries (docs/operations.md, "Outages and retries"): a
# database or broker failure answers 503 with Retry-After; a submission's first answer is kept
# for API_IDEMPOTENCY_KEY_HOURS and given again to a retry with the same Idempotency-Key.
API_RETRY_AFTER_SECONDS = env_int("API_RETRY_AFTER_SECONDS", 10)
API_IDEMPOTENCY_KEY_HOURS = env_int("API_IDEMPOTENCY_KEY_HOURS", 24)
# The largest request body read (Django's default, 2.5 MB, named): over it the API answers
# 413 before reading, pages Django's 400. 5,000 admissions, the API's most, take about 0.6 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("REQUEST_MAX_BYTES", 2_621_440)

# Who the platform names as the actor of writes made outside a web request.
SYSTEM_ACTOR = "system"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # axes: failed logins and lockouts are WARNING; its INFO lines are per-login chatter.
    "loggers": {"django_pgviews": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
