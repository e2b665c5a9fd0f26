"""Rate limits of the API (DRF throttles): per API key (a session counts per
user) and, for requests without credentials, per client address.

The limits are settings (API_THROTTLE_RATES, from API_THROTTLE_RATE and
API_THROTTLE_ANON_RATE: "1200/min", "60/min", "off"). Past one, the answer is
429 with Retry-After, as a problem (code `throttled`, `retry_after`).

The counts live in the cache settings.API_THROTTLE_CACHE: Redis when
THROTTLE_CACHE_URL is set, shared by every process; else each process's own
memory, so that a limit then holds per process (a database cache would cost
several statements on every request). The client address is REMOTE_ADDR, or
the address API_THROTTLE_NUM_PROXIES proxies in front put in X-Forwarded-For.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiToken


class _SettingsRateThrottle(SimpleRateThrottle):
    def __init__(self) -> None:
        # Read at each request, not at import: tests and deployments change them.
        self.cache = caches[settings.API_THROTTLE_CACHE]
        super().__init__()

    def get_rate(self) -> str | None:
        rate = settings.API_THROTTLE_RATES.get(self.scope)
        return None if rate in (None, "", "off") else rate  # None: no limit


class ApiKeyRateThrottle(_SettingsRateThrottle):
    """Authenticated requests, counted per API key, or per user of a session."""

    scope = "authenticated"

    def get_cache_key(self, request, view) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        auth = request.auth
        ident = f"key:{auth.pk}" if isinstance(auth, ApiToken) else f"user:{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonymousRateThrottle(_SettingsRateThrottle):
    """Requests without credentials (the schema, failed sign-ins), per client address."""

    scope = "anonymous"

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
