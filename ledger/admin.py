"""Staff admin for the ledger: chart of accounts, journals, balances, payouts,
credit notes and the exports finance imports into its accounting software.

Admin classes only collect input and show results. Journals, entries and
issued credit notes are facts (the database refuses to change them); money
moves through ledger.posting (payouts) and credit notes through
ledger.credit_notes, never through a raw model save.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import transaction
from django.db.models import Model, OuterRef, Q, QuerySet, Subquery, Sum
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from lib.errors import DomainError
from lib.money import CURRENCY_CHOICES, display_amount
from lib.parsing import parse_amount, parse_currency
from refunds.admin import money_cell
from refunds.models import Order, RefundCase

from .credit_notes import issue_credit_note
from .exports import FORMATS, export_filename, export_lines
from .models import (
    Account,
    AccountBalance,
    ChannelMapping,
    CreditNote,
    CreditNoteLine,
    CreditNoteSeries,
    CreditNoteSettings,
    Entry,
    Journal,
    Payout,
    TaxCode,
)
from .pdf import credit_note_pdf
from .posting import record_payout
from .selectors import TrialBalance, ledger_currencies, trial_balance

# ---------------------------------------------------------------- helpers


def terms(search_term: str) -> list[str]:
    return [t for t in (search_term or "").split() if t]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Posted facts: staff look, never add, edit or delete."""

    # Lists grow without bound: no COUNT(*) of the unfiltered table.
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def admin_url(self, name: str, *args: Any) -> str:
        """The URL of one of this model's admin views (its own extra ones included)."""
        return reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{name}",
            args=args,
        )

    def viewable_or_404(self, request: HttpRequest, object_id: str) -> Model:
        """The object an extra view (a download) is about, if the user may see it."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No such {self.opts.verbose_name}.")
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return obj


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


def exact_ids(model: type[Model], field: str, values: list[str]) -> list[int]:
    """Primary keys of rows whose unique `field` is one of `values` (one indexed query)."""
    return list(model.objects.filter(**{f"{field}__in": values}).values_list("pk", flat=True))


# ---------------------------------------------------------------- accounts


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
class AccountAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "role", "payment_method", "bank_account_code", "vendor")
    list_display_links = ("code",)
    list_filter = ("kind", "role")
    search_fields = ("code", "name")
    ordering = ("code",)

    def get_readonly_fields(
        self, request: HttpRequest, obj: Account | None = None
    ) -> tuple[str, ...]:
        # Posting rules find accounts by role (and vendor, payment method), and
        # posted entries were made under its kind: fixed once it exists.
        if obj is not None:
            return ("kind", "role", "vendor", "payment_method")
        return ()

    def has_delete_permission(self, request: HttpRequest, obj: Account | None = None) -> bool:
        # Entries protect an account anyway; an unused one may go.
        if obj is not None and (obj.entries.exists() or obj.balances.exists()):
            return False
        return super().has_delete_permission(request, obj)

    def get_urls(self) -> list[URLPattern]:
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "trial-balance/",
                self.admin_site.admin_view(self.trial_balance_view),
                name=f"{prefix}_trial_balance",
            ),
            *super().get_urls(),
        ]

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
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Trial balance",
            "form": form,
            "balance": balance,
            "rows": trial_balance_rows(balance) if balance else [],
            "currencies": currencies,
        }
        return TemplateResponse(request, "admin/ledger/trial_balance.html", context)


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
    fields = ("account", "dr", "cr")
    readonly_fields = fields
    dr = entry_side("debit")
    cr = entry_side("credit")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Entry]:
        return super().get_queryset(request).select_related("account")


@admin.register(Journal)
class JournalAdmin(ReadOnlyAdmin):
    list_display = ("number", "date", "kind", "source", "memo", "amount")
    list_filter = ("kind", "currency", "date")
    list_select_related = ("case", "order", "payout__vendor")
    search_fields = ("posting_key",)
    search_help_text = "Exact journal number, posting key, case ID or order number."
    inlines = (EntryInline,)
    readonly_fields = (
        "posting_key",
        "kind",
        "currency",
        "date",
        "memo",
        "order",
        "case",
        "payout",
        "reverses",
        "entry_count",
        "created_at",
    )
    fields = readonly_fields

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
    list_display = ("entry", "journal_date", "account", "dr", "cr")
    list_filter = ("currency", "account__role")
    # The journal is named by its source (Journal.__str__).
    list_select_related = (
        "journal__case",
        "journal__order",
        "journal__payout__vendor",
        "account",
    )
    fields = ("journal", "account", "currency", "dr", "cr")
    readonly_fields = fields
    dr = entry_side("debit")
    cr = entry_side("credit")

    @admin.display(description="journal", ordering="id")
    def entry(self, obj: Entry) -> str:
        return str(obj.journal).removeprefix("Journal ")

    @admin.display(description="date", ordering="journal__date")
    def journal_date(self, obj: Entry) -> date:
        return obj.journal.date


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


# ---------------------------------------------------------------- payouts


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


# ---------------------------------------------------------------- credit notes


def line_amount(attr: str, label: str) -> Any:
    """A read-only column showing a credit note line's amount in its currency."""

    @admin.display(description=label)
    def column(self: Any, obj: CreditNoteLine) -> SafeString:
        return money_cell(getattr(obj, attr), obj.credit_note.currency)

    column.__name__ = f"{attr}_text"
    return column


