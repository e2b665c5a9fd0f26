from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lib.api_fields import MoneyField, RateOutputField, TextField, related
from lib.money import format_amount

from ..invoices import tax_summary
from ..models import (
    Account,
    CreditNote,
    CreditNoteLine,
    CreditNoteRefund,
    Entry,
    Invoice,
    InvoiceLine,
    Journal,
    TaxCode,
)


class EntrySerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.code", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    debit = serializers.SerializerMethodField()
    credit = serializers.SerializerMethodField()

    class Meta:
        model = Entry
        fields = ["account", "account_name", "debit", "credit", "currency", "label"]

    def get_debit(self, entry) -> str:
        return format_amount(entry.debit, entry.currency)

    def get_credit(self, entry) -> str:
        return format_amount(entry.credit, entry.currency)


class JournalSerializer(serializers.ModelSerializer):
    case = related("case.case_id")
    order = related("order.number")
    entries = EntrySerializer(many=True, read_only=True)
    posted_by = related(
        "posted_by.get_username",
        help_text="Username of the staff member who posted it, if one did.",
    )
    entries_archived = serializers.SerializerMethodField(
        help_text="True when the entries of the journal's month were detached (archived): "
        "`entries` is then empty, its totals stand in the books."
    )

    class Meta:
        model = Journal
        fields = [
            "id",
            "posting_key",
            "kind",
            "currency",
            "date",
            "original_date",
            "posted_by",
            "posted_by_process",
            "memo",
            "case",
            "order",
            "payout",
            "reverses",
            "created_at",
            "entries",
            "entries_archived",
        ]

    def get_entries_archived(self, journal) -> bool:
        # The view puts the first attached day in the context (one query per request).
        first = self.context.get("first_attached_day")
        return first is not None and journal.date < first


class BalanceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    debit = serializers.CharField()
    credit = serializers.CharField()
    balance = serializers.CharField(help_text="Debit minus credit.")


class AccountSerializer(serializers.ModelSerializer):
    vendor = related("vendor.code")
    tax_code = related("tax_code.code")
    settles_to = related(
        "settles_to.code", help_text="Gateway clearing: the code of the bank account it settles to."
    )
    balances = serializers.SerializerMethodField()

    class Meta:
        model = Account
        fields = [
            "code",
            "name",
            "kind",
            "role",
            "vendor",
            "currency",
            "tax_code",
            "payment_method",
            "settles_to",
            "bank_account_code",
            "balances",
        ]

    @extend_schema_field(BalanceSerializer(many=True))
    def get_balances(self, account) -> list[dict[str, str]]:
        return [
            {
                "currency": row.currency,
                "debit": format_amount(row.debit, row.currency),
                "credit": format_amount(row.credit, row.currency),
                "balance": format_amount(row.debit - row.credit, row.currency),
            }
            for row in account.balances.all()
        ]


class TrialBalanceRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    debit = serializers.CharField()
    credit = serializers.CharField()
    balance = serializers.CharField()


class TrialBalanceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    as_of = serializers.DateField(allow_null=True)
    rows = TrialBalanceRowSerializer(many=True)
    total_debit = serializers.CharField()
    total_credit = serializers.CharField()
    balanced = serializers.BooleanField()


class CreditNoteLineSerializer(serializers.ModelSerializer):
    unit_amount = MoneyField(currency="credit_note.currency")
    tax_amount = MoneyField(currency="credit_note.currency")
    net_amount = MoneyField(currency="credit_note.currency")
    gross_amount = MoneyField(currency="credit_note.currency")
    tax_rate = RateOutputField()

    class Meta:
        model = CreditNoteLine
        fields = [
            "position",
            "kind",
            "description",
            "quantity",
            "unit_amount",
            "tax_rate",
            "tax_type",
            "tax_amount",
            "net_amount",
            "gross_amount",
            "account_code",
            "tracking_name",
            "tracking_option",
        ]


class CreditNoteRefundSerializer(serializers.ModelSerializer):
    amount = MoneyField(currency="credit_note.currency")

    class Meta:
        model = CreditNoteRefund
        fields = ["payment_method", "bank_account_code", "amount"]


class TaxRowSerializer(serializers.Serializer):
    """Net and tax at one rate of a document."""

    tax_rate = serializers.CharField()
    tax_code = serializers.CharField()
    tax_type = serializers.CharField()
    net_amount = serializers.CharField()
    tax_amount = serializers.CharField()


def tax_rows(lines, currency: str) -> list[dict[str, str]]:
    return [
        {
            "tax_rate": f"{row.rate:.4f}",
            "tax_code": row.tax_code,
            "tax_type": row.tax_type,
            "net_amount": format_amount(row.net, currency),
            "tax_amount": format_amount(row.tax, currency),
        }
        for row in tax_summary(lines)
    ]


