"""One settings module; the environment decides (django-environ).

Unset DATABASE_URL -> a SQLite file in the project folder.
Unset CELERY_BROKER_URL -> Celery tasks run in-process, eagerly, so the product
works with nothing else running.
"""

from pathlib import Path

import environ

from config.logging import build_logging, wants_json

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str(
    "SECRET_KEY",
    default="django-insecure-dev-only-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz",
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The product's domain apps, from the bottom layer up (README, Architecture). Auditors
# read every model of these (merchants.roles).
DOMAIN_APPS = [
    "merchants",
    "webhooks",
    "customers",
    "payments",
    "subscriptions",
    "chargebacks",
    "bulk",
    "gateway_events",
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",
    "simple_history",
    # The product's apps, from the bottom layer up.
    "core",
    "audit",
    *DOMAIN_APPS,
    "demo",
]

MIDDLEWARE = [
    # Outermost: the request id (and the access log line), then the latency histogram.
    "config.logging.RequestIdMiddleware",
    "config.metrics.MetricsMiddleware",
    # Under /api/ every answer is JSON, also Django's own 404/500 pages.
    "config.api.middleware.ApiJsonErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.request_context.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.role_names",
                "webhooks.context_processors.failing_endpoints",
                "payments.context_processors.dispute_ratio_banner",
            ],
            "builtins": [
                "django.templatetags.static",
                "core.templatetags.cells",
                "core.templatetags.controls",
            ],
        },
    }
]
# The banners' figures, asked in the statement that loads the signed-in member of every
# dashboard page (core.dashboard.member_extras) rather than one query each.
DASHBOARD_MEMBER_EXTRAS = {
    "webhooks_failing": "webhooks.selectors.failing_endpoint_column",
    "dispute_ratio_months": "payments.dispute_ratio.banner_months_column",
}

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, writing a bulk insert of a few rows as VALUES (config/postgresql).
    DATABASES["default"]["ENGINE"] = "config.postgresql"
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # Parameters travel apart from the SQL (psycopg's server-side binding), and a
    # statement run a fifth time on a connection is prepared: PostgreSQL stops parsing
    # and planning the same few statements of every refund, page and task (2-3 ms of a
    # refund's 15, bench/results.md). Off for a pooler that cannot keep prepared
    # statements (PgBouncer in transaction mode before 1.21):
    # DATABASE_PREPARED_STATEMENTS=false.
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options.setdefault("server_side_binding", True)
        options.setdefault("prepare_threshold", 5)
else:
    # SQLite (the demo) builds covering indexes without their INCLUDE columns, which
    # only save PostgreSQL reads of the table at millions of rows.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The login throttle lives in the cache: point CACHE_URL at
# Redis (e.g. redis://127.0.0.1:6379/1) when more than one process serves the site.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

AUTH_USER_MODEL = "merchants.User"
# Sign-in is throttled: 5 failures per (email, IP) in 15 minutes.
AUTHENTICATION_BACKENDS = ["merchants.auth_backends.ThrottledModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
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
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    # Dispute evidence files (SPEC 10): never served from MEDIA_URL, only through the
    # merchant-scoped download views. Any django-storages backend by setting, e.g.
    # DISPUTE_EVIDENCE_STORAGE_BACKEND=storages.backends.s3.S3Storage and
    # DISPUTE_EVIDENCE_STORAGE_OPTIONS='{"bucket_name": "evidence"}'.
    "dispute_evidence": {
        "BACKEND": env.str(
            "DISPUTE_EVIDENCE_STORAGE_BACKEND",
            default="django.core.files.storage.FileSystemStorage",
        ),
        "OPTIONS": env.json("DISPUTE_EVIDENCE_STORAGE_OPTIONS", default={}),
    },
}
DISPUTE_EVIDENCE_STORAGE = "dispute_evidence"
# A request body read whole (an idempotent API POST hashes its body) may hold one
# evidence file of up to 5 MB with its multipart framing.
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024
# Days a merchant has to answer a dispute when the network gave no deadline.
DISPUTE_RESPONSE_DAYS = env.int("DISPUTE_RESPONSE_DAYS", default=14)
WHITENOISE_USE_FINDERS = True

