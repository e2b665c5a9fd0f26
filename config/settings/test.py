"""Test runs: PostgreSQL and Redis from the environment (scripts/test.sh sets them)."""

from .base import *  # noqa: F403
from .env import env_str

SECRET_KEY = "test-only-not-a-secret"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = BASE_DIR / "test-artifacts" / "media"  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = True
# Staff two-factor sign-in off, as locally; tests/security turns it on where it is tested.
STAFF_REQUIRE_2FA = False
# Test receivers listen on 127.0.0.1; tests/webhooks/test_targets.py turns the check on.
WEBHOOK_ALLOW_PRIVATE_TARGETS = True

# Generous API rate limits: the suite makes many requests from one key and one
# address (tests/api/test_throttling.py sets low ones where a limit is the point).
API_THROTTLE_RATES = {"authenticated": "100000/min", "anonymous": "100000/min"}

# Most tests close cases without payout reports; tests/cash/test_close_rule.py turns it on.
CLOSE_REQUIRES_MATCHED_REFUND = False

# A "replica" alias that is a test mirror of the test database (never a real
# replica, whatever DATABASE_REPLICA_URL says), off: reports read "default".
# tests/api/test_reporting_replica.py turns it on (settings.REPORTING_DATABASE = "replica").
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
REPORTING_DATABASE = "default"
