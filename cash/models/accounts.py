"""Bank accounts as the bank knows them, and the saved CSV column mappings."""

from django.db import models
from django.db.models import Q

from lib.money import CURRENCY_CHOICES

# An IBAN as stored: upper case, no spaces (lib-free normalisation in cash.statements.base).
IBAN_PATTERN = r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$"


class CsvLayout(models.Model):
    """How a saved mapping's CSV files are laid out, before any column: the bank
    statements' (CsvMapping) and the payout reports' (PayoutMapping)."""

    name = models.CharField(max_length=100, unique=True)
    delimiter = models.CharField(max_length=1, default=",")
    encoding = models.CharField(max_length=20, default="utf-8")
    skip_rows = models.PositiveSmallIntegerField(
        default=0, help_text="Lines before the header row (a bank's title lines)."
    )
    date_format = models.CharField(
        max_length=20, default="%Y-%m-%d", help_text="strftime format, e.g. %d.%m.%Y"
    )
    decimal_comma = models.BooleanField(
        default=False, help_text="Amounts are written 1.234,56 (thousands dot, decimal comma)."
    )

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CsvMapping(CsvLayout):
    """Which column of a bank's CSV export holds what. Columns are named by
    their header text, compared without case or surrounding spaces."""

    booking_date_column = models.CharField(max_length=60)
    value_date_column = models.CharField(max_length=60, blank=True)
    amount_column = models.CharField(
        max_length=60, blank=True, help_text="A signed amount; or give debit and credit columns."
    )
    debit_column = models.CharField(max_length=60, blank=True)
    credit_column = models.CharField(max_length=60, blank=True)
    currency_column = models.CharField(
        max_length=60, blank=True, help_text="Empty: every row is in the account's currency."
    )
    counterparty_column = models.CharField(max_length=60, blank=True)
    counterparty_account_column = models.CharField(max_length=60, blank=True)
    remittance_column = models.CharField(max_length=60, blank=True)
    reference_column = models.CharField(
        max_length=60,
        blank=True,
        help_text="The bank's own id of each row; it becomes the row's natural key.",
    )
    end_to_end_column = models.CharField(max_length=60, blank=True)
    balance_column = models.CharField(
        max_length=60,
        blank=True,
        help_text="The running balance after each row; gives the opening and closing balance.",
    )

    class Meta(CsvLayout.Meta):
        constraints = [
            # Either one signed amount column or both a debit and a credit column.
            models.CheckConstraint(
                condition=(~Q(amount_column="") & Q(debit_column="") & Q(credit_column=""))
                | (Q(amount_column="") & ~Q(debit_column="") & ~Q(credit_column="")),
                name="csvmapping_amount_or_debit_credit",
            ),
            models.CheckConstraint(
                condition=~Q(booking_date_column=""), name="csvmapping_has_booking_date"
            ),
        ]


class BankAccount(models.Model):
    """An account at a bank; its statements are imported here and its lines
    reconciled with the ledger account (role bank) it mirrors."""

    name = models.CharField(max_length=100, unique=True)
    bank = models.CharField(max_length=100, blank=True)
    iban = models.CharField("IBAN", max_length=34, blank=True, help_text="Upper case, no spaces.")
    account_number = models.CharField(
        max_length=40, blank=True, help_text="For banks that name the account without an IBAN."
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    ledger_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        related_name="bank_accounts",
        limit_choices_to={"role": "bank"},
        help_text="The ledger account (role bank) this account's lines reconcile with.",
    )
    csv_mapping = models.ForeignKey(
        CsvMapping,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_accounts",
        help_text="How this bank's CSV exports read, when no other mapping is named.",
    )
    auto_match_amounts = models.BooleanField(
        default=False,
        help_text="Match by amount and date window without a person when the pair is "
        "mutually unique. Off: such pairs are suggestions; only references match alone.",
    )
    match_window_days = models.PositiveSmallIntegerField(
        default=5, help_text="A bank line may come this many days after its item."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(iban="") | ~Q(account_number=""),
                name="bankaccount_iban_or_number",
            ),
            models.CheckConstraint(
                condition=Q(iban="") | Q(iban__regex=IBAN_PATTERN), name="bankaccount_iban_form"
            ),
            models.UniqueConstraint(
                fields=["iban"], condition=~Q(iban=""), name="bankaccount_iban_unique"
            ),
            models.UniqueConstraint(
                fields=["account_number"],
                condition=~Q(account_number=""),
                name="bankaccount_number_unique",
            ),
            models.CheckConstraint(
                condition=Q(match_window_days__lte=31), name="bankaccount_window_lte_31"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.iban or self.account_number}, {self.currency})"
