"""Reason policies: which reasons exist and who bears them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import HttpRequest

from lib.history_admin import HistoryAdminMixin
from refunds.models import (
    REASON_POLICY_FIELDS,
    ReasonPolicy,
)


class ReasonPolicyForm(forms.ModelForm):
    class Meta:
        model = ReasonPolicy
        fields = REASON_POLICY_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Refused on the field itself, not as the CHECK constraint's form-wide error.
        share = self.fields.get("vendor_share_percent")
        if share is not None:
            share.validators += [MinValueValidator(0), MaxValueValidator(100)]
            share.widget.attrs.update(min="0", max="100")


@admin.register(ReasonPolicy)
class ReasonPolicyAdmin(HistoryAdminMixin, admin.ModelAdmin):
    """ "History" on a policy lists its versions: who changed what, and when."""

    form = ReasonPolicyForm
    list_display = (*REASON_POLICY_FIELDS, "version")
    list_filter = ("is_active", "shipping_bearer", "platform_share_to")
    search_fields = ("code", "label")

    def get_readonly_fields(
        self, request: HttpRequest, obj: ReasonPolicy | None = None
    ) -> tuple[str, ...]:
        # Refund lines, API clients and reports know a used reason by its code.
        if obj is not None and obj.refund_lines.exists():
            return ("code",)
        return ()
