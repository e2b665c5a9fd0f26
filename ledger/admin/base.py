"""Building blocks of the ledger admin: read-only bases for posted facts and
small helpers the model admins share."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import (
    Http404,
    HttpRequest,
)
from django.urls import reverse


def terms(search_term: str) -> list[str]:
    return [t for t in (search_term or "").split() if t]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Posted facts: staff look, never add, edit or delete."""

    # Lists grow without bound: no COUNT(*) of the unfiltered table.
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def admin_url(self, name: str, *args: Any) -> str:
        """The URL of one of this model's admin views (its own extra ones included)."""
        return reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{name}",
            args=args,
        )

    def viewable_or_404(self, request: HttpRequest, object_id: str) -> Model:
        """The object an extra view (a download) is about, if the user may see it."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No such {self.opts.verbose_name}.")
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return obj


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


def exact_ids(model: type[Model], field: str, values: list[str]) -> list[int]:
    """Primary keys of rows whose unique `field` is one of `values` (one indexed query)."""
    return list(model.objects.filter(**{f"{field}__in": values}).values_list("pk", flat=True))
