"""Staff admin for the cash side: bank accounts, CSV mappings, imported
statements and their lines, open items, suggestions, allocations and runs.

Admin only collects and shows: importing, matching, confirming, rejecting,
matching by hand and undoing go through cash.services, whose refusals show as
messages or form errors. Statement lines, allocations and runs are facts:
nobody edits or deletes them here (the database refuses it too).

Keyboard: on the suggestion list, tick rows with space, pick "Confirm" or
"Reject" in the action menu and press enter; a line's "Match by hand" page
takes item ids typed in one field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from lib.admin import (
    BigTableAdmin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    currency_of,
    money_cell,
    money_column,
    own_currency,
)
from lib.admin_actions import each_one
from lib.admin_filters import WorkFirstFilter
from lib.errors import DomainError
from lib.money import display_money, minor_unit

from .models import (
    Allocation,
    BankAccount,
    BankStatement,
    BankStatementLine,
    CsvMapping,
    OpenItem,
    ReconciliationRun,
    StatementFormat,
    Suggestion,
    SuggestionItem,
    SuggestionStatus,
)
from .services.decisions import (
    confirm_suggestion,
    match_by_hand,
    reject_suggestion,
    reverse_allocation,
)
from .services.imports import import_statement_file
from .services.matching import reconcile
from .triggers import LINE_REFERENCES


def minor_money_column(
    attr: str, label: str, currency_of: Callable[[Any], str] = own_currency
) -> Callable[..., SafeString]:
    """As lib.admin.money_column, for an amount kept in minor units (`obj.<attr>`)."""

    @admin.display(description=label)
    def column(self: Any, obj: Any) -> SafeString:
        currency = currency_of(obj)
        return money_cell(getattr(obj, attr) * minor_unit(currency), currency)

    column.__name__ = f"{attr}_with_currency"
    return column


@admin.register(CsvMapping)
class CsvMappingAdmin(admin.ModelAdmin):
    list_display = ("name", "delimiter", "date_format", "decimal_comma", "reference_column")
    search_fields = ("name",)


@admin.register(BankAccount)
class BankAccountAdmin(admin.ModelAdmin):
    list_display = ("name", "bank", "iban", "account_number", "currency", "ledger_account")
    list_filter = ("currency", "auto_match_amounts")
    search_fields = ("name", "iban", "account_number")


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CAMT.053, OFX, MT940 or CSV.")
    format = forms.ChoiceField(
        choices=[("", "Detect from the content"), *StatementFormat.choices], required=False
    )
    account = forms.ModelChoiceField(
        BankAccount.objects.all(),
        required=False,
        help_text="Empty: the account the file names by IBAN or number.",
    )
    mapping = forms.ModelChoiceField(
        CsvMapping.objects.all(), required=False, help_text="CSV only; empty: the account's."
    )


class LineInline(ReadOnlyInline):
    """The first lines of a statement; the full list is the filtered line list."""

    model = BankStatementLine
    fields = ("booking_date", "amount_cell", "counterparty", "remittance", "natural_key", "status")
    readonly_fields = fields
    show_change_link = True
    max_shown = 50

    amount_cell = money_column("amount", "amount")

    def get_queryset(self, request: HttpRequest) -> QuerySet[BankStatementLine]:
        # A statement may have a million lines: the page shows its first ones.
        queryset = super().get_queryset(request)
        match = request.resolver_match
        statement_id = match.kwargs.get("object_id") if match else None
        if not statement_id:
            return queryset.none()
        first = queryset.filter(statement_id=statement_id).order_by("id")[: self.max_shown]
        return queryset.filter(id__in=list(first.values_list("id", flat=True)))


@admin.register(BankStatement)
class BankStatementAdmin(ReadOnlyAdmin):
    list_display = (
        "imported_at",
        "account",
        "format",
        "statement_ref",
        "opening_date",
        "closing_date",
        "closing",
        "line_count",
        "new_lines",
        "known_lines",
    )
    list_filter = ("account", "format")
    search_fields = ("statement_ref", "file_name", "file_sha256")
    readonly_fields = (
        "account",
        "format",
        "csv_mapping",
        "file_name",
        "file_sha256",
        "position",
        "statement_ref",
        "currency",
        "opening_balance",
        "closing_balance",
        "opening_date",
        "closing_date",
        "lines_total",
        "line_count",
        "new_lines",
        "known_lines",
        "key_conflicts",
        "key_recipe",
        "imported_at",
        "imported_by",
        "all_lines",
    )
    fields = readonly_fields
    inlines = (LineInline,)
    extra_views = (("import/", "import"),)

    closing = money_column("closing_balance", "closing balance")

    @admin.display(description="lines")
    def all_lines(self, obj: BankStatement) -> SafeString:
        url = reverse("admin:cash_bankstatementline_changelist") + f"?statement__id__exact={obj.pk}"
        return format_html('<a href="{}">All {} lines of this statement</a>', url, obj.new_lines)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("cash.add_bankstatement"):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = import_statement_file(
                    data=upload.read(),
                    file_name=upload.name,
                    fmt=form.cleaned_data["format"] or None,
                    account=form.cleaned_data["account"],
                    mapping=form.cleaned_data["mapping"],
                    user=request.user,
                )
            except DomainError as error:
                form.add_error("file" if error.field == "file" else None, error.message)
            else:
                again = " (this file was imported before)" if result.already_imported else ""
                messages.success(
                    request,
                    f"{upload.name}: {result.new_lines} new lines, {result.known_lines} already "
                    f"imported{again}.",
                )
                return HttpResponseRedirect(self.admin_url("changelist"))
        return self.render_page(
            request, "admin/cash/upload_form.html", "Import a bank statement", form=form
        )


class AllocationInline(ReadOnlyInline):
    model = Allocation
    fk_name = "line"
    fields = ("item", "amount", "method", "created_by", "created_at", "reversed_at")
    readonly_fields = fields

    amount = minor_money_column("amount_minor", "amount", currency_of("line"))


class SuggestionInline(ReadOnlyInline):
    model = Suggestion
    fk_name = "line"
    fields = ("tier", "item_key", "reason", "status", "decided_by")
    readonly_fields = fields
    show_change_link = True


class MatchForm(forms.Form):
    items = forms.CharField(
        label="Open item ids",
        help_text="One or more ids, separated by spaces or commas, in the order to allocate.",
    )

    def clean_items(self) -> list[int]:
        raw = self.cleaned_data["items"].replace(",", " ").split()
        try:
            return [int(value) for value in raw]
        except ValueError:
            raise forms.ValidationError("Give item ids as whole numbers.") from None


@admin.register(BankStatementLine)
class BankStatementLineAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = (
        "booking_date",
        "account",
        "amount_cell",
        "counterparty",
        "remittance_short",
        "status",
        "key_source",
    )
    list_filter = ("status", "account", "key_source", "key_conflict")
    search_fields = ("=natural_key", "=end_to_end_id", "=bank_reference", "remittance")
    readonly_fields = (
        "account",
        "statement",
        "booking_date",
        "value_date",
        "amount_cell",
        "counterparty",
        *LINE_REFERENCES,
        "status",
        "allocated",
        "match_link",
    )
    fields = readonly_fields
    inlines = (AllocationInline, SuggestionInline)
    extra_views = (("<path:object_id>/match/", "match"),)

    amount_cell = money_column("amount", "amount", ordering="amount")

    @admin.display(description="remittance")
    def remittance_short(self, obj: BankStatementLine) -> str:
        return obj.remittance[:80]

    allocated = minor_money_column("allocated_minor", "allocated")

    @admin.display(description="match")
    def match_link(self, obj: BankStatementLine) -> SafeString:
        if obj.status == "matched":
            return format_html("{}", "Matched in full")
        return format_html('<a href="{}">Match by hand</a>', self.admin_url("match", obj.pk))

    def match_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        line = self.viewable_or_404(request, object_id)
        if not request.user.has_perm("cash.add_allocation"):
            raise PermissionDenied
        form = MatchForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                allocations = match_by_hand(
                    line_id=line.pk, item_ids=form.cleaned_data["items"], user=request.user
                )
            except DomainError as error:
                form.add_error("items", error.message)
            else:
                messages.success(request, f"Line matched to {len(allocations)} item(s).")
                return HttpResponseRedirect(self.admin_url("change", line.pk))
        return self.render_page(
            request,
            "admin/cash/upload_form.html",
            f"Match by hand: {line}",
            parent=str(line),
            parent_url=self.admin_url("change", line.pk),
            form=form,
        )


@admin.register(OpenItem)
class OpenItemAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = (
        "id",
        "kind",
        "item_date",
        "amount_cell",
        "remaining",
        "reference",
        "counterparty",
    )
    list_filter = ("kind", "currency")
    search_fields = ("=id", "=source_id", "reference", "counterparty")

    amount_cell = money_column("amount", "amount")
    remaining = minor_money_column("remaining_minor", "remaining")


class SuggestionItemInline(ReadOnlyInline):
    model = SuggestionItem
    fields = ("item", "amount")
    readonly_fields = fields

    amount = minor_money_column("amount_minor", "amount", currency_of("item"))


class PendingFilter(WorkFirstFilter):
    statuses = SuggestionStatus
    first = SuggestionStatus.PENDING


@admin.register(Suggestion)
class SuggestionAdmin(ReadOnlyAdmin, BigTableAdmin):
    """Pending suggestions first; confirm or reject with the action menu."""

    list_display = ("id", "line_cell", "tier", "reason", "item_key", "status")
    list_filter = (PendingFilter, "tier")
    fields = ("line", "run", "tier", "item_key", "reason", "status", "decided_at", "decided_by")
    readonly_fields = fields
    inlines = (SuggestionItemInline,)
    actions = ("confirm", "reject")
    list_select_related = ("line",)

    @admin.display(description="line")
    def line_cell(self, obj: Suggestion) -> str:
        line = obj.line
        return (
            f"{line.booking_date} {display_money(line.amount, line.currency)} {line.counterparty}"
        )

    def _decide(
        self, request: HttpRequest, queryset: QuerySet[Suggestion], decide: Any, done: str
    ) -> None:
        if not request.user.has_perm("cash.change_suggestion"):
            raise PermissionDenied
        ok = each_one(
            request,
            queryset.values_list("id", flat=True),
            lambda suggestion_id: decide(suggestion_id=suggestion_id, user=request.user),
            name="Suggestion {}".format,
            level=messages.WARNING,
        )
        if ok:
            messages.success(request, f"{ok} suggestion(s) {done}.")

    @admin.action(description="Confirm the selected suggestions (match)")
    def confirm(self, request: HttpRequest, queryset: QuerySet[Suggestion]) -> None:
        self._decide(request, queryset, confirm_suggestion, "confirmed")

    @admin.action(description="Reject the selected suggestions (never proposed again)")
    def reject(self, request: HttpRequest, queryset: QuerySet[Suggestion]) -> None:
        self._decide(request, queryset, reject_suggestion, "rejected")

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # ReadOnlyAdmin has no delete action; these two are decisions, not edits.
        actions = super().get_actions(request)
        return {k: v for k, v in actions.items() if k in ("confirm", "reject")}


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = (
        "id",
        "line",
        "item",
        "amount",
        "method",
        "created_by",
        "created_at",
        "reversed_at",
    )
    list_filter = ("method",)
    search_fields = ("=line__id", "=item__id")
    fields = (
        "line",
        "item",
        "amount",
        "method",
        "run",
        "suggestion",
        "created_by",
        "created_at",
        "reversed_at",
        "reversed_by",
    )
    readonly_fields = fields
    actions = ("reverse",)
    list_select_related = ("line", "item")

    amount = minor_money_column("amount_minor", "amount", currency_of("line"))

    @admin.action(
        description="Undo the selected matches (reverse; never matched again automatically)"
    )
    def reverse(self, request: HttpRequest, queryset: QuerySet[Allocation]) -> None:
        if not request.user.has_perm("cash.change_allocation"):
            raise PermissionDenied
        done = each_one(
            request,
            queryset.values_list("id", flat=True),
            lambda allocation_id: reverse_allocation(
                allocation_id=allocation_id, user=request.user
            ),
            name="Allocation {}".format,
            level=messages.WARNING,
        )
        if done:
            messages.success(request, f"{done} match(es) undone.")


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "started_at",
        "finished_at",
        "started_by",
        "items_added",
        "matched",
        "suggested",
        "unmatched",
    )
    fields = list_display
    readonly_fields = fields
    extra_views = (("run/", "run"),)

    def run_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or not request.user.has_perm("cash.add_allocation"):
            raise PermissionDenied
        try:
            result = reconcile(user=request.user)
        except DomainError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(self.admin_url("changelist"))
        messages.success(
            request,
            f"Run {result.run.pk}: matched {result.matched}, suggested {result.suggested}, "
            f"unmatched {result.unmatched}.",
        )
        return HttpResponseRedirect(self.admin_url("changelist"))


# Payout reports, their rows, providers, mappings and the exception queue.
# Reconciliation periods, write-offs, closed cases for review, the case trace.
from . import (  # noqa: E402
    payout_admin,  # noqa: F401
    recon_admin,  # noqa: F401
)
