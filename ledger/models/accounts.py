"""The chart of accounts and each account's maintained balance."""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from lib.fields import amount_field
from lib.history import track_changes
from lib.money import (
    CURRENCY_CHOICES,
    display_money,
)
from refunds.models import PaymentMethod
from vendors.models import Vendor

from .tax import TaxCode


class AccountKind(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    INCOME = "income", "Income"
    EXPENSE = "expense", "Expense"
    EQUITY = "equity", "Equity"


class AccountRole(models.TextChoices):
    """What the posting rules use an account for; codes stay editable.

    docs/accounting.md describes each role: its kind, normal side and what
    posts there. Refunds and allowances is an income account (contra-revenue):
    it is debited, so its balance reads as negative income and reduces revenue.
    """

    BANK = "bank", "Bank"
    GATEWAY_CLEARING = "gateway_clearing", "Gateway clearing"
    VENDOR_PAYABLE = "vendor_payable", "Vendor payable"
    COMMISSION_INCOME = "commission_income", "Commission income"
    SHIPPING_INCOME = "shipping_income", "Shipping income"
    OUTPUT_TAX = "output_tax", "Output tax payable"
    REFUNDS_AND_ALLOWANCES = "refunds_and_allowances", "Refunds and allowances (contra-revenue)"
    CARRIER_CLAIMS = "carrier_claims", "Carrier claims (receivable)"
    # What a vendor owes the platform: its payable's debit balance at a period
    # close, moved here (ledger.receivables) and settled by its next payout.
    VENDOR_RECEIVABLE = "vendor_receivable", "Vendor receivable"
    PROVIDER_FEES = "provider_fees", "Payment-provider fees"
    CHARGEBACKS = "chargebacks", "Chargebacks"
    PROVIDER_RESERVE = "provider_reserve", "Payment-provider reserve"
    SUSPENSE = "suspense", "Suspense"
    OTHER = "other", "Other"


# Roles held by exactly one account. Banks (per bank and currency), output tax
# (per tax code and currency), clearing (per payment method) and payables (per
# vendor) are many accounts of one role.
SINGLE_ROLES = [
    AccountRole.COMMISSION_INCOME,
    AccountRole.SHIPPING_INCOME,
    AccountRole.REFUNDS_AND_ALLOWANCES,
    AccountRole.CARRIER_CLAIMS,
    AccountRole.PROVIDER_FEES,
    AccountRole.CHARGEBACKS,
    AccountRole.PROVIDER_RESERVE,
    AccountRole.SUSPENSE,
]


# Income accounts that hold debits (contra-revenue): reports show them as negative income.
CONTRA_ROLES = [AccountRole.REFUNDS_AND_ALLOWANCES]


# History (lib/history.py): the chart, and each gateway's payment method -> bank account.
@track_changes()
class Account(models.Model):
    # Room for output-tax accounts: 2100-<tax code (up to 40)>-<currency>.
    code = models.CharField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=AccountKind.choices)
    role = models.CharField(max_length=30, choices=AccountRole.choices, default=AccountRole.OTHER)
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    payment_method = models.CharField(
        max_length=20, choices=PaymentMethod.choices, blank=True, default=""
    )
    tax_code = models.ForeignKey(
        TaxCode,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accounts",
        help_text="Output-tax accounts: the tax code whose tax this account holds.",
    )
    currency = models.CharField(
        max_length=3,
        choices=CURRENCY_CHOICES,
        blank=True,
        help_text="Bank and output-tax accounts: the one currency it holds (blank: any).",
    )
    bank_account_code = models.CharField(
        max_length=40,
        blank=True,
        help_text="The bank account in the accounting system that this clearing account settles to.",
    )
    settles_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="settled_from",
        limit_choices_to={"role": AccountRole.BANK},
        help_text="Gateway clearing accounts: the bank account (of this ledger) the "
        "provider's payouts of this payment method go to.",
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["role"], condition=Q(role__in=SINGLE_ROLES), name="account_single_role"
            ),
            models.UniqueConstraint(
                fields=["vendor"],
                condition=Q(role=AccountRole.VENDOR_PAYABLE),
                name="account_one_payable_per_vendor",
            ),
            models.UniqueConstraint(
                fields=["vendor"],
                condition=Q(role=AccountRole.VENDOR_RECEIVABLE),
                name="account_one_receivable_per_vendor",
            ),
            models.UniqueConstraint(
                fields=["payment_method"],
                condition=Q(role=AccountRole.GATEWAY_CLEARING),
                name="account_one_clearing_per_method",
            ),
            models.CheckConstraint(
                condition=~Q(role=AccountRole.VENDOR_PAYABLE) | Q(vendor__isnull=False),
                name="account_payable_has_vendor",
            ),
            models.CheckConstraint(
                condition=~Q(role=AccountRole.VENDOR_RECEIVABLE) | Q(vendor__isnull=False),
                name="account_receivable_has_vendor",
            ),
            models.CheckConstraint(
                condition=~Q(role=AccountRole.GATEWAY_CLEARING) | ~Q(payment_method=""),
                name="account_clearing_has_method",
            ),
            # Output tax posted before tax codes stays on the account without one.
            models.UniqueConstraint(
                fields=["tax_code", "currency"],
                condition=Q(role=AccountRole.OUTPUT_TAX, tax_code__isnull=False),
                name="account_one_output_tax_per_code_and_currency",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def debit_normal(self) -> bool:
        # Refunds and allowances is income by kind but a contra account: debits grow it.
        if self.role in CONTRA_ROLES:
            return True
        return self.kind in (AccountKind.ASSET, AccountKind.EXPENSE)


class AccountBalance(models.Model):
    """Running totals of an account in one currency, maintained by posting."""

    # The unique (account, currency) index serves lookups by account.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="balances", db_index=False
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    debit = amount_field()
    credit = amount_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "currency"], name="balance_account_currency"
            ),
            models.CheckConstraint(
                condition=Q(debit__gte=0) & Q(credit__gte=0), name="balance_totals_gte_0"
            ),
        ]

    def __str__(self) -> str:
        balance = display_money(self.net_debit, self.currency)
        return f"{self.account.code} {self.account.name}: {balance} (Dr − Cr)"

    @property
    def net_debit(self) -> Decimal:
        return self.debit - self.credit


class AccountDay(models.Model):
    """An account's debit and credit totals in one currency on one day: the
    entries of the journals dated that day (the date a journal is posted on,
    ledger.periods), maintained by posting in the same transaction as
    AccountBalance, which is their sum. A trial balance at a past date adds
    these up instead of every entry (ledger.selectors.trial_balance)."""

    # The unique (account, currency, date) index serves posting's upsert.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="days", db_index=False
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    date = models.DateField()
    debit = amount_field()
    credit = amount_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "currency", "date"], name="account_day_account_currency_date"
            ),
            models.CheckConstraint(
                condition=Q(debit__gte=0) & Q(credit__gte=0), name="account_day_totals_gte_0"
            ),
        ]
        # A trial balance reads one currency's days before or after a date.
        indexes = [models.Index(fields=["currency", "date"], name="account_day_currency_date")]

    def __str__(self) -> str:
        balance = display_money(self.debit - self.credit, self.currency)
        return f"{self.account.code} {self.account.name} on {self.date}: {balance} (Dr − Cr)"
