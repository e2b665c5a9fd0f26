"""Small helpers the ledger's model admins share; the read-only bases for
posted facts are lib.admin's (re-exported here)."""

from __future__ import annotations

from django.db.models import Model

from lib.admin import ReadOnlyAdmin, ReadOnlyInline

__all__ = ["ReadOnlyAdmin", "ReadOnlyInline", "exact_ids", "terms"]


def terms(search_term: str) -> list[str]:
    return [t for t in (search_term or "").split() if t]


def exact_ids(model: type[Model], field: str, values: list[str]) -> list[int]:
    """Primary keys of rows whose unique `field` is one of `values` (one indexed query)."""
    return list(model.objects.filter(**{f"{field}__in": values}).values_list("pk", flat=True))
