"""Invoices and their series: read-only (issued documents are facts), with
their PDF. Issued by ledger.invoices when the sale and refund journals post
(`manage.py issue_invoices` for data from before invoices)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html

from lib.admin import currency_of, money_column

from ..models import Invoice, InvoiceLine, InvoiceSeries
from ..pdf import invoice_pdf
from .base import ReadOnlyAdmin, ReadOnlyInline, terms

invoice_currency = currency_of("invoice")


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
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
    ordering = ("position",)

    unit = money_column("unit_amount", "unit (net)", invoice_currency)
    tax = money_column("tax_amount", "tax", invoice_currency)
    net = money_column("net_amount", "net", invoice_currency)
    gross = money_column("gross_amount", "total", invoice_currency)

    @admin.display(description="tax rate")
    def rate(self, obj: InvoiceLine) -> str:
        return f"{(obj.tax_rate * 100).normalize():f}%"

    def get_queryset(self, request: HttpRequest) -> QuerySet[InvoiceLine]:
        return super().get_queryset(request).select_related("invoice")


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
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
    search_fields = ("number",)
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
        "net",
        "tax",
        "total_with_currency",
        "series",
        "sequence",
        "created_at",
    )
    fields = readonly_fields

    total_with_currency = money_column("total_amount", "total", ordering="total_amount")
    net = money_column("net_amount", "net")
    tax = money_column("tax_amount", "tax")

    extra_views = (("<path:object_id>/pdf/", "pdf"),)
    object_links = ("pdf",)

    @admin.display(description="PDF")
    def pdf_link(self, obj: Invoice) -> str:
        return format_html('<a href="{}">Download</a>', self.admin_url("pdf", obj.pk))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Invoice], search_term: str
    ) -> tuple[QuerySet[Invoice], bool]:
        words = terms(search_term)
        if not words:
            return queryset, False
        return (
            queryset.filter(
                Q(number__in=words)
                | Q(order_number__in=words)
                | Q(reference__in=words)
                | Q(seller_vendor__code__in=words)
                | Q(billed_vendor__code__in=words)
            ),
            False,
        )

    def pdf_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        invoice = self.viewable_or_404(request, object_id)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
        return response


@admin.register(InvoiceSeries)
class InvoiceSeriesAdmin(ReadOnlyAdmin):
    list_display = ("prefix", "year", "vendor", "next_number")
    fields = list_display
    readonly_fields = list_display