class DocumentSerializer(serializers.ModelSerializer):
    """What an invoice and a credit note have alike: the order and case they are
    for, their totals, the tax per rate of their lines and the link to their PDF
    (under `collection`)."""

    collection = ""
    case = serializers.CharField(source="reference", read_only=True)
    order = serializers.CharField(source="order_number", read_only=True)
    net_amount = MoneyField()
    tax_amount = MoneyField()
    total_amount = MoneyField()
    tax = serializers.SerializerMethodField(help_text="Net and tax per rate.")
    pdf = serializers.SerializerMethodField()

    @extend_schema_field(TaxRowSerializer(many=True))
    def get_tax(self, document) -> list[dict[str, str]]:
        return tax_rows(document.lines.all(), document.currency)

    def get_pdf(self, document) -> str:
        return f"/api/v1/{self.collection}/{document.number}/pdf/"


class CreditNoteSerializer(DocumentSerializer):
    collection = "credit-notes"
    invoice = related(
        "invoice.number",
        help_text="The number of the invoice it corrects (null: issued before invoices).",
    )
    lines = CreditNoteLineSerializer(many=True, read_only=True)
    refunds = serializers.SerializerMethodField(
        help_text="Where the money went back: one row per payment method."
    )

    class Meta:
        model = CreditNote
        fields = [
            "number",
            "invoice",
            "case",
            "order",
            "issue_date",
            "currency",
            "customer_name",
            "customer_email",
            "payment_method",
            "bank_account_code",
            "net_amount",
            "tax_amount",
            "total_amount",
            "lines",
            "tax",
            "refunds",
            "pdf",
        ]

    @extend_schema_field(CreditNoteRefundSerializer(many=True))
    def get_refunds(self, note) -> list[dict[str, str]]:
        rows = CreditNoteRefundSerializer(note.refunds.all(), many=True).data
        if not rows and note.payment_method:
            # Issued before refund rows: its one method took the whole total.
            return [
                {
                    "payment_method": note.payment_method,
                    "bank_account_code": note.bank_account_code,
                    "amount": format_amount(note.total_amount, note.currency),
                }
            ]
        return rows


class PeriodSerializer(serializers.Serializer):
    month = serializers.CharField(source="label", help_text="YYYY-MM.")
    status = serializers.CharField()
    closed_by = serializers.CharField(help_text="Username of who closed it; blank while open.")
    closed_at = serializers.DateTimeField(allow_null=True)


class ReopenSerializer(serializers.Serializer):
    reason = TextField(help_text="Why the month is reopened.")


class InvoiceLineSerializer(serializers.ModelSerializer):
    unit_amount = MoneyField(currency="invoice.currency")
    tax_amount = MoneyField(currency="invoice.currency")
    net_amount = MoneyField(currency="invoice.currency")
    gross_amount = MoneyField(currency="invoice.currency")
    tax_rate = serializers.DecimalField(
        max_digits=7, decimal_places=4, coerce_to_string=True, read_only=True
    )

    class Meta:
        model = InvoiceLine
        fields = [
            "position",
            "kind",
            "description",
            "quantity",
            "unit_amount",
            "tax_rate",
            "tax_code",
            "tax_type",
            "tax_amount",
            "net_amount",
            "gross_amount",
        ]


class InvoiceSerializer(DocumentSerializer):
    collection = "invoices"
    case = serializers.CharField(source="reference", read_only=True, allow_blank=True)
    seller_vendor = related(
        "seller_vendor.code",
        help_text="The vendor on whose behalf a sales invoice is issued (null: the platform).",
    )
    billed_vendor = related(
        "billed_vendor.code", help_text="Commission documents: the vendor invoiced or credited."
    )
    corrects = related("corrects.number")
    lines = InvoiceLineSerializer(many=True, read_only=True)

    class Meta:
        model = Invoice
        fields = [
            "number",
            "kind",
            "order",
            "case",
            "issue_date",
            "currency",
            "seller_vendor",
            "seller_name",
            "seller_vat_id",
            "billed_vendor",
            "customer_name",
            "customer_email",
            "customer_vat_id",
            "corrects",
            "net_amount",
            "tax_amount",
            "total_amount",
            "lines",
            "tax",
            "pdf",
        ]


class TaxCodeSerializer(serializers.ModelSerializer):
    rate = serializers.DecimalField(
        max_digits=7, decimal_places=4, coerce_to_string=True, read_only=True
    )

    class Meta:
        model = TaxCode
        fields = ["code", "name", "jurisdiction", "rate", "tax_type"]
