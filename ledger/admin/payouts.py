"""Payouts: the form collects input, ledger.posting.record_payout decides."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.http import (
    HttpRequest,
)
from django.utils.safestring import SafeString

from lib.admin import money_cell
from lib.errors import DomainError
from lib.parsing import parse_amount, parse_currency

from ..models import (
    Payout,
)
from ..posting import PostedBy, record_payout


class PayoutForm(forms.ModelForm):
    """Collects the payout; ledger.posting.record_payout decides (the rule
    "no payout beyond what is owed" and its advance flag live there)."""

    advance = forms.BooleanField(
        required=False,
        label="Pay more than is owed",
        help_text="An advance: the vendor's balance goes negative and the next "
        "statements carry it until sales cover it.",
    )

    class Meta:
        model = Payout
        fields = ("vendor", "currency", "amount", "paid_on", "reference")

    payout: Payout | None = None
    posted_by: PostedBy  # the admin user's, set by PayoutAdmin.get_form

    def clean(self) -> dict[str, Any]:
        # The posting service's own parsers, so the model sees what it would.
        data = super().clean()
        try:
            if data.get("currency"):
                data["currency"] = parse_currency(data["currency"], "currency")
                if data.get("amount") is not None:
                    data["amount"] = parse_amount(
                        data["amount"], data["currency"], "amount", allow_zero=False
                    )
        except DomainError as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)
        return data

    def _post_clean(self) -> None:
        # Last step of validation, so nothing the form checks after it can
        # refuse a payout already posted. The admin view's transaction holds
        # the payout and its log entry together.
        super()._post_clean()
        if self.errors:
            return
        data = self.cleaned_data
        try:
            with transaction.atomic():
                self.payout = record_payout(
                    vendor=data["vendor"],
                    amount=data["amount"],
                    currency=data["currency"],
                    paid_on=data["paid_on"],
                    reference=data.get("reference") or "",
                    advance=bool(data.get("advance")),
                    posted_by=self.posted_by,
                )
        except DomainError as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin):
    form = PayoutForm
    list_display = ("id", "paid_on", "vendor", "amount_with_currency", "reference", "created_at")
    list_filter = ("currency", "paid_on")
    list_select_related = ("vendor",)
    search_fields = ("reference", "vendor__code", "vendor__name")
    autocomplete_fields = ("vendor",)
    show_full_result_count = False

    @admin.display(description="amount", ordering="amount")
    def amount_with_currency(self, obj: Payout) -> SafeString:
        return money_cell(obj.amount, obj.currency)

    def get_form(
        self, request: HttpRequest, obj: Payout | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        form = super().get_form(request, obj, change, **kwargs)
        # The journal records who posted it.
        return type(form.__name__, (form,), {"posted_by": PostedBy.user(request.user, "admin")})

    def has_change_permission(self, request: HttpRequest, obj: Payout | None = None) -> bool:
        # A payout is posted: correct it with a reversing journal, not an edit.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Payout | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Payout, form: forms.Form, change: bool) -> None:
        # Posted by the form's last validation step (record_payout).
        payout = form.payout
        # The admin redirects and logs with this object: make it the saved one.
        obj.pk = payout.pk
        obj.created_at = payout.created_at