class CreditNoteLineInline(ReadOnlyInline):
    model = CreditNoteLine
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
    ordering = ("position",)

    unit = line_amount("unit_amount", "unit (net)")
    tax = line_amount("tax_amount", "tax")
    net = line_amount("net_amount", "net")
    gross = line_amount("gross_amount", "total")

    @admin.display(description="tax rate")
    def rate(self, obj: CreditNoteLine) -> str:
        return f"{(obj.tax_rate * 100).normalize():f}%"

    def get_queryset(self, request: HttpRequest) -> QuerySet[CreditNoteLine]:
        return super().get_queryset(request).select_related("credit_note")


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
class CreditNoteAdmin(ReadOnlyAdmin):
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
    search_fields = ("number",)
    search_help_text = "Exact credit note number, case ID or order number."
    inlines = (CreditNoteLineInline,)
    readonly_fields = (
        "number",
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
        "net",
        "tax",
        "total_with_currency",
        "series",
        "sequence",
        "created_at",
    )
    fields = readonly_fields

    @admin.display(description="total", ordering="total_amount")
    def total_with_currency(self, obj: CreditNote) -> SafeString:
        return money_cell(obj.total_amount, obj.currency)

    @admin.display(description="net")
    def net(self, obj: CreditNote) -> SafeString:
        return money_cell(obj.net_amount, obj.currency)

    @admin.display(description="tax")
    def tax(self, obj: CreditNote) -> SafeString:
        return money_cell(obj.tax_amount, obj.currency)

    @admin.display(description="PDF")
    def pdf_link(self, obj: CreditNote) -> str:
        return format_html('<a href="{}">Download</a>', self.admin_url("pdf", obj.pk))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[CreditNote], search_term: str
    ) -> tuple[QuerySet[CreditNote], bool]:
        words = terms(search_term)
        if not words:
            return queryset, False
        return (
            queryset.filter(
                Q(number__in=words) | Q(reference__in=words) | Q(order_number__in=words)
            ),
            False,
        )

    def get_urls(self) -> list[URLPattern]:
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("export/", wrap(self.export_view), name=f"{prefix}_export"),
            path("issue/", wrap(self.issue_view), name=f"{prefix}_issue"),
            path("<path:object_id>/pdf/", wrap(self.pdf_view), name=f"{prefix}_pdf"),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {
            "export_url": self.admin_url("export"),
            "issue_url": self.admin_url("issue") if self.can_issue(request) else None,
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra = {"pdf_url": self.admin_url("pdf", object_id), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    def can_issue(self, request: HttpRequest) -> bool:
        # There is no raw "add" form: issuing goes through the service.
        return request.user.has_perm("ledger.add_creditnote")

    def pdf_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        note = self.viewable_or_404(request, object_id)
        response = HttpResponse(credit_note_pdf(note), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{note.number}.pdf"'
        return response

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
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Export for accounting",
            "form": form,
        }
        return TemplateResponse(request, "admin/ledger/export_form.html", context)

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
                messages.success(
                    request, f"Credit note {note.number} for {note.reference} is issued."
                )
                return HttpResponseRedirect(self.admin_url("change", note.pk))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Issue a credit note",
            "form": form,
        }
        return TemplateResponse(request, "admin/ledger/issue_form.html", context)


@admin.register(CreditNoteSeries)
class CreditNoteSeriesAdmin(ReadOnlyAdmin):
    list_display = ("prefix", "year", "next_number")
    fields = list_display
    readonly_fields = list_display


@admin.register(ChannelMapping)
class ChannelMappingAdmin(admin.ModelAdmin):
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
        fields = ("rate", "tax_type")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rate_validators(self, "rate")


@admin.register(TaxCode)
class TaxCodeAdmin(admin.ModelAdmin):
    form = TaxCodeForm
    list_display = ("rate", "tax_type")


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
class CreditNoteSettingsAdmin(admin.ModelAdmin):
    """One row: the list goes straight to it."""

    form = CreditNoteSettingsForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: CreditNoteSettings | None = None
    ) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        settings = CreditNoteSettings.load()
        return HttpResponseRedirect(
            reverse(f"{self.admin_site.name}:ledger_creditnotesettings_change", args=[settings.pk])
        )


from . import admin_issuer  # noqa: E402, F401  (Company details: ledger/admin_issuer.py)
