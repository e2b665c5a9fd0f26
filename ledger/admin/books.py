"""The books: chart of accounts, trial balance, journals, entries and the
maintained balances (posted facts are read-only)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.urls import reverse
from django.utils.safestring import SafeString

from lib.admin import ExtraViewsMixin, money_cell
from lib.history_admin import HistoryAdminMixin
from lib.money import CURRENCY_CHOICES, display_amount
from refunds.models import Order, RefundCase

from ..detached import first_attached_day
from ..detached_journals import archived_journal_date
from ..models import (
    Account,
    AccountBalance,
    Entry,
    Journal,
)
from ..selectors import TrialBalance, ledger_currencies, trial_balance
from .base import ReadOnlyAdmin, ReadOnlyInline, exact_ids, terms


def trial_balance_rows(balance: TrialBalance) -> list[dict[str, str]]:
    """Rows as shown: amounts in the currency's minor digits."""

    def fmt(amount: Decimal) -> str:
        return display_amount(amount, balance.currency)

    return [
        {
            "code": row.code,
            "name": row.name,
            "kind": row.kind,
            "debit": fmt(row.debit),
            "credit": fmt(row.credit),
            "balance": fmt(row.balance),
        }
        for row in balance.rows
    ] + [
        {
            "code": "",
            "name": "Total",
            "kind": "",
            "debit": fmt(balance.total_debit),
            "credit": fmt(balance.total_credit),
            "balance": "Balanced" if balance.balanced else "Out of balance",
        }
    ]


class TrialBalanceForm(forms.Form):
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES)
    as_of = forms.DateField(
        required=False,
        label="As of",
        help_text="Blank: today, from the maintained balances.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )


@admin.register(Account)
class AccountAdmin(HistoryAdminMixin, ExtraViewsMixin, admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "kind",
        "role",
        "currency",
        "tax_code",
        "payment_method",
        "settles_to",
        "bank_account_code",
        "vendor",
    )
    list_display_links = ("code",)
    list_filter = ("kind", "role", "currency")
    search_fields = ("code", "name")
    ordering = ("code",)

    def get_readonly_fields(
        self, request: HttpRequest, obj: Account | None = None
    ) -> tuple[str, ...]:
        # Posting rules find accounts by role (and vendor, payment method), and
        # posted entries were made under its kind: fixed once it exists.
        if obj is not None:
            fixed = ("kind", "role", "vendor", "payment_method", "tax_code")
            # What an account holds (a bank's or a tax's currency) is fixed once posted to.
            return (*fixed, "currency") if obj.balances.exists() else fixed
        return ()

    def has_delete_permission(self, request: HttpRequest, obj: Account | None = None) -> bool:
        # Entries protect an account anyway; an unused one may go.
        if obj is not None and (obj.entries.exists() or obj.balances.exists()):
            return False
        return super().has_delete_permission(request, obj)

    extra_views = (("trial-balance/", "trial_balance"),)

    def trial_balance_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        currencies = ledger_currencies()
        initial = {"currency": currencies[0] if currencies else "EUR"}
        form = TrialBalanceForm(request.GET or None, initial=initial)
        balance = None
        if form.is_bound and form.is_valid():
            balance = trial_balance(form.cleaned_data["currency"], form.cleaned_data["as_of"])
        elif not form.is_bound and currencies:
            balance = trial_balance(initial["currency"])
        return self.render_page(
            request,
            "admin/ledger/trial_balance.html",
            "Trial balance",
            form=form,
            balance=balance,
            rows=trial_balance_rows(balance) if balance else [],
            currencies=currencies,
        )


# ---------------------------------------------------------------- journals


def entry_side(attr: str) -> Any:
    """A read-only column: the entry's debit or credit, blank when zero."""

    @admin.display(description=attr, ordering=attr)
    def column(self: Any, obj: Entry | AccountBalance) -> SafeString | str:
        amount = getattr(obj, attr)
        return money_cell(amount, obj.currency) if amount else ""

    column.__name__ = f"{attr}_text"
    return column


class EntryInline(ReadOnlyInline):
    model = Entry
    fields = ("account", "label", "dr", "cr")
    readonly_fields = fields
    dr = entry_side("debit")
    cr = entry_side("credit")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Entry]:
        return super().get_queryset(request).select_related("account")


