"""Developer machine: SQLite and in-process tasks unless the environment says otherwise."""

from .base import *  # noqa: F403
from .env import env_bool, env_str

DEBUG = env_bool("DJANGO_DEBUG", True)
# A key that only ever signs sessions on a developer's own machine.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "local-development-only-not-a-secret")
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# SQLite (the default here) has no NULLS NOT DISTINCT: cash.Allocation's
# one-active-allocation-per-pair constraint exists on PostgreSQL only, like
# the cash triggers that guard the same money.
SILENCED_SYSTEM_CHECKS = ["models.W047"]
