"""Payout reports as the API shows them; the upload's fields."""

from __future__ import annotations

from rest_framework import serializers

from lib.api_fields import (
    AmountField,
    MoneyField,
    TextField,
    UploadField,
    optional_choice,
    optional_text,
    related,
)
from lib.money import CURRENCY_CHOICES, format_amount

from ..models import PayoutException, PayoutFormat, PayoutReport, PayoutReportRow
from .file_serializers import FileResultSerializer


class PayoutExceptionSerializer(serializers.ModelSerializer):
    report = serializers.IntegerField(source="row.report_id", read_only=True)
    provider = serializers.CharField(source="row.provider.code", read_only=True)
    payout_id = serializers.CharField(source="row.payout_id", read_only=True)
    row_number = serializers.IntegerField(source="row.row_number", read_only=True)
    type = serializers.CharField(source="row.type", read_only=True)
    currency = serializers.CharField(source="row.currency", read_only=True)
    gross = serializers.SerializerMethodField()
    gateway_reference = serializers.CharField(source="row.gateway_reference", read_only=True)
    order_number = serializers.CharField(source="row.order_number", read_only=True)
    resolved_by = related("resolved_by.username")

    class Meta:
        model = PayoutException
        fields = [
            "id",
            "report",
            "provider",
            "payout_id",
            "row_number",
            "type",
            "currency",
            "gross",
            "gateway_reference",
            "order_number",
            "reason",
            "detail",
            "status",
            "created_at",
            "note",
            "resolved_at",
            "resolved_by",
        ]

    def get_gross(self, exception) -> str:
        return format_amount(exception.row.gross, exception.row.currency)


class PayoutRowSerializer(serializers.ModelSerializer):
    gross = MoneyField()
    fee = MoneyField()
    fee_tax = MoneyField()
    net = MoneyField()
    case = related("refund_case.case_id")
    order = related("order.number")
    payment = serializers.IntegerField(source="payment_id", read_only=True, allow_null=True)
    exception = serializers.SerializerMethodField()

    class Meta:
        model = PayoutReportRow
        fields = [
            "row_number",
            "type",
            "provider_type",
            "transaction_date",
            "available_on",
            "currency",
            "gross",
            "fee",
            "fee_tax",
            "net",
            "gateway_reference",
            "charge_reference",
            "order_number",
            "line_reference",
            "description",
            "natural_key",
            "match_status",
            "payment",
            "order",
            "case",
            "exception",
        ]

    def get_exception(self, row) -> int | None:
        exception = getattr(row, "exception", None)
        return exception.pk if exception is not None else None


class PayoutReportSerializer(serializers.ModelSerializer):
    provider = serializers.CharField(source="provider.code", read_only=True)
    payout_amount = MoneyField()
    rows_net = MoneyField()
    bank_account = serializers.CharField(source="bank_ledger_account.code", read_only=True)
    mapping = related("mapping.name")
    imported_by = related("imported_by.username")

    class Meta:
        model = PayoutReport
        fields = [
            "id",
            "provider",
            "payout_id",
            "currency",
            "payout_amount",
            "amount_source",
            "arrival_date",
            "period_start",
            "period_end",
            "rows_net",
            "row_count",
            "exception_count",
            "format",
            "mapping",
            "file_name",
            "file_sha256",
            "position",
            "bank_account",
            "journal",
            "imported_at",
            "imported_by",
        ]


class PayoutReportDetailSerializer(PayoutReportSerializer):
    rows = PayoutRowSerializer(many=True, read_only=True)

    class Meta(PayoutReportSerializer.Meta):
        fields = [*PayoutReportSerializer.Meta.fields, "rows"]


class PayoutUploadSerializer(serializers.Serializer):
    # A provider's report of a month is some thousands of rows; the limit is far beyond.
    file = UploadField(help_text="The provider's payout report (CSV).")
    provider = optional_text(
        max_length=30,
        help_text="The provider's code; may be left out when there is only one provider "
        "(none: 404 `not_found`, several: 409 `ambiguous`).",
    )
    format = optional_choice(
        PayoutFormat.choices, help_text="Default: read from the header (or the provider's)."
    )
    mapping = optional_text(
        max_length=100, help_text="A saved mapping's name (format custom); default the provider's."
    )
    currency = optional_choice(
        CURRENCY_CHOICES, help_text="The rows' currency when the file has no currency column."
    )
    payout_amount = AmountField(
        required=False,
        allow_blank=True,
        help_text='The payout\'s amount, checked against its rows (a file of one payout), e.g. "78.23".',
    )


class PayoutOutcomeSerializer(serializers.Serializer):
    payout_id = serializers.CharField()
    report = serializers.IntegerField(source="report.pk")
    new = serializers.BooleanField(help_text="False: imported before.")
    new_rows = serializers.IntegerField()
    known_rows = serializers.IntegerField()
    exceptions = serializers.IntegerField()


class PayoutImportSerializer(FileResultSerializer):
    new_rows = serializers.IntegerField()
    known_rows = serializers.IntegerField()
    exceptions = serializers.IntegerField()
    payouts = PayoutOutcomeSerializer(many=True, source="outcomes")


class ResolveExceptionSerializer(serializers.Serializer):
    note = TextField(max_length=2000, help_text="How it was explained or fixed.")
