"""Generic django-filter filters any app's API may use."""

from __future__ import annotations

from datetime import UTC, datetime

import django_filters


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 instant, compared in UTC.

    PostgreSQL refuses an offset beyond about ±16 hours ("+18:55" is valid ISO
    8601, and Python takes it); in UTC every instant is fine. An instant before
    year 1 or after year 9999 in UTC has no Python datetime: it is before or
    after every stored one, as the earliest or latest datetime is."""

    def filter(self, qs, value):
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:
                value = (datetime.min if value.year < 5000 else datetime.max).replace(tzinfo=UTC)
        return super().filter(qs, value)
