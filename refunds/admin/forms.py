"""The case page's workbench forms: note, file, owner, breakdown, resolution."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from lib.money import AMOUNT_DIGITS, AMOUNT_PLACES, display_money, format_amount
from refunds.models import (
    EventChannel,
    RefundCase,
    VendorLiability,
)
from refunds.services.cases import (
    ShareOverride,
)
from vendors.models import Vendor


class CaseActionForm(helpers.ActionForm):
    text = forms.CharField(
        required=False,
        max_length=2000,
        label="Reason / gateway reference:",
    )


NOTE_CHANNELS = [
    (value, label)
    for value, label in EventChannel.choices
    if value not in (EventChannel.SYSTEM, EventChannel.API)
]


class CaseForm(forms.Form):
    """A workbench form about one case."""

    def __init__(self, *args: Any, case: RefundCase, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.case = case

    def case_vendors(self) -> QuerySet[Vendor]:
        return Vendor.objects.filter(liabilities__case=self.case).order_by("code")

    def error_field(self, name: str) -> str:
        """The form field that shows a service refusal naming `name`."""
        return name


class NoteForm(CaseForm):
    prefix = "note"
    channel = forms.ChoiceField(choices=NOTE_CHANNELS, initial=EventChannel.STAFF)
    vendor = forms.ModelChoiceField(
        queryset=Vendor.objects.none(),
        required=False,
        help_text="The vendor this entry speaks for or to, if any.",
    )
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))
    internal = forms.BooleanField(
        required=False, label="Internal", help_text="Staff only: vendors never see it."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["vendor"].queryset = self.case_vendors()


class AttachmentForm(CaseForm):
    prefix = "attachment"
    file = forms.FileField()
    note = forms.CharField(required=False, widget=forms.TextInput(attrs={"size": 60}))
    channel = forms.ChoiceField(choices=NOTE_CHANNELS, initial=EventChannel.STAFF)
    internal = forms.BooleanField(
        required=False, label="Internal", help_text="Staff only: vendors never see it."
    )


class OwnerForm(CaseForm):
    prefix = "owner"
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(), required=False, empty_label="Nobody"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(is_staff=True, is_active=True)
        self.fields["owner"].queryset = users.order_by(get_user_model().USERNAME_FIELD)
        self.fields["owner"].initial = self.case.owner_id


SHARE_FIELDS = ("vendor_share", "platform_share", "commission_reversal")


class SharesForm(CaseForm):
    """Every vendor's shares of the case, prefilled with the current ones and
    named as the services name them (`liabilities.ACME.vendor_share`), so their
    refusals land on the right field."""

    shares_required = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.liabilities = list(self.case.liabilities.select_related("vendor").order_by("vendor"))
        for row in self.liabilities:
            for name in SHARE_FIELDS:
                self.fields[self.field_name(row, name)] = forms.DecimalField(
                    label=f"{row.vendor.code} {name.replace('_', ' ')}",
                    required=self.shares_required,
                    max_digits=AMOUNT_DIGITS,
                    decimal_places=AMOUNT_PLACES,
                    min_value=0,
                    initial=Decimal(format_amount(getattr(row, name), self.case.currency)),
                    widget=forms.NumberInput(attrs={"step": "any", "size": 10}),
                )

    @staticmethod
    def field_name(row: VendorLiability, name: str) -> str:
        return f"liabilities.{row.vendor.code}.{name}"

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "liability": row,
                "borne": display_money(row.net_amount + row.shipping_amount, self.case.currency),
                "current": [
                    display_money(getattr(row, name), self.case.currency) for name in SHARE_FIELDS
                ],
                "fields": [self[self.field_name(row, name)] for name in SHARE_FIELDS],
            }
            for row in self.liabilities
        ]

    def shares(self) -> dict[str, ShareOverride]:
        """The vendors whose shares staff changed, as the service takes them."""
        changed: dict[str, ShareOverride] = {}
        for row in self.liabilities:
            values = {
                name: self.cleaned_data.get(self.field_name(row, name)) for name in SHARE_FIELDS
            }
            if all(values[name] == getattr(row, name) for name in SHARE_FIELDS):
                continue
            changed[row.vendor.code] = ShareOverride(
                **{name: "" if value is None else str(value) for name, value in values.items()}
            )
        return changed


class BreakdownForm(SharesForm):
    """Staff override the breakdown of a pending case."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Why the breakdown differs from the reason policies. Logged on the timeline.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors and not self.shares():
            raise forms.ValidationError("Change at least one vendor's shares.")
        return cleaned


class ResolveForm(SharesForm):
    """Staff end a dispute, with new shares for the vendors they change (the
    others keep theirs). A vendor's shares left as they are, or all left empty,
    are not changed."""

    prefix = "resolve"
    shares_required = False

    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="The outcome, as the vendor will read it on the case's timeline.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The message first, above the table of shares.
        self.order_fields(["message"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for row in self.liabilities:
            names = [self.field_name(row, name) for name in SHARE_FIELDS]
            given = [name for name in names if cleaned.get(name) is not None]
            if not given or any(name in self.errors for name in names):
                continue
            for name in names[:2]:
                if name not in given:
                    self.add_error(name, "Give this share too, or leave the vendor's as they are.")
        return cleaned

    def shares(self) -> dict[str, ShareOverride]:
        # A vendor whose shares were all emptied keeps them.
        return {
            code: override
            for code, override in super().shares().items()
            if any((override.vendor_share, override.platform_share, override.commission_reversal))
        }

    def error_field(self, name: str) -> str:
        # A refusal about a vendor's shares as a whole (they do not add up) goes
        # on that vendor's first share field, next to the numbers to correct.
        first = f"{name}.{SHARE_FIELDS[0]}"
        if name not in self.fields and first in self.fields:
            return first
        return super().error_field(name)


@dataclass
class WorkbenchItem:
    """One workbench form as a template renders it."""

    key: str
    title: str
    url: str
    form: forms.Form
    submit: str
    template: str = "admin/refunds/refundcase/includes/workbench_form.html"
