"""Company details (IssuerProfile): one row, edited in the admin, printed on
every credit note."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from ..models import IssuerProfile


@admin.register(IssuerProfile)
class IssuerProfileAdmin(admin.ModelAdmin):
    """One row: the list goes straight to it."""

    fields = ("legal_name", "address", "vat_id", "email")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: IssuerProfile | None = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        profile = IssuerProfile.load()
        return HttpResponseRedirect(
            reverse(f"{self.admin_site.name}:ledger_issuerprofile_change", args=[profile.pk])
        )
