"""Staff admin for settlement statements: list, view, download, and make the
due ones now rather than wait for the nightly run.

Registered in the portal (imported by portal/admin.py) rather than in ledger.admin because making statements also
tells vendors (portal.settlement_notifications), which the ledger knows nothing of.
Statements are facts drawn from the ledger: nobody edits or deletes one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.utils import timezone
from django.utils.html import format_html

from ledger.detached import EntriesDetachedError
from ledger.models import SettlementStatement
from ledger.settlements.compute import statement_page
from lib.admin import ReadOnlyAdmin, money_column
from lib.money import display_money
from vendors.models import Vendor

from .settlement_notifications import make_due_statements
from .settlement_views import statement_download

# Lines shown per page of a statement's page; the CSV has them all.
LINES_PER_PAGE = 100
MAX_LINES_PAGE = 10_000


def lines_page(request: HttpRequest) -> int:
    try:
        return min(max(int(request.GET.get("lines", "1")), 1), MAX_LINES_PAGE)
    except ValueError:
        return 1


def statement_lines_context(statement: SettlementStatement, page: int) -> dict[str, Any]:
    """One page of the statement's lines, each with the balance after it, as
    the statement page shows them (the same lines as the vendor's CSV and PDF)."""
    currency = statement.currency
    offset = (page - 1) * LINES_PER_PAGE
    rows = statement_page(statement, offset, LINES_PER_PAGE + 1)
    return {
        "lines": [
            {
                "date": line.date,
                "label": line.label,
                "reference": line.reference,
                "memo": line.memo,
                "late": line.late,
                "amount": display_money(line.amount, currency),
                "balance": display_money(balance, currency),
            }
            for line, balance in rows[:LINES_PER_PAGE]
        ],
        "lines_page": page,
        "lines_from": offset + 1,
        "lines_next": page + 1 if len(rows) > LINES_PER_PAGE else None,
        "lines_previous": page - 1 if page > 1 else None,
        "opening": display_money(statement.opening, currency),
        "closing": display_money(statement.closing, currency),
    }


class GenerateForm(forms.Form):
    today = forms.DateField(
        label="As of",
        required=False,
        help_text="Statements are made for periods that ended before this day "
        "(default: today). Statements already made are kept as they are.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    vendor = forms.ModelChoiceField(
        queryset=Vendor.objects.order_by("code"),
        required=False,
        to_field_name="code",
        help_text="Only this vendor (default: every vendor).",
    )

    def clean_today(self) -> date | None:
        today = self.cleaned_data["today"]
        if today and today > timezone.localdate():
            raise forms.ValidationError("A statement cannot cover days that have not ended.")
        return today


@admin.register(SettlementStatement)
class SettlementStatementAdmin(ReadOnlyAdmin):
    list_display = (
        "statement",
        "period_start",
        "period_end",
        "opening_text",
        "closing_text",
        "entry_count",
        "downloads",
    )
    list_filter = ("currency", "frequency", "period_end")
    list_select_related = ("vendor",)
    search_fields = ("vendor__code", "vendor__name")
    date_hierarchy = "period_end"
    fields = (
        "vendor",
        "account",
        "currency",
        "frequency",
        "period_start",
        "period_end",
        "cutoff",
        "opening_text",
        "sales_text",
        "deductions_text",
        "adjustments_text",
        "payouts_text",
        "closing_text",
        "entry_count",
        "previous",
        "generated_at",
    )
    readonly_fields = fields

    @admin.display(description="statement", ordering="period_end")
    def statement(self, obj: SettlementStatement) -> str:
        return str(obj)

    opening_text = money_column("opening", "opening", ordering="opening")
    sales_text = money_column("sales", "sales net of commission")
    deductions_text = money_column("deductions", "refund deductions")
    adjustments_text = money_column("adjustments", "adjustments")
    payouts_text = money_column("payouts", "payouts")
    closing_text = money_column("closing", "closing", ordering="closing")

    @admin.display(description="download")
    def downloads(self, obj: SettlementStatement) -> str:
        return format_html(
            '<a href="{}">CSV</a> · <a href="{}">PDF</a>',
            self.admin_url("csv", obj.pk),
            self.admin_url("pdf", obj.pk),
        )

    extra_views = (
        ("generate/", "generate"),
        ("<path:object_id>/csv/", "csv"),
        ("<path:object_id>/pdf/", "pdf"),
    )
    object_links = ("csv", "pdf")

    def changelist_context(self, request: HttpRequest) -> dict[str, Any]:
        return {"generate_url": self.admin_url("generate") if self.can_generate(request) else None}

    def change_context(self, request: HttpRequest, object_id: str) -> dict[str, Any]:
        statement = self.get_object(request, unquote(object_id))
        if statement is not None and self.has_view_permission(request, statement):
            try:
                return statement_lines_context(statement, lines_page(request))
            except EntriesDetachedError as error:
                return {"lines_archived": error.message}
        return {}

    def can_generate(self, request: HttpRequest) -> bool:
        # There is no raw "add" form: statements come from the ledger.
        return request.user.has_perm("ledger.add_settlementstatement")

    def csv_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return statement_download(self.viewable_or_404(request, object_id), "csv")

    def pdf_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return statement_download(self.viewable_or_404(request, object_id), "pdf")

    def generate_view(self, request: HttpRequest) -> HttpResponse:
        if not self.can_generate(request):
            raise PermissionDenied
        form = GenerateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            vendor = form.cleaned_data["vendor"]
            result, notified = make_due_statements(
                form.cleaned_data["today"], vendor_ids=[vendor.pk] if vendor else None
            )
            messages.success(
                request,
                f"{len(result.statements)} statements made; {len(notified)} vendors notified.",
            )
            for vendor_id, currency, error in result.failures:
                messages.error(request, f"Vendor {vendor_id} {currency}: {error}")
            return HttpResponseRedirect(self.admin_url("changelist"))
        return self.render_page(
            request,
            "admin/ledger/settlementstatement/generate.html",
            "Make due settlement statements",
            form=form,
        )