# --- Payments ------------------------------------------------------------------
PAYMENT_GATEWAY = env.str("PAYMENT_GATEWAY", default="sandbox")  # "sandbox" or "stripe"
STRIPE_API_KEY = env.str("STRIPE_API_KEY", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
# Verifies POST /webhooks/stripe (whsec_…, from the webhook endpoint in Stripe's
# dashboard); unset, every webhook is refused with 400.
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Sandbox gateway: simulated latency, and where it records the calls it receives
# ("memory" for one process; a redis:// URL so several processes share one ledger).
SANDBOX_GATEWAY_LATENCY_MS = env.int("SANDBOX_GATEWAY_LATENCY_MS", default=0)
SANDBOX_GATEWAY_TIMEOUT_MS = env.int("SANDBOX_GATEWAY_TIMEOUT_MS", default=200)
SANDBOX_GATEWAY_LEDGER = env.str("SANDBOX_GATEWAY_LEDGER", default="memory")
# A reversal still pending this long after its last attempt is re-sent by the sweeper.
REVERSAL_RESEND_AFTER_SECONDS = env.int("REVERSAL_RESEND_AFTER_SECONDS", default=300)
# A refund the gateway accepted as pending whose webhook has not come this long after it
# was sent (or last asked about) is asked about (payments.tasks.reconcile_unfinished_refunds).
REFUND_RECONCILE_AFTER_SECONDS = env.int("REFUND_RECONCILE_AFTER_SECONDS", default=3600)
# How long one worker holds the right to send a reversal before another may.
REVERSAL_SEND_LEASE_SECONDS = env.int("REVERSAL_SEND_LEASE_SECONDS", default=120)

# --- Webhooks (SPEC 11) --------------------------------------------------------
# Targets on loopback, private, link-local or metadata addresses (and plain http) are
# refused unless these are on: on by default in development (DEBUG), off in production.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=DEBUG)
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=WEBHOOK_ALLOW_PRIVATE_TARGETS)
# How long one worker holds the right to send a delivery (more than the 10 s timeout).
WEBHOOK_SEND_LEASE_SECONDS = env.int("WEBHOOK_SEND_LEASE_SECONDS", default=60)
# How often beat sends the deliveries that are due (tests with real processes shorten it).
WEBHOOK_SWEEP_EVERY_SECONDS = env.float("WEBHOOK_SWEEP_EVERY_SECONDS", default=15.0)
# Dispute ratio monitor (SPEC 10): the card schemes' programmes, percent and minimum
# disputes a month; an early warning comes at two thirds of both.
DISPUTE_RATIO_VISA_PERCENT = env.str("DISPUTE_RATIO_VISA_PERCENT", default="1.5")
DISPUTE_RATIO_VISA_MINIMUM = env.int("DISPUTE_RATIO_VISA_MINIMUM", default=1500)
DISPUTE_RATIO_MASTERCARD_PERCENT = env.str("DISPUTE_RATIO_MASTERCARD_PERCENT", default="1.5")
DISPUTE_RATIO_MASTERCARD_MINIMUM = env.int("DISPUTE_RATIO_MASTERCARD_MINIMUM", default=100)
# The sweeper leaves a delivery due less than this long to the task queued for it.
WEBHOOK_SWEEP_GRACE_SECONDS = env.float("WEBHOOK_SWEEP_GRACE_SECONDS", default=30.0)

