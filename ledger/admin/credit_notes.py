"""Credit notes, their series and settings, tax codes, channel mappings and the
exports finance imports into its accounting software."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)

from lib.admin import SingletonAdmin, currency_of, money_column
from lib.errors import DomainError
from lib.history_admin import HistoryAdminMixin

from ..credit_notes import issue_credit_note
from ..exports import FORMATS, export_filename, export_lines
from ..models import (
    ChannelMapping,
    CreditNote,
    CreditNoteLine,
    CreditNoteRefund,
    CreditNoteSeries,
    CreditNoteSettings,
    TaxCode,
)
from ..pdf import credit_note_pdf
from .base import DocumentAdmin, DocumentLineInline, ReadOnlyAdmin, ReadOnlyInline

note_currency = currency_of("credit_note")


class CreditNoteLineInline(DocumentLineInline):
    model = CreditNoteLine
    document = "credit_note"
    fields = (
        "position",
        "description",
        "quantity",
        "unit",
        "rate",
        "tax_type",
        "tax",
        "net",
        "gross",
        "account_code",
        "tracking_name",
        "tracking_option",
    )
    readonly_fields = fields


class CreditNoteRefundInline(ReadOnlyInline):
    model = CreditNoteRefund
    fields = ("position", "payment_method", "bank_account_code", "refunded")
    readonly_fields = fields
    ordering = ("position",)
    verbose_name_plural = "refunded to"

    refunded = money_column("amount", "amount", note_currency)


class ExportForm(forms.Form):
    kind = forms.ChoiceField(label="Format", choices=[(f.name, f.label) for f in FORMATS.values()])
    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(
        label="To", help_text="Both ends included.", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The range ends before it starts.")
        return data


class IssueForm(forms.Form):
    case_id = forms.CharField(label="Refund case ID", max_length=22)


@admin.register(CreditNote)
class CreditNoteAdmin(DocumentAdmin):
    list_display = (
        "number",
        "issue_date",
        "reference",
        "order_number",
        "customer_name",
        "total_with_currency",
        "pdf_link",
    )
    list_filter = ("issue_date", "currency", "channel_mapping_applied")
    search_exact = ("number", "reference", "order_number")
    search_help_text = "Exact credit note number, case ID or order number."
    inlines = (CreditNoteLineInline, CreditNoteRefundInline)
    readonly_fields = (
        "number",
        "invoice",
        "issue_date",
        "reference",
        "case",
        "order_number",
        "order",
        "customer_name",
        "customer_email",
        "currency",
        "payment_method",
        "bank_account_code",
        "channel_mapping_applied",
        *DocumentAdmin.amounts_and_numbering,
    )
    fields = readonly_fields

    extra_views = (
        ("export/", "export"),
        ("issue/", "issue"),
        ("<path:object_id>/pdf/", "pdf"),
    )

    def document_pdf(self, document: CreditNote) -> bytes:
        return credit_note_pdf(document)

    def changelist_context(self, request: HttpRequest) -> dict[str, Any]:
        return {
            "export_url": self.admin_url("export"),
            "issue_url": self.admin_url("issue") if self.can_issue(request) else None,
        }

    def can_issue(self, request: HttpRequest) -> bool:
        # There is no raw "add" form: issuing goes through the service.
        return request.user.has_perm("ledger.add_creditnote")

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ExportForm(request.GET or None)
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            export = FORMATS[data["kind"]]
            if not request.user.has_perm(export.permission):
                raise PermissionDenied
            response = StreamingHttpResponse(
                export_lines(export.name, data["date_from"], data["date_to"]),
                content_type="text/csv; charset=utf-8",
            )
            filename = export_filename(export.name, data["date_from"], data["date_to"])
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        return self.render_page(
            request, "admin/ledger/export_form.html", "Export for accounting", form=form
        )

    def issue_view(self, request: HttpRequest) -> HttpResponse:
        if not self.can_issue(request):
            raise PermissionDenied
        form = IssueForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                note = issue_credit_note(form.cleaned_data["case_id"])
            except DomainError as error:
                form.add_error("case_id", error.message)
            else:
                numbers = [n.number for n in note.case.credit_notes.order_by("id")]
                issued = (
                    f"Credit note {numbers[0]} for {note.reference} is issued."
                    if len(numbers) == 1
                    else f"Credit notes {', '.join(numbers)} for {note.reference} are issued."
                )
                messages.success(request, issued)
                return HttpResponseRedirect(self.admin_url("change", note.pk))
        return self.render_page(
            request, "admin/ledger/issue_form.html", "Issue a credit note", form=form
        )


@admin.register(CreditNoteSeries)
class CreditNoteSeriesAdmin(ReadOnlyAdmin):
    list_display = ("prefix", "year", "next_number")
    fields = list_display
    readonly_fields = list_display


@admin.register(ChannelMapping)
class ChannelMappingAdmin(HistoryAdminMixin, admin.ModelAdmin):
    list_display = (
        "source",
        "subsource",
        "sales_account_code",
        "tracking_name",
        "tracking_option",
        "customer_name",
    )
    search_fields = ("source", "subsource", "customer_name")


def rate_validators(form: forms.ModelForm, name: str) -> None:
    # Refused on the field itself, not as the CHECK constraint's form-wide error.
    field = form.fields.get(name)
    if field is not None:
        field.validators += [MinValueValidator(0), MaxValueValidator(1)]
        field.widget.attrs.update(min="0", max="1", step="0.0001")


class TaxCodeForm(forms.ModelForm):
    class Meta:
        model = TaxCode
        fields = ("code", "name", "jurisdiction", "rate", "tax_type")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rate_validators(self, "rate")


@admin.register(TaxCode)
class TaxCodeAdmin(HistoryAdminMixin, admin.ModelAdmin):
    form = TaxCodeForm
    list_display = ("code", "jurisdiction", "rate", "tax_type", "name")
    list_filter = ("jurisdiction",)
    search_fields = ("code", "name", "tax_type")


class CreditNoteSettingsForm(forms.ModelForm):
    class Meta:
        model = CreditNoteSettings
        fields = (
            "platform_name",
            "number_prefix",
            "channel_mapping_enabled",
            "default_sales_account_code",
            "shipping_account_code",
            "default_refund_tax_rate",
            "default_customer_name",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rate_validators(self, "default_refund_tax_rate")


@admin.register(CreditNoteSettings)
class CreditNoteSettingsAdmin(HistoryAdminMixin, SingletonAdmin):
    """One row: the list goes straight to it."""

    form = CreditNoteSettingsForm
