"""Settings shared by every environment. Everything that differs comes from the
environment (see env.py); no secret has a default here."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_list, env_str, read_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# A `.env` beside manage.py (copy .env.example) fills what the environment does
# not set, before any setting is read.
read_dotenv(BASE_DIR / ".env")

DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from our static files
    "vendors",
    "refunds",
    "ledger",
    # Bank statements and reconciliation (above ledger, below portal/api).
    "cash",
    "portal",
    # Migrations only, for a release: its models moved to api and webhooks.
    "integrations",
    "api",
    "webhooks",
    "ops",
    "staffauth",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "axes",
    # History of money-bearing configuration (see lib/history.py). pghistory.admin
    # comes after django.contrib.admin on purpose: Django's object-tools templates
    # win, and the "History" button leads to the events instead.
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
]

MIDDLEWARE = [
    # First: every response, even one a middleware below makes, carries the
    # request ID and is counted (ops.middleware).
    "ops.middleware.RequestIdMiddleware",
    "ops.middleware.RequestMetricsMiddleware",
    # Every error under /api/ a problem (RFC 9457), whoever made it (api.middleware).
    "api.middleware.ProblemDetailsMiddleware",
    # First: a body larger than REQUEST_MAX_BYTES is refused (413) on its
    # Content-Length, before anything reads it.
    "lib.request_limits.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "api.middleware.RefuseNulInPathMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who changed tracked configuration: the user and URL of each writing request.
    "lib.history.HistoryMiddleware",
    # request.user.is_verified(); then staff pages ask for the second factor
    # when STAFF_REQUIRE_2FA is on (staffauth).
    "django_otp.middleware.OTPMiddleware",
    "staffauth.middleware.StaffTwoFactorMiddleware",
    "api.idempotency.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a flagged lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
    # A view that lost the database answers 503 (api.unavailable).
    "api.unavailable.DatabaseUnavailableMiddleware",
]

# The throttling backend first: it refuses a locked-out username+IP before the
# password is even checked (see portal.auth_backends.LoginThrottleBackend).
AUTHENTICATION_BACKENDS = [
    "portal.auth_backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
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
                "csp.context_processors.nonce",  # {{ CSP_NONCE }} for an inline <script>
            ],
        },
    },
]

# No DATABASE_URL: a SQLite file beside the code, so `runserver` just works.
# DATABASE_CONN_MAX_AGE: seconds a connection is kept for the next request (0:
# a new connection per request); the Dockerfile and docker-compose.yml set 60.
# CONN_HEALTH_CHECKS (DATABASE_CONN_HEALTH_CHECKS, off by default) would check
# a kept connection with a `SELECT 1` at the start of every request: 2% of a
# creation's server time for what happens once per database restart. Without
# it, the first request on a connection the restart broke answers the outage's
# 503 with Retry-After (api.unavailable); Django then finds the connection
# unusable and opens a new one for the next request.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(env_str("DATABASE_CONN_MAX_AGE", "0")),
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", False),
    )
}
# DATABASE_REPLICA_URL (optional): a streaming replica of that database. When
# set, the read-only reports (staff dashboard, reports API, exports, statement
# and reconciliation CSV/PDF) read from it; everything else, and every write,
# stays on "default". lib/replica.py says how and what a replica's lag means.
_replica_url = env_str("DATABASE_REPLICA_URL")
if _replica_url:
    DATABASES["replica"] = dj_database_url.parse(
        _replica_url,
        conn_max_age=int(env_str("DATABASE_CONN_MAX_AGE", "0")),
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", False),
    )
REPORTING_DATABASE = "replica" if "replica" in DATABASES else "default"
DATABASE_ROUTERS = ["lib.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:dashboard"

# Login throttling (django-axes): 5 failures of one username from one IP lock
# that pair out for 15 minutes; a successful login clears its failures.
AXES_FAILURE_LIMIT = int(env_str("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(env_str("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Without this, axes logs its version banner on every manage.py command; lockouts
# and failed logins are still logged (by the parameters that lock, as above).
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Attachments on refund cases (screenshots, vendor confirmations, messages).
REFUND_ATTACHMENT_MAX_BYTES = int(env_str("REFUND_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))
# What an attachment may be, by the type its bytes show (lib.filetypes sniffs
# it; the name's extension must agree). Comma-separated MIME types.
REFUND_ATTACHMENT_ALLOWED_TYPES = env_list(
    "REFUND_ATTACHMENT_ALLOWED_TYPES",
    [
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "text/plain",
        "text/csv",
        "message/rfc822",
    ],
)
# Request bodies. REQUEST_MAX_BYTES: a request declaring a larger
# Content-Length is refused with 413 before its body is read
# (lib.request_limits); a little above the attachment limit, for the form
# fields and multipart framing around the file. The web server in front caps
# bodies too (nginx client_max_body_size, deploy/README.md).
REQUEST_MAX_BYTES = int(
    env_str("REQUEST_MAX_BYTES", str(REFUND_ATTACHMENT_MAX_BYTES + 1024 * 1024))
)
# Django's own caps: a non-file body (JSON, form fields) read into memory, and
# the size above which an uploaded file is spooled to a temporary file.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(
    env_str("DATA_UPLOAD_MAX_MEMORY_SIZE", str(REFUND_ATTACHMENT_MAX_BYTES))
)
FILE_UPLOAD_MAX_MEMORY_SIZE = int(env_str("FILE_UPLOAD_MAX_MEMORY_SIZE", str(2_621_440)))

# Content-Security-Policy (django-csp 4): nothing from another origin; scripts
# only from our own files, or inline with the request's nonce; no plugins, no
# framing, forms post only here. Inline *styles* are allowed: the admin's and
# the dashboard's <style> blocks and style attributes, and ReDoc's and Swagger
# UI's generated styles need them (styles cannot run code). ReDoc runs its
# search in a blob: worker; Swagger UI and ReDoc draw icons from data: URIs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "worker-src": [SELF, "blob:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Staff two-factor sign-in (staffauth, django-otp TOTP). On: a staff user
# signed in with a password alone reaches no admin or staff page (nor the API
# through the session) until they enter a code from their authenticator app;
# one without a confirmed device is taken to enrol one first. Vendors (portal)
# and API tokens are not affected. On in production, off by default elsewhere.
STAFF_REQUIRE_2FA = env_bool("STAFF_REQUIRE_2FA", False)
# A case closes only when its refund is matched with the provider's refund row
# (cash.services.case_rules). Off only for old data being loaded.
CLOSE_REQUIRES_MATCHED_REFUND = env_bool("CLOSE_REQUIRES_MATCHED_REFUND", True)
# The issuer name authenticator apps show beside the account.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Splitledger")

# Password reset throttle (lib.password_reset): past these, the form answers
# the same but sends no e-mail. Counted in the "throttle" cache below.
PASSWORD_RESET_MAX_PER_EMAIL = int(env_str("PASSWORD_RESET_MAX_PER_EMAIL", "3"))
PASSWORD_RESET_MAX_PER_IP = int(env_str("PASSWORD_RESET_MAX_PER_IP", "10"))
PASSWORD_RESET_WINDOW_SECONDS = int(env_str("PASSWORD_RESET_WINDOW_SECONDS", "3600"))

# Caches. "throttle" counts password-reset requests: it must be shared by every
# web process, so it is the database (works on SQLite and PostgreSQL; its table
# is created by a staffauth migration). THROTTLE_CACHE_URL=redis://... puts it
# in Redis instead.
_throttle_cache_url = env_str("THROTTLE_CACHE_URL")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _throttle_cache_url}
        if _throttle_cache_url
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "throttle_cache",
        }
    ),
}

# Celery: with no broker configured, tasks run in process (after commit).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
if CELERY_TASK_ALWAYS_EAGER:
    # In-process tasks never reach a broker. Naming the in-memory one keeps kombu
    # from warning "No hostname was supplied" on every command that queues one.
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Longer than any task, so a task still running is never handed to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = "UTC"
# Queues: ledger posting and outbox drains on `default`; webhook deliveries and
# emails on their own queues, served by their own worker (docker-compose.yml),
# so a slow endpoint or mail server never holds up posting.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "webhooks.tasks.deliver_webhook": {"queue": "webhooks"},
    "integrations.tasks.deliver_webhook": {"queue": "webhooks"},
    "portal.tasks.email_notifications": {"queue": "email"},
    "vendors.tasks.deliver_invitation": {"queue": "email"},
}
# Seconds. A task past its soft limit gets SoftTimeLimitExceeded (its
# transaction rolls back, the work stays in the database); past the hard limit
# its process is killed and replaced. Webhook and email tasks set tighter ones.
CELERY_TASK_SOFT_TIME_LIMIT = int(env_str("CELERY_TASK_SOFT_TIME_LIMIT", "300"))
CELERY_TASK_TIME_LIMIT = int(env_str("CELERY_TASK_TIME_LIMIT", "360"))
EMAIL_TASK_TIME_LIMIT = int(env_str("EMAIL_TASK_TIME_LIMIT", "120"))
# A pending drain of a consumer is remembered in Redis this long: a write
# while one is pending publishes nothing (coalescing). If that task is lost,
# the next write or sweep after this many seconds publishes another.
OUTBOX_DRAIN_FLAG_SECONDS = int(env_str("OUTBOX_DRAIN_FLAG_SECONDS", "30"))
# Notifications still unemailed this long after they were made are sent by
# the email sweep (the broker was down, or the task was lost).
EMAIL_RESEND_AFTER_SECONDS = int(env_str("EMAIL_RESEND_AFTER_SECONDS", "10"))
# Sent by the first publish that gets through after the broker was unreachable.
BROKER_RECOVERY_TASKS = [
    "refunds.tasks.sweep_outbox",
    "portal.tasks.resend_missed_emails",
    "webhooks.tasks.retry_due_webhooks",
]
CELERY_BEAT_SCHEDULE = {
    # Cheap when idle (one indexed EXISTS); coalesced drains when not, so a
    # broker that comes back has its backlog drained within seconds.
    "sweep-outbox": {"task": "refunds.tasks.sweep_outbox", "schedule": 5.0},
    # Daily: next months' partitions of the events, the outbox and the entries
    # exist before their first row (a row of a month without one lands in DEFAULT).
    "maintain-partitions": {
        "task": "refunds.tasks.maintain_partitions",
        "schedule": crontab(hour=3, minute=5),
    },
    "retry-webhooks": {"task": "webhooks.tasks.retry_due_webhooks", "schedule": 30.0},
    # Hourly, so that each run deletes at most an hour's worth of records.
    "purge-idempotency-records": {
        "task": "api.tasks.purge_idempotency_records",
        "schedule": crontab(minute=40),
    },
    # The staff dashboard's monthly sums (refunds.models.RefundMonth), off the
    # write path: this month up to yesterday and the last month every 10 minutes (old cases and
    # orders still change them), every past month each night.
    "fold-recent-refund-months": {
        "task": "refunds.tasks.fold_refund_months",
        "schedule": 600.0,
        "kwargs": {"recent": 2},
    },
    "fold-refund-months": {
        "task": "refunds.tasks.fold_refund_months",
        "schedule": crontab(hour=1, minute=20),
    },
    "resend-missed-emails": {"task": "portal.tasks.resend_missed_emails", "schedule": 10.0},
    "resend-vendor-invitations": {"task": "vendors.tasks.resend_invitations", "schedule": 300.0},
    # Every night: the statements of periods that closed (weekly or monthly by
    # each vendor's payout terms). Idempotent, so a missed night catches up.
    "generate-statements": {
        # Registered under its first module's name (see portal/settlement_tasks.py).
        "task": "portal.statement_tasks.generate_statements",
        "schedule": crontab(hour=2, minute=15),
    },
    # Every morning: settle provider receivables from payout rows, allocate
    # vendor payouts oldest first, tag overdue receivables.
    "tag-overdue-receivables": {
        "task": "cash.tasks.daily_receivables",
        "schedule": crontab(hour=3, minute=30),
    },
    # Every five minutes: an open item for each payout recorded since (a run
    # catches up the rest at its start; cash.services.sources).
    "sync-open-items": {
        "task": "cash.tasks.sync_open_items",
        "schedule": crontab(minute="*/5"),
    },
    # Weekly (Monday night) each bank account's month to date, and on the 1st
    # the month that just ended; signed-off months are left as signed.
    "reconcile-periods-weekly": {
        "task": "cash.reconciliation_tasks.reconcile_periods",
        "schedule": crontab(hour=3, minute=30, day_of_week=1),
    },
    "reconcile-periods-monthly": {
        "task": "cash.reconciliation_tasks.reconcile_periods",
        "schedule": crontab(hour=3, minute=45, day_of_month=1),
    },
}

# Transactional outbox: who consumes which topics, through which batch handler.
OUTBOX_CONSUMERS = {
    "ledger": {
        "handler": "ledger.consumers.handle_batch",
        "topics": ["order.paid", "case.status_changed"],
    },
    "notifications": {
        "handler": "portal.notifications.handle_batch",
        "topics": ["case.opened", "case.status_changed", "case.breakdown_overridden"],
    },
    # Receivables per order line (cash.services.receivables): opened on sale,
    # refreshed when a case completes.
    "receivables": {
        "handler": "cash.services.receivables.handle_batch",
        "topics": ["order.paid", "case.status_changed"],
    },
    "webhooks": {
        "handler": "webhooks.delivery.handle_batch",
        "topics": ["case.opened", "case.status_changed", "credit_note.created"],
    },
}
# An Idempotency-Key is remembered this long; a retry after that runs again.
IDEMPOTENCY_RETENTION_DAYS = int(env_str("IDEMPOTENCY_RETENTION_DAYS", "7"))

# The platform's tax on the commission it invoices to vendors, as a fraction
# (0.19 = 19%; 0, the default, invoices commission without tax). Its tax code is
# the one of this rate in COMMISSION_TAX_JURISDICTION (blank: of no jurisdiction).
COMMISSION_TAX_RATE = env_str("COMMISSION_TAX_RATE", "0")
COMMISSION_TAX_JURISDICTION = env_str("COMMISSION_TAX_JURISDICTION", "")
# Reports (ledger.reports) convert amounts to this currency with the dated
# exchange-rates table (ledger.ExchangeRate).
REPORTING_CURRENCY = env_str("REPORTING_CURRENCY", "EUR").upper()
WEBHOOK_MAX_ATTEMPTS = int(env_str("WEBHOOK_MAX_ATTEMPTS", "8"))
WEBHOOK_BACKOFF_SECONDS = int(env_str("WEBHOOK_BACKOFF_SECONDS", "10"))
WEBHOOK_TIMEOUT_SECONDS = int(env_str("WEBHOOK_TIMEOUT_SECONDS", "10"))
# An endpoint whose deliveries failed for good this many times in a row is
# disabled (0: never). A rotated-out secret keeps signing this long by default.
WEBHOOK_DISABLE_AFTER_FAILURES = int(env_str("WEBHOOK_DISABLE_AFTER_FAILURES", "20"))
WEBHOOK_SECRET_OVERLAP_SECONDS = int(env_str("WEBHOOK_SECRET_OVERLAP_SECONDS", "86400"))
# Endpoints on loopback, private or link-local addresses are refused unless this
# is true (config.settings.test and scripts/dev.sh set it: receivers on 127.0.0.1).
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "splitledger@localhost")
OUTBOX_BATCH_SIZE = int(env_str("OUTBOX_BATCH_SIZE", "500"))
OUTBOX_MAX_ATTEMPTS = int(env_str("OUTBOX_MAX_ATTEMPTS", "10"))
# The tables partitioned by month on PostgreSQL (refunds.partitions), each
# with its detach rule: why an old month must stay. Referenced tables first
# (detaching an outbox month never blocks an events month).
PARTITIONED_TABLES = {
    "refunds_caseevent": "refunds.partitions.events_kept",
    "refunds_outboxmessage": "refunds.partitions.outbox_kept",
    "ledger_entry": "ledger.partitions.entries_kept",
    # After the entries: a journals month goes only once its entries month is
    # detached and recorded, and check_ledger then reads what its detach
    # recorded (ledger.partitions, ledger.detached_journals).
    "ledger_journal": "ledger.partitions.journals_kept",
}
# What runs right before and right after a month is made, in its
# transaction (refunds.partitions._create): an entries month gets its key
# into its own journals month, that month locked first (ledger.month_keys).
PARTITION_BEFORE_CREATE = {
    "ledger_entry": "ledger.month_keys.before_entries_month_created",
}
PARTITION_AFTER_CREATE = {
    "ledger_entry": "ledger.month_keys.after_entries_month_created",
}
# What runs right before and right after a month's DETACH, in its
# transaction (refunds.partitions._detach): a journals month's takes
# ledger_journal's lock before the DETACH locks ledger_entry_default, in the
# order postings and readers take them (ledger.detached), and its archive
# drops its foreign keys into ledger_journal (an archive must not keep a
# journals month attached for ever).
PARTITION_BEFORE_DETACH = {
    "ledger_journal": "ledger.detached.before_journals_detach",
}
PARTITION_AFTER_DETACH = {
    "ledger_journal": "ledger.detached.after_journals_detach",
}
# The daily task keeps this many months of them made ahead of the current
# one, and with PARTITION_DETACH_AFTER_MONTHS = N keeps the current month and
# the N-1 before it, detaching (never dropping) the earlier months that
# nothing needs (entries: closed months nothing reads any more, see
# ledger.partitions and ledger.detached; journals: closed months whose entries
# went and that nothing points at, ledger.detached_journals); 0 leaves detaching to
# `manage.py partitions detach`.
PARTITION_MONTHS_AHEAD = int(env_str("PARTITION_MONTHS_AHEAD", "3"))
PARTITION_DETACH_AFTER_MONTHS = int(env_str("PARTITION_DETACH_AFTER_MONTHS", "0"))

# /readyz and `manage.py check_ready` (ops.health). The sweeper runs every
# minute, so a pending message older than the lag limit means nothing drains;
# a parked (failed) message needs a person.
HEALTH_OUTBOX_MAX_LAG_SECONDS = int(env_str("HEALTH_OUTBOX_MAX_LAG_SECONDS", "900"))
HEALTH_OUTBOX_MAX_FAILED = int(env_str("HEALTH_OUTBOX_MAX_FAILED", "0"))
HEALTH_BROKER_TIMEOUT_SECONDS = float(env_str("HEALTH_BROKER_TIMEOUT_SECONDS", "2"))
HEALTH_MIGRATIONS_CACHE_SECONDS = int(env_str("HEALTH_MIGRATIONS_CACHE_SECONDS", "300"))

# API rate limits (api.throttling): requests per API key (a session: per user)
# and, without credentials, per client address; "N/sec|min|hour|day", or "off".
# Past one: 429 with Retry-After. Counted in Redis when THROTTLE_CACHE_URL is
# set (shared by every process), else in each process's memory (a limit per process).
API_THROTTLE_RATES = {
    "authenticated": env_str("API_THROTTLE_RATE", "1200/min"),
    "anonymous": env_str("API_THROTTLE_ANON_RATE", "60/min"),
}
API_THROTTLE_CACHE = "throttle" if _throttle_cache_url else "default"
REST_FRAMEWORK = {
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.ApiKeyRateThrottle",
        "api.throttling.AnonymousRateThrottle",
    ],
    # Proxies in front that append the client's address to X-Forwarded-For; 0
    # trusts only REMOTE_ADDR (the header is the client's to forge).
    "NUM_PROXIES": int(env_str("API_THROTTLE_NUM_PROXIES", "0")),
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["vendors.api.permissions.ApiAccess"],
    # django-filter's, refusing a repeated parameter or a boolean that is not true/false.
    "DEFAULT_FILTER_BACKENDS": ["api.filters.StrictFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.IdCursorPagination",
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # `?format=` names a renderer of the view; an empty one is refused, not ignored.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "api.negotiation.StrictContentNegotiation",
    # JSON bodies only; the endpoints that take files add multipart (attachments, dispute).
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    # The APIClient of the tests sends JSON unless told otherwise.
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "COERCE_DECIMAL_TO_STRING": True,
    # ISO 8601 in UTC ("Z"); isoformat, unlike strftime, zero-pads years before 1000.
    "DATETIME_FORMAT": "iso-8601",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Splitledger API",
    "DESCRIPTION": (
        "Push orders and refund requests; read cases, breakdowns, journals and credit "
        "notes. Amounts are strings with the currency's minor digits, rates fractions "
        '("0.1000" is 10%); timestamps are ISO 8601 UTC. Authenticate with '
        "`Authorization: Token <key>`. Every POST accepts an `Idempotency-Key` header. "
        "Every error is an RFC 9457 problem (`application/problem+json`) with a stable "
        "`code` and the response's X-Request-ID in `request_id`. The integrator's guide "
        "is docs/api.md."
    ),
    # docs/api.md, "Versioning and deprecation": the minor grows with each additive change.
    "VERSION": "1.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/docs/ and /api/redoc/ load their scripts from our static files
    # (drf-spectacular-sidecar), never from a CDN: they work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No validator badge: Swagger UI would fetch it from validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # One named enum per choice set, whatever the field is called.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # Problem responses, Idempotency-Key, X-Request-ID, text patterns (api.schema).
        "api.schema.postprocess",
    ],
    "ENUM_NAME_OVERRIDES": {
        "CurrencyEnum": "lib.money.CURRENCY_CHOICES",
        "CaseStatusEnum": "refunds.models.CaseStatus",
        "EventKindEnum": "refunds.models.EventKind",
        "EventChannelEnum": "refunds.models.EventChannel",
        "RefundLineKindEnum": "refunds.models.RefundLineKind",
        "PaymentMethodEnum": "refunds.models.PaymentMethod",
        "BearerEnum": "refunds.models.Bearer",
        "AccountKindEnum": "ledger.models.AccountKind",
        "AccountRoleEnum": "ledger.models.AccountRole",
        "JournalKindEnum": "ledger.models.JournalKind",
        "VendorRoleEnum": "vendors.models.VendorRole",
        "PayoutFrequencyEnum": "vendors.models.PayoutFrequency",
        "WebhookEventNameEnum": "webhooks.catalogue.SUBSCRIBABLE",
        "StatementFormatEnum": "cash.models.StatementFormat",
        "PayoutFormatEnum": "cash.models.PayoutFormat",
    },
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "tokenAuth": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Token <key>`",
            }
        }
    },
    "SECURITY": [{"tokenAuth": []}],
    # The `webhooks` section needs OpenAPI 3.1: every event of webhooks.catalogue,
    # its payload as the request a receiver gets (one import string, of the list).
    "OAS_VERSION": "3.1.0",
    "WEBHOOKS": "webhooks.openapi.WEBHOOKS",
}

# One handler, on the root logger: every record is printed once. Django's own
# default config gives the "django" logger a console handler of its own when
# DEBUG is on; records would go through it and then, propagated, through the
# root's handler too (every "Not Found: /favicon.ico" twice). Configuring the
# "django" logger here replaces that handler. "django.server" (runserver's
# request lines) keeps Django's handler and does not propagate.
# LOG_FORMAT: "plain" (default here; one readable line) or "json" (default in
# production; one JSON object per line). Either way the handler's filter adds
# the request ID of the request or task being served (ops.logs).
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT is 'plain' or 'json'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "ops.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"()": "ops.logs.PlainFormatter"},
        "json": {"()": "ops.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # A line per task run in process: noise when tasks run eagerly (no
        # broker); a worker logs them through its own logging setup.
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
    },
}

# Prometheus metrics at /metrics (ops.metrics). With METRICS_TOKEN set, a scrape
# must send `Authorization: Bearer <token>`; without it /metrics answers 404
# unless METRICS_ALLOW_UNAUTHENTICATED is true (only where nothing untrusted
# reaches the web port). PROMETHEUS_MULTIPROC_DIR (an empty directory, wiped at
# each start, e.g. a tmpfs) makes the figures of several processes (gunicorn
# workers) add up; prometheus_client reads the same variable. A Celery worker
# serves its task metrics on WORKER_METRICS_PORT when set (needs the directory).
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOW_UNAUTHENTICATED = env_bool("METRICS_ALLOW_UNAUTHENTICATED", False)
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
WORKER_METRICS_PORT = env_str("WORKER_METRICS_PORT")
WORKER_METRICS_ADDR = env_str("WORKER_METRICS_ADDR", "0.0.0.0")

# Error reports go to Sentry (or a server speaking its protocol) only when
# SENTRY_DSN is set; never with personal data (ops.sentry).
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    from ops.sentry import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=env_str(
            "SENTRY_ENVIRONMENT",
            os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.local").rsplit(".", 1)[-1],
        ),
        release=env_str("SENTRY_RELEASE"),
        traces_sample_rate=float(env_str("SENTRY_TRACES_SAMPLE_RATE", "0")),
    )
READ_ONLY_GROUP = env_str("READ_ONLY_GROUP", "finance-readonly")
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", "http://127.0.0.1:8000")

# django-pghistory (lib/history.py; event tables are append-only there): the
# middleware records context for writing requests only; the admin lists events
# with their author (MiddlewareEvents: user and URL).
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
PGHISTORY_ADMIN_MODEL = "pghistory.MiddlewareEvents"
PGHISTORY_ADMIN_CLASS = "lib.history_admin.HistoryEventsAdmin"
