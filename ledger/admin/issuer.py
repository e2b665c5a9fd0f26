"""Company details (IssuerProfile): one row, edited in the admin, printed on
every credit note."""

from __future__ import annotations

from django.contrib import admin

from lib.admin import SingletonAdmin

from ..models import IssuerProfile


@admin.register(IssuerProfile)
class IssuerProfileAdmin(SingletonAdmin):
    """One row: the list goes straight to it."""

    fields = ("legal_name", "address", "vat_id", "email")
