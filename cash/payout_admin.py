"""Payout reports in the admin: providers and saved mappings (edited here),
reports with their rows (read-only; imported through the upload page, which
calls the same service as the command and the API), and the exception queue,
resolved with a note."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from lib.admin import BigTableAdmin, ReadOnlyAdmin, ReadOnlyInline, money_cell, money_column
from lib.admin_actions import each_one
from lib.admin_filters import WorkFirstFilter
from lib.errors import DomainError
from lib.money import CURRENCY_CHOICES

from .models import (
    ExceptionStatus,
    PayoutException,
    PayoutFormat,
    PayoutMapping,
    PayoutProvider,
    PayoutReport,
    PayoutReportRow,
)
from .services.payout_reports import import_payout_report, resolve_payout_exception

# At most this many exceptions are resolved by one action (each in its own transaction).
MAX_BULK_RESOLVE = 200


def _link(name: str, pk: Any, text: str) -> SafeString:
    return format_html('<a href="{}">{}</a>', reverse(f"admin:{name}_change", args=[pk]), text)


@admin.register(PayoutProvider)
class PayoutProviderAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "payment_method", "bank_account", "format", "mapping")
    search_fields = ("code", "name")


@admin.register(PayoutMapping)
class PayoutMappingAdmin(admin.ModelAdmin):
    list_display = ("name", "delimiter", "date_format", "payout_id_column", "gross_column")
    search_fields = ("name",)
    fieldsets = (
        (None, {"fields": ("name",)}),
        (
            "How the file reads",
            {"fields": ("encoding", "delimiter", "skip_rows", "date_format", "decimal_comma")},
        ),
        (
            "Row types",
            {"fields": ("type_column", "type_values", "unknown_types")},
        ),
        (
            "Amounts",
            {
                "fields": (
                    "gross_column",
                    "fee_column",
                    "fee_tax_column",
                    "net_column",
                    "unsigned_amounts",
                    "fees_negative",
                    "currency_column",
                    "currency",
                )
            },
        ),
        (
            "Ids, dates and references",
            {
                "fields": (
                    "id_column",
                    "date_column",
                    "available_on_column",
                    "reference_column",
                    "charge_reference_column",
                    "order_column",
                    "line_column",
                    "description_column",
                )
            },
        ),
        (
            "The payout",
            {"fields": ("payout_id_column", "payout_date_column", "payout_amount_column")},
        ),
    )


# ---------------------------------------------------------------- reports


class RowInline(ReadOnlyInline):
    model = PayoutReportRow
    fields = (
        "row_number",
        "type",
        "provider_type",
        "transaction_date",
        "gross_with_currency",
        "fee_with_currency",
        "net_with_currency",
        "gateway_reference",
        "order_number",
        "line_reference",
        "match_status",
        "matched",
        "exception_link",
    )
    readonly_fields = fields
    ordering = ("row_number",)

    gross_with_currency = money_column("gross", "Gross")
    fee_with_currency = money_column("fee", "Fee")
    net_with_currency = money_column("net", "Net")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PayoutReportRow]:
        return (
            super()
            .get_queryset(request)
            .select_related("order", "refund_case", "payment", "exception")
        )

    @admin.display(description="Matched with")
    def matched(self, row: PayoutReportRow) -> SafeString | str:
        if row.refund_case_id is not None:
            assert row.refund_case is not None
            return _link("refunds_refundcase", row.refund_case_id, row.refund_case.case_id)
        if row.order_id is not None and row.match_status == "matched":
            assert row.order is not None
            return _link("refunds_order", row.order_id, row.order.number)
        return "-"

    @admin.display(description="Exception")
    def exception_link(self, row: PayoutReportRow) -> SafeString | str:
        exception = getattr(row, "exception", None)
        if exception is None:
            return "-"
        return _link("cash_payoutexception", exception.pk, exception.get_status_display())


class UploadForm(forms.Form):
    file = forms.FileField(help_text="The provider's payout report (CSV).")
    provider = forms.ModelChoiceField(queryset=PayoutProvider.objects.all())
    format = forms.ChoiceField(
        choices=[("", "Read from the header"), *PayoutFormat.choices], required=False
    )
    mapping = forms.ModelChoiceField(
        queryset=PayoutMapping.objects.all(),
        required=False,
        help_text="For format custom; default the provider's mapping.",
    )
    currency = forms.ChoiceField(
        choices=[("", "From the file"), *CURRENCY_CHOICES],
        required=False,
        help_text="The rows' currency, when the file has no currency column.",
    )
    payout_amount = forms.CharField(
        required=False,
        max_length=40,
        help_text="The payout's amount, if you have it (a file of one payout): checked "
        "against its rows.",
    )


@admin.register(PayoutReport)
class PayoutReportAdmin(ReadOnlyAdmin):
    list_display = (
        "payout_id",
        "provider",
        "arrival_date",
        "payout_amount_with_currency",
        "row_count",
        "exception_count",
        "journal_link",
        "file_name",
        "imported_at",
    )
    list_filter = ("provider", "currency", "format")
    search_fields = ("payout_id", "file_name")
    date_hierarchy = "arrival_date"
    list_select_related = ("provider", "journal")
    fields = (
        "provider",
        "payout_id",
        "currency",
        "payout_amount_with_currency",
        "amount_source",
        "arrival_date",
        ("period_start", "period_end"),
        "rows_net_with_currency",
        ("row_count", "exception_count"),
        "bank_ledger_account",
        "journal_link",
        ("format", "mapping"),
        ("file_name", "position"),
        "file_sha256",
        ("imported_at", "imported_by"),
    )
    readonly_fields = tuple(
        name for entry in fields for name in (entry if isinstance(entry, tuple) else (entry,))
    )
    inlines = (RowInline,)
    extra_views = (("upload/", "upload"),)

    payout_amount_with_currency = money_column("payout_amount", "Payout", ordering="payout_amount")
    rows_net_with_currency = money_column("rows_net", "Rows' net")

    @admin.display(description="Journal")
    def journal_link(self, report: PayoutReport) -> SafeString | str:
        if report.journal_id is None:
            return "-"
        return _link("ledger_journal", report.journal_id, f"J{report.journal_id}")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {
            "upload_url": self.admin_url("upload") if self.can_upload(request) else None,
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    def can_upload(self, request: HttpRequest) -> bool:
        # No raw "add" form: a report comes from its file, through the service.
        return request.user.has_perm("cash.add_payoutreport")

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        if not self.can_upload(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                result = import_payout_report(
                    data=data["file"].read(),
                    provider=data["provider"],
                    file_name=data["file"].name or "",
                    fmt=data["format"],
                    mapping=data["mapping"],
                    currency=data["currency"],
                    payout_amount=data["payout_amount"] or None,
                    user=request.user,
                )
            except DomainError as error:
                field = error.field if error.field in form.fields else None
                form.add_error(field, error.message)
            else:
                messages.success(
                    request,
                    f"{result.new_rows} new rows, {result.known_rows} already imported, "
                    f"{result.exceptions} exceptions to resolve.",
                )
                fresh = [o.report.pk for o in result.outcomes if o.new]
                if len(fresh) == 1:
                    return HttpResponseRedirect(self.admin_url("change", fresh[0]))
                return HttpResponseRedirect(self.admin_url("changelist"))
        return self.render_page(
            request, "admin/cash/payoutreport/upload.html", "Import a payout report", form=form
        )


# ---------------------------------------------------------------- exceptions


class ResolveActionForm(helpers.ActionForm):
    text = forms.CharField(required=False, max_length=2000, label="Note:")


class OpenFirstFilter(WorkFirstFilter):
    """Open exceptions unless asked otherwise: the queue is what is left to do."""

    statuses = ExceptionStatus
    first = ExceptionStatus.OPEN


# An exception as listed and as shown: its row, and why the row is an exception.
EXCEPTION_COLUMNS = (
    "row_number",
    "row_type",
    "gross",
    "reference",
    "reason",
    "detail",
    "status",
    "created_at",
)


@admin.register(PayoutException)
class PayoutExceptionAdmin(BigTableAdmin):
    list_display = ("id", "provider", "payout", *EXCEPTION_COLUMNS)
    list_filter = (OpenFirstFilter, "reason", "row__provider")
    search_fields = ("row__payout_id", "row__gateway_reference", "row__order_number", "detail")
    list_select_related = ("row__provider", "row__report")
    action_form = ResolveActionForm
    actions = ("resolve_selected",)
    fields = ("report_link", *EXCEPTION_COLUMNS, "note", "resolved_at", "resolved_by")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Provider", ordering="row__provider__name")
    def provider(self, exception: PayoutException) -> str:
        return exception.row.provider.name

    @admin.display(description="Payout", ordering="row__payout_id")
    def payout(self, exception: PayoutException) -> SafeString:
        return _link("cash_payoutreport", exception.row.report_id, exception.row.payout_id)

    @admin.display(description="Report")
    def report_link(self, exception: PayoutException) -> SafeString:
        return _link("cash_payoutreport", exception.row.report_id, str(exception.row.report))

    @admin.display(description="Row")
    def row_number(self, exception: PayoutException) -> int:
        return exception.row.row_number

    @admin.display(description="Type")
    def row_type(self, exception: PayoutException) -> str:
        return exception.row.get_type_display()

    @admin.display(description="Gross")
    def gross(self, exception: PayoutException) -> SafeString:
        return money_cell(exception.row.gross, exception.row.currency)

    @admin.display(description="Reference")
    def reference(self, exception: PayoutException) -> str:
        row = exception.row
        return row.gateway_reference or row.order_number or "-"

    @admin.action(description="Resolve selected exceptions (text: note)", permissions=["change"])
    def resolve_selected(self, request: HttpRequest, queryset: QuerySet[PayoutException]) -> None:
        note = (request.POST.get("text") or "").strip()
        if not note:
            self.message_user(request, "note: say how they were explained.", messages.ERROR)
            return
        pks = list(
            queryset.filter(status=ExceptionStatus.OPEN)
            .order_by("pk")
            .values_list("pk", flat=True)[: MAX_BULK_RESOLVE + 1]
        )
        if len(pks) > MAX_BULK_RESOLVE:
            self.message_user(
                request,
                f"Select at most {MAX_BULK_RESOLVE} exceptions at a time; nothing was changed.",
                messages.ERROR,
            )
            return
        done = each_one(
            request,
            pks,
            lambda pk: resolve_payout_exception(exception=pk, note=note, user=request.user),
            name="Exception {}".format,
        )
        if done:
            self.message_user(
                request,
                f"{done} exception{'s' if done != 1 else ''} resolved.",
                messages.SUCCESS,
            )
        elif not pks:
            self.message_user(request, "None of those is open.", messages.WARNING)
