"""Small helpers the ledger's model admins share; the read-only bases for
posted facts are lib.admin's (re-exported here)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html

from lib.admin import ReadOnlyAdmin, ReadOnlyInline, currency_of, money_column

__all__ = [
    "DocumentAdmin",
    "DocumentLineInline",
    "ReadOnlyAdmin",
    "ReadOnlyInline",
    "exact_ids",
    "terms",
]


class DocumentAdmin(ReadOnlyAdmin):
    """Issued documents (invoices, credit notes): read-only, with their
    amounts, their PDF, and a search by exact numbers and references."""

    search_fields = ("number",)
    # The fields a search word must equal (any of them).
    search_exact: tuple[str, ...] = ("number",)
    total_with_currency = money_column("total_amount", "total", ordering="total_amount")
    net = money_column("net_amount", "net")
    tax = money_column("tax_amount", "tax")
    object_links = ("pdf",)
    # The last fields of a document's page.
    amounts_and_numbering = (
        "net",
        "tax",
        "total_with_currency",
        "series",
        "sequence",
        "created_at",
    )

    def document_pdf(self, document: Any) -> bytes:
        raise NotImplementedError

    @admin.display(description="PDF")
    def pdf_link(self, obj: Any) -> str:
        return format_html('<a href="{}">Download</a>', self.admin_url("pdf", obj.pk))

    def pdf_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        document = self.viewable_or_404(request, object_id)
        response = HttpResponse(self.document_pdf(document), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{document.number}.pdf"'
        return response

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        words = terms(search_term)
        if not words:
            return queryset, False
        condition = Q()
        for field in self.search_exact:
            condition |= Q(**{f"{field}__in": words})
        return queryset.filter(condition), False


class DocumentLineInline(ReadOnlyInline):
    """The lines of an issued document (an invoice, a credit note): their
    amounts in the document's currency and their tax rate as a percentage."""

    document = ""  # the lines' foreign key to their document: "invoice", "credit_note"
    ordering = ("position",)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        currency = currency_of(cls.document)
        cls.unit = money_column("unit_amount", "unit (net)", currency)
        cls.tax = money_column("tax_amount", "tax", currency)
        cls.net = money_column("net_amount", "net", currency)
        cls.gross = money_column("gross_amount", "total", currency)

    @admin.display(description="tax rate")
    def rate(self, obj: Any) -> str:
        return f"{(obj.tax_rate * 100).normalize():f}%"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related(self.document)


def terms(search_term: str) -> list[str]:
    return [t for t in (search_term or "").split() if t]


def exact_ids(model: type[Model], field: str, values: list[str]) -> list[int]:
    """Primary keys of rows whose unique `field` is one of `values` (one indexed query)."""
    return list(model.objects.filter(**{f"{field}__in": values}).values_list("pk", flat=True))
