"""Staff admin for vendors and the people who work for them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import HttpRequest

from .models import Vendor, VendorMembership


class VendorMembershipInline(admin.TabularInline):
    model = VendorMembership
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)


class VendorForm(forms.ModelForm):
    class Meta:
        model = Vendor
        fields = (
            "code",
            "name",
            "email",
            "currency",
            "commission_rate",
            "payout_frequency",
            "payout_delay_days",
            "is_active",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Refused on the field itself, not as the CHECK constraint's form-wide error.
        rate = self.fields.get("commission_rate")
        if rate is not None:
            rate.validators += [MinValueValidator(0), MaxValueValidator(1)]
            rate.widget.attrs.update(min="0", max="1", step="0.0001")


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    form = VendorForm
    list_display = (
        "code",
        "name",
        "currency",
        "commission",
        "payout_frequency",
        "payout_delay_days",
        "is_active",
    )
    list_filter = ("is_active", "payout_frequency", "currency")
    search_fields = ("code", "name", "email")
    fields = (*VendorForm.Meta.fields, "created_at")
    inlines = (VendorMembershipInline,)

    def get_readonly_fields(
        self, request: HttpRequest, obj: Vendor | None = None
    ) -> tuple[str, ...]:
        # Orders and the API name a vendor by its code: it is fixed once created.
        readonly = ("created_at",)
        return ("code", *readonly) if obj is not None else readonly

    @admin.display(description="commission", ordering="commission_rate")
    def commission(self, obj: Vendor) -> str:
        return f"{obj.commission_rate * 100:.2f}%"
