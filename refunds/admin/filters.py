"""List filters of the refund case list."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest

from refunds.models import (
    ReasonPolicy,
    RefundLine,
    VendorLiability,
)
from vendors.models import Vendor


class CaseRowFilter(admin.SimpleListFilter):
    """Cases with at least one `rows` row (a liability, a line) whose `lookup` is the
    chosen value."""

    rows: type[models.Model]
    lookup: str

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        matching = self.rows._default_manager.filter(
            case=OuterRef("pk"), **{self.lookup: self.value()}
        )
        return queryset.filter(Exists(matching))


class VendorFilter(CaseRowFilter):
    title = "vendor"
    parameter_name = "vendor"
    rows = VendorLiability
    lookup = "vendor__code"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(code, code) for code in Vendor.objects.values_list("code", flat=True)]


class ReasonFilter(CaseRowFilter):
    title = "reason"
    parameter_name = "reason"
    rows = RefundLine
    lookup = "reason__code"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return list(ReasonPolicy.objects.values_list("code", "label"))


class OwnerFilter(admin.SimpleListFilter):
    title = "owner"
    parameter_name = "owner"
    NOBODY = "nobody"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        # Owners are staff (assign_owner insists), a short list unlike all users.
        staff = get_user_model().objects.filter(is_staff=True, is_active=True)
        username = get_user_model().USERNAME_FIELD
        return [
            (self.NOBODY, "Nobody"),
            *((str(pk), name) for pk, name in staff.order_by(username).values_list("pk", username)),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        if value == self.NOBODY:
            return queryset.filter(owner__isnull=True)
        try:
            return queryset.filter(owner_id=int(value))
        except ValueError:
            return queryset.none()
