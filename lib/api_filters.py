"""Generic django-filter filters any app's API may use."""

from __future__ import annotations

from datetime import UTC, datetime

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from lib.api_fields import ID_MAXIMUM


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


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": ID_MAXIMUM})
class IdFilter(django_filters.NumberFilter):
    """An object's id: a whole number from 1 to the largest bigint ("5", not "5.5"
    nor 1e60), which the schema states."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", ID_MAXIMUM)
        super().__init__(*args, **kwargs)
