from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lib.api_fields import MoneyField, RateOutputField
from lib.money import format_amount

from ..models import Account, CreditNote, CreditNoteLine, Entry, Journal


class EntrySerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.code", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    debit = serializers.SerializerMethodField()
    credit = serializers.SerializerMethodField()

    class Meta:
        model = Entry
        fields = ["account", "account_name", "debit", "credit", "currency"]

    def get_debit(self, entry) -> str:
        return format_amount(entry.debit, entry.currency)

    def get_credit(self, entry) -> str:
        return format_amount(entry.credit, entry.currency)


class JournalSerializer(serializers.ModelSerializer):
    case = serializers.CharField(
        source="case.case_id", read_only=True, default=None, allow_null=True
    )
    order = serializers.CharField(
        source="order.number", read_only=True, default=None, allow_null=True
    )
    entries = EntrySerializer(many=True, read_only=True)

    class Meta:
        model = Journal
        fields = [
            "id",
            "posting_key",
            "kind",
            "currency",
            "date",
            "memo",
            "case",
            "order",
            "payout",
            "reverses",
            "created_at",
            "entries",
        ]


class BalanceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    debit = serializers.CharField()
    credit = serializers.CharField()
    balance = serializers.CharField(help_text="Debit minus credit.")


class AccountSerializer(serializers.ModelSerializer):
    vendor = serializers.CharField(
        source="vendor.code", read_only=True, default=None, allow_null=True
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
            "payment_method",
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


class CreditNoteSerializer(serializers.ModelSerializer):
    case = serializers.CharField(source="reference", read_only=True)
    order = serializers.CharField(source="order_number", read_only=True)
    net_amount = MoneyField()
    tax_amount = MoneyField()
    total_amount = MoneyField()
    lines = CreditNoteLineSerializer(many=True, read_only=True)
    pdf = serializers.SerializerMethodField()

    class Meta:
        model = CreditNote
        fields = [
            "number",
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
            "pdf",
        ]

    def get_pdf(self, note) -> str:
        return f"/api/v1/credit-notes/{note.number}/pdf/"