# --- Celery --------------------------------------------------------------------
CELERY_TASK_ALWAYS_EAGER = not env.str("CELERY_BROKER_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or "memory://localhost/"
# In-process (eager) mode a failing task must not break the web request that
# enqueued it: the reversal stays pending and the sweeper finishes it.
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A broker that is down or hung must not hold a web request: connecting, reading and
# publishing give up after CELERY_BROKER_TIMEOUT_SECONDS (env), without retrying the
# publish (what could not be queued stays pending, and the sweeper sends it).
_broker_timeout = env.float("CELERY_BROKER_TIMEOUT_SECONDS", default=2.0)
CELERY_BROKER_CONNECTION_TIMEOUT = _broker_timeout
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_timeout": _broker_timeout,
    "socket_connect_timeout": _broker_timeout,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 0}
CELERY_TIMEZONE = "UTC"
# The worker logs through LOGGING below (JSON lines, request ids), not its own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# How often beat runs the sweeper (tests with real processes shorten it).
RESEND_STALE_EVERY_SECONDS = env.float("RESEND_STALE_EVERY_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE = {
    "resend-stale-reversals": {
        "task": "payments.tasks.resend_stale_reversals",
        "schedule": RESEND_STALE_EVERY_SECONDS,
    },
    "reconcile-unfinished-refunds": {
        "task": "payments.tasks.reconcile_unfinished_refunds",
        "schedule": 600.0,
    },
    "resolve-unanswered-authorizations": {
        "task": "payments.tasks.resolve_unanswered_authorizations",
        "schedule": 60.0,
    },
    "purge-idempotency-records": {
        "task": "merchants.tasks.purge_idempotency_records",
        "schedule": 3600.0,
    },
    "send-due-webhook-deliveries": {
        "task": "webhooks.tasks.send_due_deliveries",
        "schedule": WEBHOOK_SWEEP_EVERY_SECONDS,
    },
    "renew-subscriptions": {
        "task": "subscriptions.tasks.renew_subscriptions",
        "schedule": 60.0,
    },
    "expire-refund-approvals": {
        "task": "payments.tasks.expire_refund_approvals",
        "schedule": 300.0,
    },
    "resume-stalled-refund-batches": {
        "task": "bulk.tasks.resume_stalled_refund_batches",
        "schedule": 60.0,
    },
}
# A running refund batch whose job gave no sign of life this long is started again.
REFUND_BATCH_STALLED_AFTER_SECONDS = env.int("REFUND_BATCH_STALLED_AFTER_SECONDS", default=120)

# --- Security ------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# With DEBUG off, HTTPS all the way unless a variable turns a piece off explicitly.
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
        "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=SECURE_HSTS_SECONDS > 0
    )
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=SECURE_HSTS_SECONDS > 0)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers and Prometheus probe these over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
}

# How many proxies in front of the app append to X-Forwarded-For (0: use REMOTE_ADDR).
AUDIT_TRUST_X_FORWARDED_FOR = env.int("AUDIT_TRUST_X_FORWARDED_FOR", default=0)
SIMPLE_HISTORY_REVERT_DISABLED = True

# --- Operations ----------------------------------------------------------------
# /metrics answers these networks (CIDRs), or a request with `Bearer <METRICS_TOKEN>`.
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# One JSON object per line (LOG_FORMAT=json, the default with DEBUG off) or console lines.
LOGGING = build_logging(
    json=wants_json(env.str("LOG_FORMAT", default=""), debug=DEBUG),
    level=env.str("LOG_LEVEL", default="INFO"),
)
# Django's own "django" logger would print each line twice beside the root's; a 4xx is
# one line without the traceback Django attaches to it (config/log_filters.py).
LOGGING.setdefault("filters", {})["client_errors_without_traceback"] = {
    "()": "config.log_filters.ClientErrorsWithoutTraceback"
}
LOGGING.setdefault("loggers", {})["django"] = {"handlers": [], "level": "INFO", "propagate": True}
LOGGING["loggers"].setdefault("django.request", {})["filters"] = ["client_errors_without_traceback"]