@admin.register(Journal)
class JournalAdmin(ReadOnlyAdmin):
    list_display = ("number", "date", "kind", "source", "memo", "amount", "posted_by_text")
    list_filter = ("kind", "currency", "date", "posted_by_process")
    list_select_related = ("case", "order", "payout__vendor", "posted_by")
    search_fields = ("posting_key",)
    search_help_text = "Exact journal number, posting key, case ID or order number."
    inlines = (EntryInline,)
    readonly_fields = (
        "posting_key",
        "kind",
        "currency",
        "date",
        "original_date",
        "memo",
        "order",
        "case",
        "payout",
        "reverses",
        "entry_count",
        "entries_archived",
        "created_at",
        "posted_by",
        "posted_by_process",
    )
    fields = readonly_fields

    @admin.display(description="entries")
    def entries_archived(self, obj: Journal) -> str:
        first = first_attached_day()
        if first is not None and obj.date < first:
            return "Archived: the ledger entries of its month were detached; its totals stand."
        return "Listed below."

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # A journal of a detached month: say so rather than "deleted?".
        if self.get_object(request, unquote(object_id)) is None:
            day = archived_journal_date(unquote(object_id))
            if day is not None:
                self.message_user(
                    request,
                    f"Journal J{object_id} is archived: its month {day:%Y-%m} was detached "
                    "from the ledger (ledger.detached_journals).",
                    messages.WARNING,
                )
                return HttpResponseRedirect(reverse("admin:ledger_journal_changelist"))
        return super().change_view(request, object_id, form_url, extra_context)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Journal]:
        # The journal's size (its debits) beside it. A subquery per row: with
        # ORDER BY and LIMIT PostgreSQL computes it for the page's rows only.
        debits = (
            Entry.objects.filter(journal=OuterRef("pk"))
            .order_by()
            .values("journal")
            .annotate(total=Sum("debit"))
            .values("total")
        )
        return super().get_queryset(request).annotate(debit_total=Subquery(debits))

    @admin.display(description="journal", ordering="id")
    def number(self, obj: Journal) -> str:
        return f"J{obj.pk}"

    @admin.display(description="amount")
    def amount(self, obj: Journal) -> SafeString:
        return money_cell(getattr(obj, "debit_total", None), obj.currency)

    @admin.display(description="posted by")
    def posted_by_text(self, obj: Journal) -> str:
        return obj.poster

    @admin.display(description="source")
    def source(self, obj: Journal) -> str:
        # What the journal posted, by the name staff know it by.
        if obj.case_id is not None:
            return obj.case.case_id
        if obj.order_id is not None:
            return obj.order.number
        if obj.payout_id is not None:
            return f"payout to {obj.payout.vendor.code}"
        if obj.reverses_id is not None:
            return f"reverses J{obj.reverses_id}"
        return obj.posting_key

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Journal], search_term: str
    ) -> tuple[QuerySet[Journal], bool]:
        # Exact matches, each on an index; ids resolved first so the planner
        # sees plain values instead of OR-ed joins.
        words = terms(search_term)
        if not words:
            return queryset, False
        condition = (
            Q(posting_key__in=words)
            | Q(case_id__in=exact_ids(RefundCase, "case_id", words))
            | Q(order_id__in=exact_ids(Order, "number", words))
        )
        # A journal number as shown ("J240") or bare ("240").
        numbers = [int(n) for w in words if (n := w.removeprefix("J").removeprefix("j")).isdigit()]
        if numbers:
            condition |= Q(pk__in=numbers)
        return queryset.filter(condition), False


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ("entry", "journal_date", "account", "label", "dr", "cr")
    list_filter = ("currency", "account__role", "label")
    # The journal is named by its source (Journal.__str__).
    list_select_related = (
        "journal__case",
        "journal__order",
        "journal__payout__vendor",
        "account",
    )
    fields = ("journal", "account", "label", "currency", "dr", "cr")
    readonly_fields = fields
    dr = entry_side("debit")
    cr = entry_side("credit")

    @admin.display(description="journal", ordering="id")
    def entry(self, obj: Entry) -> str:
        return str(obj.journal).removeprefix("Journal ")

    @admin.display(description="date", ordering="date")
    def journal_date(self, obj: Entry) -> date:
        return obj.date


@admin.register(AccountBalance)
class AccountBalanceAdmin(ReadOnlyAdmin):
    list_display = ("account", "currency", "dr", "cr", "balance")
    list_select_related = ("account",)
    list_filter = ("currency", "account__role")
    search_fields = ("account__code", "account__name")
    ordering = ("account__code", "currency")
    fields = ("account", "currency", "dr", "cr", "balance")
    readonly_fields = fields
    dr = entry_side("debit")
    cr = entry_side("credit")

    @admin.display(description="balance (Dr − Cr)")
    def balance(self, obj: AccountBalance) -> SafeString:
        return money_cell(obj.net_debit, obj.currency)
