"""Staff admin for vendors and the people who work for them.

A new vendor is made by `create_vendor` and a new seat by `onboard_vendor_user`
(which writes the invitation), exactly as through the API: the forms ask the
services' own parsers first, so a refusal shows on the field it is about.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Model
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase

from lib.admin import NoEditAdmin, add_domain_error
from lib.history_admin import HistoryAdminMixin

from .errors import VendorError
from .models import Vendor, VendorInvitation, VendorMembership
from .services import create_vendor, onboard_vendor_user, parse_invitee, parse_vendor_terms

TERMS_FIELDS = (
    "code",
    "name",
    "email",
    "currency",
    "commission_rate",
    "payout_frequency",
    "payout_delay_days",
    "tax_model",
)
# Printed on invoices issued on the vendor's behalf and on its commission invoices.
INVOICING_FIELDS = ("legal_name", "address", "vat_id")


class MembershipForm(forms.ModelForm):
    class Meta:
        model = VendorMembership
        fields = ("user", "role")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        user = data.get("user")
        if self.instance.pk is None and user is not None and not self.errors:
            try:
                parse_invitee(username=user.get_username(), email=user.email, role=data.get("role"))
            except VendorError as error:
                # The invitation goes to the user's address: say so on the user.
                field = "user" if error.field in ("username", "email") else error.field
                add_domain_error(self, error, field)
        return data


class VendorMembershipInline(admin.TabularInline):
    model = VendorMembership
    form = MembershipForm
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)


class VendorForm(forms.ModelForm):
    class Meta:
        model = Vendor
        fields = (*TERMS_FIELDS, "is_active", *INVOICING_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Refused on the field itself, not as the CHECK constraint's form-wide error.
        rate = self.fields.get("commission_rate")
        if rate is not None:
            rate.validators += [MinValueValidator(0), MaxValueValidator(1)]
            rate.widget.attrs.update(min="0", max="1", step="0.0001")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors:
            # The code is read-only once the vendor exists.
            terms = {name: data.get(name) for name in TERMS_FIELDS}
            terms["code"] = data.get("code", self.instance.code)
            try:
                parse_vendor_terms(**terms)
            except VendorError as error:
                add_domain_error(self, error)
        return data


@admin.register(Vendor)
class VendorAdmin(HistoryAdminMixin, admin.ModelAdmin):
    form = VendorForm
    list_display = (
        "code",
        "name",
        "currency",
        "commission",
        "tax_model",
        "payout_frequency",
        "payout_delay_days",
        "is_active",
    )
    list_filter = ("is_active", "payout_frequency", "currency", "tax_model")
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

    def save_model(self, request: HttpRequest, obj: Vendor, form: forms.Form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        vendor = create_vendor(
            is_active=data["is_active"], **{name: data[name] for name in TERMS_FIELDS}
        )
        # The admin saves the inlines and logs with this object: make it the saved one.
        for field in Vendor._meta.concrete_fields:
            setattr(obj, field.attname, getattr(vendor, field.attname))
        obj._state.adding, obj._state.db = False, vendor._state.db

    def save_formset(
        self, request: HttpRequest, form: forms.Form, formset: Any, change: bool
    ) -> None:
        if formset.model is not VendorMembership:
            super().save_formset(request, form, formset, change)
            return
        for membership in formset.save(commit=False):
            if membership.pk is not None:
                membership.save()  # a role change
                continue
            seat = onboard_vendor_user(
                vendor=form.instance,
                username=membership.user.get_username(),
                email=membership.user.email,
                role=membership.role,
            )
            membership.pk, membership.created_at = seat.pk, seat.created_at
        for membership in formset.deleted_objects:
            membership.delete()

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponseBase:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except VendorError as error:
            # Refused at save despite the form's checks (e.g. the same code saved
            # a moment earlier): nothing was saved (one transaction).
            messages.error(request, f"Nothing was saved: {error.field}: {error.message}")
            return HttpResponseRedirect(request.get_full_path())


@admin.register(VendorInvitation)
class VendorInvitationAdmin(NoEditAdmin):
    """Invitations and whether they went out; the sweep resends unsent ones."""

    list_display = ("email", "vendor", "new_user", "created_at", "sent_at", "attempts")
    list_filter = ("sent_at",)
    list_select_related = ("vendor",)
    search_fields = ("email", "vendor__code")
    readonly_fields = (
        "vendor",
        "user",
        "email",
        "new_user",
        "created_at",
        "sent_at",
        "attempts",
        "last_attempt_at",
        "last_error",
    )

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
