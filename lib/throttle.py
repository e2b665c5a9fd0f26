"""Counting requests per key in a fixed window, in a cache every process shares."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import caches


def hit(
    scope: str, key: str, *, limit: int, window_seconds: int, cache_alias: str = "throttle"
) -> bool:
    """Count one request for `key` in this window; True while the count is
    within `limit`. The key is hashed (no e-mail address in the cache). The
    count is read then written, so two simultaneous requests may both pass at
    the edge: a limit, not an exact quota."""
    cache = caches[cache_alias]
    window = int(time.time() // window_seconds)
    digest = hashlib.sha256(key.strip().lower().encode("utf-8")).hexdigest()[:32]
    cache_key = f"throttle:{scope}:{window}:{digest}"
    count = int(cache.get(cache_key, 0)) + 1
    cache.set(cache_key, count, timeout=window_seconds)
    return count <= limit
