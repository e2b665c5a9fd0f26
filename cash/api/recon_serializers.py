"""Bank statements, reconciliation periods and suggestions as the API shows
them; the upload's and the run's fields."""

from __future__ import annotations

from rest_framework import serializers

from lib.api_fields import (
    MONTH_PATTERN,
    IdField,
    MoneyField,
    TextField,
    UploadField,
    optional_choice,
    optional_text,
    related,
)

from ..models import (
    BankStatement,
    BankStatementLine,
    ReconciliationPeriod,
    StatementFormat,
    Suggestion,
    SuggestionStatus,
)
from ..services.periods import month_end
from .file_serializers import FileResultSerializer


class StatementLineSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(source="natural_key", read_only=True)
    amount = MoneyField()

    class Meta:
        model = BankStatementLine
        fields = [
            "id",
            "reference",
            "key_source",
            "status",
            "booking_date",
            "value_date",
            "amount",
            "currency",
            "counterparty",
            "remittance",
            "end_to_end_id",
            "bank_reference",
        ]


class BankStatementSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.name", read_only=True)
    opening_balance = MoneyField()
    closing_balance = MoneyField()
    imported_by = related("imported_by.username")

    class Meta:
        model = BankStatement
        fields = [
            "id",
            "account",
            "format",
            "file_name",
            "file_sha256",
            "statement_ref",
            "currency",
            "opening_date",
            "opening_balance",
            "closing_date",
            "closing_balance",
            "line_count",
            "new_lines",
            "known_lines",
            "key_conflicts",
            "imported_at",
            "imported_by",
        ]


class BankStatementDetailSerializer(BankStatementSerializer):
    lines = StatementLineSerializer(many=True, read_only=True)

    class Meta(BankStatementSerializer.Meta):
        fields = [*BankStatementSerializer.Meta.fields, "lines"]


class StatementUploadSerializer(serializers.Serializer):
    # A bank's statement of a year is some ten thousand lines; the limit is far beyond.
    file = UploadField(help_text="CAMT.053, OFX, MT940 or CSV.")
    format = optional_choice(
        StatementFormat.choices, help_text="Default: detected from the content."
    )
    account = optional_text(help_text="IBAN or account number; default: the one the file names.")
    mapping = optional_text(help_text="A saved CSV mapping's name.")


class StatementImportSerializer(FileResultSerializer):
    new_lines = serializers.IntegerField()
    known_lines = serializers.IntegerField()
    statements = serializers.SerializerMethodField()

    def get_statements(self, result) -> list[int]:
        return [o.statement.pk for o in result.outcomes if o.statement is not None]


class SuggestionSerializer(serializers.ModelSerializer):
    items = serializers.SerializerMethodField()
    line_reference = serializers.CharField(source="line.natural_key", read_only=True)

    class Meta:
        model = Suggestion
        fields = ["id", "line", "line_reference", "tier", "reason", "status", "items"]

    def get_items(self, suggestion) -> list[int]:
        return [si.item_id for si in suggestion.items.all()]


class ReconciliationSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.name", read_only=True)
    account_id = serializers.IntegerField(read_only=True)
    month = serializers.SerializerMethodField()
    signed_off_by = related("signed_off_by.username")

    class Meta:
        model = ReconciliationPeriod
        fields = [
            "id",
            "account",
            "account_id",
            "month",
            "figures",
            "last_run",
            "last_run_at",
            "signed_off_by",
            "signed_off_at",
        ]

    def get_month(self, period) -> str:
        return f"{period.month:%Y-%m}"


class ReconciliationDetailSerializer(ReconciliationSerializer):
    suggestions = serializers.SerializerMethodField()

    class Meta(ReconciliationSerializer.Meta):
        fields = [*ReconciliationSerializer.Meta.fields, "suggestions"]

    def get_suggestions(self, period) -> list[dict]:
        pending = (
            Suggestion.objects.filter(
                status=SuggestionStatus.PENDING,
                line__account_id=period.account_id,
                line__booking_date__gte=period.month,
                line__booking_date__lte=month_end(period.month),
            )
            .select_related("line")
            .prefetch_related("items")
            .order_by("line_id", "id")
        )
        return SuggestionSerializer(pending, many=True).data


class RunSerializer(serializers.Serializer):
    account = IdField(help_text="The bank account's id.")
    month = serializers.RegexField(MONTH_PATTERN, help_text="YYYY-MM.")


class DecideSerializer(serializers.Serializer):
    suggestion = IdField()


class ReconciliationReopenSerializer(serializers.Serializer):
    reason = TextField(max_length=500)
