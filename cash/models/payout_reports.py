"""Payment providers' payout reports: the settlement file of each payout, its
rows, the saved column mappings, and the exception queue.

A provider (Stripe, a marketplace channel) collects the customers' money,
keeps its fees, chargebacks and reserves, pays the rest out to the platform's
bank and sends a report of every balance transaction the payout settles. One
`PayoutReport` is one payout (a file may hold several: `position`); its rows
are facts, unique per provider by natural key, so a file imported twice, or
two files covering one payout, add each row once. The report's journal
(cash.services.payout_posting) settles the gateway clearing account; a row
the import could not tie to a payment or refund case (cash.services.
payout_matching) waits in the exception queue until staff explain it.

PostgreSQL triggers (cash/payout_triggers.py) refuse to delete reports, rows
and exceptions, to change a row or what a report says, and to reopen an
exception or resolve it twice.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.db.models.lookups import Exact

from ledger.models.journals import JournalDateField
from lib.fields import amount_field
from lib.money import CURRENCY_CHOICES, display_money
from lib.user_fields import user_field
from refunds.models import PaymentMethod

from .accounts import BankAccount, CsvLayout


class PayoutFormat(models.TextChoices):
    STRIPE = "stripe", "Stripe itemized payout reconciliation CSV"
    MARKETPLACE = "marketplace", "Marketplace per-line payout CSV"
    CUSTOM = "custom", "CSV with a saved mapping"


class RowType(models.TextChoices):
    """What a row is, whatever the provider calls it (its own word is kept in
    `provider_type`). Amounts are signed as the provider's balance sees them:
    a charge adds, a refund, fee, chargeback or reserve held takes away."""

    CHARGE = "charge", "Charge"
    REFUND = "refund", "Refund"
    FEE = "fee", "Fee"
    CHARGEBACK = "chargeback", "Chargeback"
    RESERVE = "reserve", "Reserve"
    ADJUSTMENT = "adjustment", "Adjustment"
    PAYOUT = "payout", "Payout"


class UnknownTypes(models.TextChoices):
    REFUSE = "refuse", "Refuse the file"
    ADJUSTMENT = "adjustment", "Import as adjustments (exception queue)"


class PayoutMapping(CsvLayout):
    """A provider's payout CSV as staff describe it: which column holds what.

    Columns are named by their header text (case, spaces and underscores
    ignored). Amounts are signed as the provider's balance sees them unless
    `unsigned_amounts`; fees are what the provider kept (positive) unless
    `fees_negative`.
    """

    skip_rows = models.PositiveSmallIntegerField(
        default=0, help_text="Lines before the header row (a title, a period)."
    )
    date_format = models.CharField(
        max_length=20,
        default="%Y-%m-%d",
        help_text="strftime format of the date columns, e.g. %d.%m.%Y; with %Y-%m-%d a "
        "date-time (2026-11-02 10:15:00) is read as its date.",
    )
    id_column = models.CharField(
        max_length=60,
        blank=True,
        help_text="The provider's id of each row (its natural key). Empty: a hash of the "
        "row's payout, type, date, amounts and references, with its occurrence.",
    )
    type_column = models.CharField(
        max_length=60,
        blank=True,
        help_text="Empty: a positive amount is a charge, a negative one a refund.",
    )
    type_values = models.TextField(
        blank=True,
        help_text="One line per type: charge = sale, order. Types: charge, refund, fee, "
        "chargeback, reserve, adjustment, payout. A type's own name always maps to it.",
    )
    unknown_types = models.CharField(
        max_length=10, choices=UnknownTypes.choices, default=UnknownTypes.REFUSE
    )
    date_column = models.CharField(
        max_length=60, blank=True, help_text="When the transaction happened (empty: payout date)."
    )
    available_on_column = models.CharField(max_length=60, blank=True)
    gross_column = models.CharField(max_length=60)
    fee_column = models.CharField(max_length=60, blank=True)
    fee_tax_column = models.CharField(
        max_length=60, blank=True, help_text="Tax on the fee, kept by the provider too."
    )
    net_column = models.CharField(
        max_length=60, blank=True, help_text="Checked: net = gross - fee - tax on the fee."
    )
    unsigned_amounts = models.BooleanField(
        default=False,
        help_text="Amounts are written without sign; refunds, fees, chargebacks and "
        "payouts are taken away (reserves need a signed column).",
    )
    fees_negative = models.BooleanField(
        default=False, help_text="Fees are written as negative numbers (-3.20)."
    )
    currency_column = models.CharField(
        max_length=60, blank=True, help_text="Empty: every row is in the default currency."
    )
    currency = models.CharField(
        max_length=3, choices=CURRENCY_CHOICES, blank=True, help_text="Default currency."
    )
    reference_column = models.CharField(
        max_length=60, blank=True, help_text="The charge or refund id at the gateway."
    )
    charge_reference_column = models.CharField(
        max_length=60, blank=True, help_text="The charge a refund or chargeback is about."
    )
    order_column = models.CharField(max_length=60, blank=True)
    line_column = models.CharField(max_length=60, blank=True, help_text="Order line or SKU.")
    description_column = models.CharField(max_length=60, blank=True)
    payout_id_column = models.CharField(max_length=60)
    payout_date_column = models.CharField(max_length=60, blank=True)
    payout_amount_column = models.CharField(
        max_length=60,
        blank=True,
        help_text="The payout's total, repeated on each row: checked against the rows.",
    )

    class Meta(CsvLayout.Meta):
        constraints = [
            models.CheckConstraint(
                condition=~Q(gross_column="") & ~Q(payout_id_column=""),
                name="payoutmapping_has_gross_and_payout",
            ),
        ]

    def clean(self) -> None:
        from ..payout_files.mappings import TypeValuesError, read_type_values

        try:
            read_type_values(self.type_values)
        except TypeValuesError as error:
            raise ValidationError({"type_values": str(error)}) from None
        if self.unsigned_amounts and self.unknown_types == UnknownTypes.ADJUSTMENT:
            raise ValidationError(
                {"unknown_types": "Adjustments need signed amounts: refuse unknown types."}
            )


class PayoutProvider(models.Model):
    """Who pays the platform out, which payment method's clearing account its
    payouts settle, and which bank account receives them."""

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    payment_method = models.CharField(
        max_length=20,
        choices=PaymentMethod.choices,
        help_text="Its payouts settle this payment method's gateway clearing account.",
    )
    bank_account = models.ForeignKey(
        BankAccount,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payout_providers",
        help_text="The bank account its payouts arrive in. Empty: the bank account of the "
        "payout's currency.",
    )
    format = models.CharField(
        max_length=12,
        choices=PayoutFormat.choices,
        blank=True,
        help_text="Its files' format, when the header does not tell.",
    )
    mapping = models.ForeignKey(
        PayoutMapping,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="providers",
        help_text="The saved mapping of its CSV files (format custom).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AmountSource(models.TextChoices):
    """Where the payout amount the rows were checked against came from."""

    PAYOUT_ROW = "payout_row", "The payout's own row"
    PAYOUT_COLUMN = "payout_column", "The payout amount column"
    GIVEN = "given", "Given at import"
    ROWS = "rows", "The rows' sum (the file states no total)"


class PayoutReport(models.Model):
    provider = models.ForeignKey(PayoutProvider, on_delete=models.PROTECT, related_name="reports")
    format = models.CharField(max_length=12, choices=PayoutFormat.choices)
    mapping = models.ForeignKey(
        PayoutMapping, on_delete=models.PROTECT, null=True, blank=True, related_name="reports"
    )
    file_name = models.CharField(max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64)
    position = models.PositiveIntegerField(
        default=1, help_text="Which payout of the file (a file may report several)."
    )
    payout_id = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    payout_amount = amount_field(
        help_text="What reaches the bank; negative when the provider debits the bank."
    )
    amount_source = models.CharField(max_length=14, choices=AmountSource.choices)
    arrival_date = models.DateField()
    period_start = models.DateField()
    period_end = models.DateField()
    rows_net = amount_field(help_text="The sum of the rows' net amounts (payout rows aside).")
    row_count = models.PositiveIntegerField()
    exception_count = models.PositiveIntegerField(default=0)
    bank_ledger_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        help_text="The ledger bank account the payout was posted to.",
    )
    journal = models.ForeignKey(
        "ledger.Journal",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
        help_text="Empty only when every leg was zero.",
    )
    # The journal's posting date: with journal_id, the key to the journals,
    # partitioned by month of date on PostgreSQL (cash 0008/0009).
    journal_date = JournalDateField(
        null=True, blank=True, help_text="The journal's posting date, for the foreign key."
    )
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = user_field()

    class Meta:
        ordering = ["-arrival_date", "-id"]
        constraints = [
            # A payout is imported once, whichever file brings it.
            models.UniqueConstraint(
                fields=["provider", "payout_id"], name="payoutreport_one_per_payout"
            ),
            models.UniqueConstraint(
                fields=["provider", "file_sha256", "position"],
                name="payoutreport_file_position",
            ),
            # The control: the rows add up to what the bank receives.
            models.CheckConstraint(
                condition=Exact(Round(F("rows_net") * 1000), Round(F("payout_amount") * 1000)),
                name="payoutreport_rows_add_up",
            ),
            models.CheckConstraint(
                condition=Q(period_start__lte=F("period_end")),
                name="payoutreport_period_in_order",
            ),
            models.CheckConstraint(
                condition=Q(amount_source__in=AmountSource.values),
                name="payoutreport_amount_source_valid",
            ),
            models.CheckConstraint(condition=~Q(payout_id=""), name="payoutreport_has_payout"),
        ]

    def __str__(self) -> str:
        amount = display_money(self.payout_amount, self.currency)
        return f"{self.provider.name} payout {self.payout_id} ({amount} on {self.arrival_date})"


class MatchStatus(models.TextChoices):
    MATCHED = "matched", "Matched"
    EXCEPTION = "exception", "Exception"
    NOT_MATCHED = "none", "Nothing to match"


class PayoutReportRow(models.Model):
    # The unique (provider, natural_key) index serves lookups by provider.
    provider = models.ForeignKey(
        PayoutProvider, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    report = models.ForeignKey(PayoutReport, on_delete=models.PROTECT, related_name="rows")
    row_number = models.PositiveIntegerField(help_text="The row's line in the file.")
    type = models.CharField(max_length=12, choices=RowType.choices)
    provider_type = models.CharField(
        max_length=60, blank=True, help_text="The type as the file names it."
    )
    transaction_date = models.DateField()
    available_on = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    gross = amount_field()
    fee = amount_field(help_text="What the provider kept on the row, tax on the fee included.")
    fee_tax = amount_field(help_text="Of the fee: the tax on it.")
    net = amount_field()
    gateway_reference = models.CharField(
        max_length=140, blank=True, help_text="The charge or refund id at the gateway."
    )
    charge_reference = models.CharField(
        max_length=140, blank=True, help_text="The charge a refund or chargeback is about."
    )
    order_number = models.CharField(max_length=64, blank=True)
    line_reference = models.CharField(max_length=140, blank=True, help_text="Order line or SKU.")
    payout_id = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    natural_key = models.CharField(max_length=200)
    match_status = models.CharField(max_length=10, choices=MatchStatus.choices)
    payment = models.ForeignKey(
        "refunds.Payment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payout_rows",
    )
    order = models.ForeignKey(
        "refunds.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="payout_rows"
    )
    refund_case = models.ForeignKey(
        "refunds.RefundCase",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payout_rows",
    )

    class Meta:
        ordering = ["report_id", "row_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "natural_key"], name="payoutrow_provider_natural_key"
            ),
            models.CheckConstraint(
                condition=Q(type__in=RowType.values), name="payoutrow_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(match_status__in=MatchStatus.values),
                name="payoutrow_match_status_valid",
            ),
            models.CheckConstraint(
                condition=Exact(Round((F("gross") - F("fee")) * 1000), Round(F("net") * 1000)),
                name="payoutrow_net_is_gross_less_fee",
            ),
            # A provider refund settles one case's refund, a charge one payment: the
            # second row naming either is an exception, never a second match.
            models.UniqueConstraint(
                fields=["refund_case"],
                condition=Q(type=RowType.REFUND, refund_case__isnull=False),
                name="payoutrow_one_refund_per_case",
            ),
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(type=RowType.CHARGE, payment__isnull=False),
                name="payoutrow_one_charge_per_payment",
            ),
            models.CheckConstraint(
                condition=~Q(match_status=MatchStatus.MATCHED)
                | Q(payment__isnull=False)
                | Q(order__isnull=False)
                | Q(refund_case__isnull=False),
                name="payoutrow_matched_names_its_match",
            ),
        ]
        indexes = [
            models.Index(
                fields=["gateway_reference"],
                name="payoutrow_gateway_reference",
                condition=~Q(gateway_reference=""),
            ),
        ]

    def __str__(self) -> str:
        amount = display_money(self.gross, self.currency)
        return f"Row {self.row_number} of {self.payout_id}: {self.type} {amount}"


class ExceptionReason(models.TextChoices):
    NO_MATCH = "no_match", "Nothing has this reference"
    AMBIGUOUS = "ambiguous", "Several records have this reference"
    AMOUNT_DIFFERS = "amount_differs", "The amount differs"
    CURRENCY_DIFFERS = "currency_differs", "The currency differs"
    METHOD_DIFFERS = "method_differs", "Paid with another payment method"
    NOT_COMPLETED = "not_completed", "The refund case is not completed"
    ALREADY_SETTLED = "already_settled", "Already settled by another row"
    REFUND_RETURNED = "refund_returned", "A refund came back (failed)"
    UNEXPLAINED = "unexplained", "An adjustment to explain"


class ExceptionStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class PayoutException(models.Model):
    """A row the import could not tie to what the books say: it is posted with
    its type (a charge or refund settles clearing all the same, so clearing
    keeps the difference) and waits here until staff explain it."""

    row = models.OneToOneField(PayoutReportRow, on_delete=models.PROTECT, related_name="exception")
    reason = models.CharField(max_length=20, choices=ExceptionReason.choices)
    detail = models.CharField(max_length=300)
    status = models.CharField(
        max_length=10, choices=ExceptionStatus.choices, default=ExceptionStatus.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True, help_text="How it was explained or fixed.")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = user_field()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"], name="payoutexception_open", condition=Q(status="open")
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(reason__in=ExceptionReason.values), name="payoutexception_reason_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status=ExceptionStatus.OPEN)
                    & Q(resolved_at__isnull=True)
                    & Q(resolved_by__isnull=True)
                    & Q(note="")
                )
                | (
                    Q(status=ExceptionStatus.RESOLVED)
                    & Q(resolved_at__isnull=False)
                    & Q(resolved_by__isnull=False)
                    & ~Q(note="")
                ),
                name="payoutexception_resolved_by_someone_with_a_note",
            ),
        ]

    def __str__(self) -> str:
        return f"Exception {self.pk}: {self.get_reason_display()} ({self.status})"
