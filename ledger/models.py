"""Double-entry ledger: accounts, journals, entries and maintained balances.

Entries are never updated or deleted, and a journal's entries balance per
currency; on PostgreSQL triggers enforce both (migration 0002), not only this
code. Corrections are new journals that reverse or adjust. Account balances are
maintained in the posting transaction, so reading one is a primary-key lookup
however many entries exist.
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from lib.money import AMOUNT_DIGITS, AMOUNT_PLACES, CURRENCY_CHOICES
from refunds.models import Order, PaymentMethod, RefundCase
from vendors.models import Vendor


def amount_field(**kwargs) -> models.DecimalField:
    kwargs.setdefault("default", Decimal("0"))
    return models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kwargs)


class AccountKind(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    INCOME = "income", "Income"
    EXPENSE = "expense", "Expense"
    EQUITY = "equity", "Equity"


class AccountRole(models.TextChoices):
    """What the posting rules use an account for; codes stay editable."""

    BANK = "bank", "Bank"
    GATEWAY_CLEARING = "gateway_clearing", "Gateway clearing"
    VENDOR_PAYABLE = "vendor_payable", "Vendor payable"
    COMMISSION_INCOME = "commission_income", "Commission income"
    SHIPPING_INCOME = "shipping_income", "Shipping income"
    OUTPUT_TAX = "output_tax", "Output tax payable"
    REFUND_EXPENSE = "refund_expense", "Refund expense"
    OTHER = "other", "Other"


SINGLE_ROLES = [
    AccountRole.BANK,
    AccountRole.COMMISSION_INCOME,
    AccountRole.SHIPPING_INCOME,
    AccountRole.OUTPUT_TAX,
    AccountRole.REFUND_EXPENSE,
]


class Account(models.Model):
    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=AccountKind.choices)
    role = models.CharField(max_length=20, choices=AccountRole.choices, default=AccountRole.OTHER)
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    payment_method = models.CharField(
        max_length=20, choices=PaymentMethod.choices, blank=True, default=""
    )
    bank_account_code = models.CharField(
        max_length=40,
        blank=True,
        help_text="The bank account in the accounting system that this clearing account settles to.",
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
                fields=["payment_method"],
                condition=Q(role=AccountRole.GATEWAY_CLEARING),
                name="account_one_clearing_per_method",
            ),
            models.CheckConstraint(
                condition=~Q(role=AccountRole.VENDOR_PAYABLE) | Q(vendor__isnull=False),
                name="account_payable_has_vendor",
            ),
            models.CheckConstraint(
                condition=~Q(role=AccountRole.GATEWAY_CLEARING) | ~Q(payment_method=""),
                name="account_clearing_has_method",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def debit_normal(self) -> bool:
        return self.kind in (AccountKind.ASSET, AccountKind.EXPENSE)


class JournalKind(models.TextChoices):
    SALE = "sale", "Sale"
    REFUND = "refund", "Refund"
    CORRECTION = "correction", "Correction"
    PAYOUT = "payout", "Vendor payout"
    REVERSAL = "reversal", "Reversal"


class Payout(models.Model):
    """Money paid out to a vendor from the platform's bank account."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="payouts")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount = amount_field()
    reference = models.CharField(max_length=128, blank=True)
    paid_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"Payout {self.vendor_id} {self.amount} {self.currency} on {self.paid_on}"


class Journal(models.Model):
    """A posted journal. Links back to its source; posted exactly once per key."""

    posting_key = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=12, choices=JournalKind.choices)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    date = models.DateField()
    memo = models.CharField(max_length=300, blank=True)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="journals"
    )
    case = models.ForeignKey(
        RefundCase, null=True, blank=True, on_delete=models.PROTECT, related_name="journals"
    )
    payout = models.ForeignKey(
        Payout, null=True, blank=True, on_delete=models.PROTECT, related_name="journals"
    )
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals"
    )
    # Declared at posting; the database checks at commit that exactly this many
    # entries exist, so no entry can be slipped into a posted journal later.
    entry_count = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [
            models.Index(fields=["date", "id"], name="journal_date_idx"),
            models.Index(fields=["case"], name="journal_case_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=JournalKind.values), name="journal_kind_valid"
            ),
            models.CheckConstraint(condition=Q(entry_count__gte=2), name="journal_two_entries"),
        ]

    def __str__(self) -> str:
        return f"J{self.pk} {self.kind} {self.posting_key}"


class Entry(models.Model):
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    debit = amount_field()
    credit = amount_field()

    class Meta:
        ordering = ["journal_id", "id"]
        verbose_name_plural = "entries"
        indexes = [models.Index(fields=["account", "journal"], name="entry_account_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(debit__gt=0) & Q(credit=0)) | (Q(credit__gt=0) & Q(debit=0)),
                name="entry_one_positive_side",
            ),
        ]

    def __str__(self) -> str:
        side = f"Dr {self.debit}" if self.debit else f"Cr {self.credit}"
        return f"{self.account_id} {side} {self.currency}"


class AccountBalance(models.Model):
    """Running totals of an account in one currency, maintained by posting."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="balances")
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
        return f"{self.account_id} {self.currency}: {self.debit - self.credit}"

    @property
    def net_debit(self) -> Decimal:
        return self.debit - self.credit
