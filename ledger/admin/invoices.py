"""Invoices and their series: read-only (issued documents are facts), with
their PDF. Issued by ledger.invoices when the sale and refund journals post
(`manage.py issue_invoices` for data from before invoices)."""

from __future__ import annotations

from django.contrib import admin

from ..models import Invoice, InvoiceLine, InvoiceSeries
from ..pdf import invoice_pdf
from .base import DocumentAdmin, DocumentLineInline, ReadOnlyAdmin


class InvoiceLineInline(DocumentLineInline):
    model = InvoiceLine
    document = "invoice"
    fields = (
        "position",
        "kind",
        "description",
        "quantity",
        "unit",
        "rate",
        "tax_code",
        "tax_type",
        "tax",
        "net",
        "gross",
    )
    readonly_fields = fields


@admin.register(Invoice)
class InvoiceAdmin(DocumentAdmin):
    list_display = (
        "number",
        "kind",
        "issue_date",
        "order_number",
        "seller_name",
        "customer_name",
        "total_with_currency",
        "pdf_link",
    )
    list_filter = ("kind", "issue_date", "currency")
    search_exact = (
        "number",
        "order_number",
        "reference",
        "seller_vendor__code",
        "billed_vendor__code",
    )
    search_help_text = "Exact invoice number, order number, case ID or vendor code."
    inlines = (InvoiceLineInline,)
    readonly_fields = (
        "number",
        "kind",
        "issue_date",
        "order_number",
        "order",
        "reference",
        "case",
        "corrects",
        "seller_vendor",
        "seller_name",
        "seller_address",
        "seller_vat_id",
        "billed_vendor",
        "customer_name",
        "customer_email",
        "customer_address",
        "customer_vat_id",
        "currency",
        *DocumentAdmin.amounts_and_numbering,
    )
    fields = readonly_fields

    extra_views = (("<path:object_id>/pdf/", "pdf"),)

    def document_pdf(self, document: Invoice) -> bytes:
        return invoice_pdf(document)


@admin.register(InvoiceSeries)
class InvoiceSeriesAdmin(ReadOnlyAdmin):
    list_display = ("prefix", "year", "vendor", "next_number")
    fields = list_display
    readonly_fields = list_display
