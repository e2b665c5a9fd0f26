"""Imported bank statements and their lines.

A line belongs to the account under its natural key (unique per account), so
a statement imported twice, or two overlapping statements, add each line once:
the first statement that brought a line keeps it. Lines are facts: the
database refuses to delete them or change what the bank said (cash/triggers.py);
only the matching state (`status`, `allocated_minor`) moves, and
`allocated_minor` only through allocations.
"""

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Abs, Round
from django.db.models.lookups import Exact, LessThan, LessThanOrEqual

from lib.fields import amount_field
from lib.money import CURRENCY_CHOICES, display_money
from lib.user_fields import user_field

from .accounts import BankAccount, CsvMapping


class StatementFormat(models.TextChoices):
    CAMT053 = "camt053", "CAMT.053 (ISO 20022 XML)"
    OFX = "ofx", "OFX"
    MT940 = "mt940", "MT940"
    CSV = "csv", "CSV (saved mapping)"


class KeySource(models.TextChoices):
    """Where a line's natural key came from (docs/reconciliation.md)."""

    ACCT_SVCR_REF = "acct_svcr_ref", "CAMT AcctSvcrRef"
    NTRY_REF = "ntry_ref", "CAMT NtryRef"
    FITID = "fitid", "OFX FITID"
    MT940_REF = "mt940_ref", "MT940 :61: bank reference"
    CSV_ID = "csv_id", "CSV id column"
    HASH = "hash", "Hash of the line's fields and its occurrence"


class LineStatus(models.TextChoices):
    UNMATCHED = "unmatched", "Unmatched"
    SUGGESTED = "suggested", "Suggested"
    MATCHED = "matched", "Matched"


# The version of the natural-key recipe (cash.statements.keys); stored on every statement.
KEY_RECIPE = 1


def _units(name: str) -> Round:
    return Round(F(name) * 1000)


class BankStatement(models.Model):
    account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="statements")
    format = models.CharField(max_length=10, choices=StatementFormat.choices)
    csv_mapping = models.ForeignKey(
        CsvMapping, on_delete=models.PROTECT, null=True, blank=True, related_name="statements"
    )
    file_name = models.CharField(max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64)
    position = models.PositiveIntegerField(
        default=1, help_text="Which statement of the file (a file may hold several)."
    )
    statement_ref = models.CharField(max_length=140, blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    opening_balance = amount_field(null=True, blank=True, default=None)
    closing_balance = amount_field(null=True, blank=True, default=None)
    opening_date = models.DateField(null=True, blank=True)
    closing_date = models.DateField(null=True, blank=True)
    lines_total = amount_field(help_text="The sum of every line in the file's statement.")
    line_count = models.PositiveIntegerField(default=0)
    new_lines = models.PositiveIntegerField(default=0)
    known_lines = models.PositiveIntegerField(
        default=0, help_text="Lines already imported (same natural key) from an earlier file."
    )
    key_conflicts = models.PositiveIntegerField(
        default=0, help_text="Lines whose id the file gave more than once (both kept)."
    )
    key_recipe = models.PositiveSmallIntegerField(default=KEY_RECIPE)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = user_field(db_index=True)

    class Meta:
        ordering = ["-imported_at", "-id"]
        indexes = [models.Index(fields=["account", "-imported_at"], name="bankstatement_account")]
        constraints = [
            models.UniqueConstraint(
                fields=["file_sha256", "position"], name="bankstatement_file_position"
            ),
            # Opening + lines = closing, whenever the file gave both balances.
            models.CheckConstraint(
                condition=Q(opening_balance__isnull=True)
                | Q(closing_balance__isnull=True)
                | Exact(
                    Round((F("opening_balance") + F("lines_total")) * 1000),
                    _units("closing_balance"),
                ),
                name="bankstatement_balances_add_up",
            ),
            models.CheckConstraint(
                condition=Q(opening_date__isnull=True)
                | Q(closing_date__isnull=True)
                | Q(opening_date__lte=F("closing_date")),
                name="bankstatement_dates_in_order",
            ),
            models.CheckConstraint(
                condition=Exact(F("new_lines") + F("known_lines"), F("line_count")),
                name="bankstatement_counts_add_up",
            ),
        ]

    def __str__(self) -> str:
        period = f"{self.opening_date or '?'} to {self.closing_date or '?'}"
        return f"{self.account.name} {self.statement_ref or self.file_name} ({period})"


class BankStatementLine(models.Model):
    # The unique (account, natural_key) index serves lookups by account. These two
    # references (and an allocation's, and an item's ledger account) are checked
    # by statement-level triggers instead of FOREIGN KEYs: a foreign key checks
    # each of a million rows one by one at commit (cash/triggers.py).
    account = models.ForeignKey(
        BankAccount,
        on_delete=models.PROTECT,
        related_name="lines",
        db_index=False,
        db_constraint=False,
    )
    statement = models.ForeignKey(
        BankStatement, on_delete=models.PROTECT, related_name="lines", db_constraint=False
    )
    booking_date = models.DateField()
    value_date = models.DateField(null=True, blank=True)
    amount = amount_field(help_text="Signed: credits positive, debits negative.")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount_minor = models.BigIntegerField(help_text="The amount in minor units (matching).")
    counterparty = models.CharField(max_length=140, blank=True)
    counterparty_account = models.CharField(max_length=40, blank=True)
    remittance = models.TextField(blank=True)
    bank_reference = models.CharField(
        max_length=140, blank=True, help_text="AcctSvcrRef, FITID, the :61: bank reference."
    )
    entry_reference = models.CharField(max_length=140, blank=True, help_text="CAMT NtryRef.")
    end_to_end_id = models.CharField(max_length=140, blank=True)
    transaction_code = models.CharField(max_length=40, blank=True)
    natural_key = models.CharField(max_length=200)
    key_source = models.CharField(max_length=20, choices=KeySource.choices)
    key_conflict = models.BooleanField(
        default=False, help_text="The file gave this id to more than one line; all were kept."
    )
    # Normalised reference tokens (upper case, letters and digits), space-separated:
    # what the reference tier joins on (cash.statements.keys.reference_keys).
    reference_keys = models.TextField(blank=True)
    status = models.CharField(
        max_length=10, choices=LineStatus.choices, default=LineStatus.UNMATCHED
    )
    allocated_minor = models.BigIntegerField(
        default=0, help_text="Minor units allocated to items (kept by the allocation trigger)."
    )

    class Meta:
        ordering = ["booking_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "natural_key"], name="bankline_account_natural_key"
            ),
            models.CheckConstraint(
                condition=Q(status__in=LineStatus.values), name="bankline_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(allocated_minor__gte=0)
                & LessThanOrEqual(F("allocated_minor"), Abs(F("amount_minor"))),
                name="bankline_allocated_within_amount",
            ),
            # Matched exactly when the whole amount is allocated.
            models.CheckConstraint(
                condition=(
                    Q(status=LineStatus.MATCHED)
                    & Exact(F("allocated_minor"), Abs(F("amount_minor")))
                    & ~Q(amount_minor=0)
                )
                | (
                    ~Q(status=LineStatus.MATCHED)
                    & (LessThan(F("allocated_minor"), Abs(F("amount_minor"))) | Q(amount_minor=0))
                ),
                name="bankline_matched_when_allocated",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.booking_date} {display_money(self.amount, self.currency)} {self.counterparty}"
        )
