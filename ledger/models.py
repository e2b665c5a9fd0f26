"""Double-entry ledger: accounts, journals, entries and maintained balances.

Entries are never updated or deleted, and a journal's entries balance per
currency; on PostgreSQL triggers enforce both (migration 0002), not only this
code. Corrections are new journals that reverse or adjust. Account balances are
maintained in the posting transaction, so reading one is a primary-key lookup
however many entries exist.
"""

from datetime import timedelta
from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from lib.constraints import amounts_equal
from lib.history import track_changes
from lib.money import (
    AMOUNT_DIGITS,
    AMOUNT_PLACES,
    CURRENCY_CHOICES,
    RATE_DIGITS,
    RATE_PLACES,
    display_money,
)
from refunds.models import Order, PaymentMethod, RefundCase, RefundLine, RefundLineKind
from vendors.models import PayoutFrequency, Vendor


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


# History (lib/history.py): the chart, and each gateway's payment method -> bank account.
@track_changes()
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
        amount = display_money(self.amount, self.currency)
        return f"Payout to {self.vendor.code} {amount} on {self.paid_on:%Y-%m-%d}"


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
        RefundCase,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="journals",
        db_index=False,  # journal_case_idx below
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
        # PostgreSQL triggers (ledger/triggers.py): never updated or deleted;
        # balanced, in one currency, with entry_count entries, checked at commit.
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
        # "Journal J240 — refund RFND-…": its number, kind and what it posted.
        if self.reverses_id is not None:
            source = f"of J{self.reverses_id}"
        elif self.case_id is not None:
            source = self.case.case_id
        elif self.order_id is not None:
            source = self.order.number
        elif self.payout_id is not None:
            source = self.payout.reference or f"to {self.payout.vendor.code}"
        else:
            source = self.posting_key
        return f"Journal J{self.pk} — {self.get_kind_display().lower()} {source}"


class Entry(models.Model):
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="entries")
    # entry_account_idx (account, journal) serves lookups by account.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    debit = amount_field()
    credit = amount_field()

    class Meta:
        # PostgreSQL triggers (ledger/triggers.py): never updated or deleted;
        # its journal is checked again at commit.
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
        side = "Dr" if self.debit else "Cr"
        amount = display_money(self.debit or self.credit, self.currency)
        return f"J{self.journal_id} {side} {self.account.code} {self.account.name} {amount}"


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


# ---------------------------------------------------------------- credit notes
#
# A completed refund case is documented to the customer by one credit note that
# mirrors the original invoice's lines for what was refunded. The document is a
# snapshot: codes, names and rates are copied onto it when it is issued, so a
# later change to a mapping or a setting never rewrites an issued credit note.
# On PostgreSQL, issued credit notes and their lines are never updated or
# deleted (migration 0005), like journals.


def rate_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, **kwargs)


@track_changes()
class CreditNoteSettings(models.Model):
    """How credit notes are coded for the accounting system (one row, pk=1)."""

    SINGLETON_PK = 1

    platform_name = models.CharField(
        max_length=200, default="Splitledger", help_text="Shown at the top of credit note PDFs."
    )
    number_prefix = models.CharField(
        max_length=12,
        default="CN-",
        help_text="Credit notes are numbered per prefix and year: CN-2026-000001.",
    )
    channel_mapping_enabled = models.BooleanField(
        # On by default: lines then carry the original invoice's tax.
        default=True,
        help_text="On: the order's channel decides sales account, tracking and customer, and "
        "lines carry the original invoice's tax. Off: the default sales account and the "
        "default refund tax rate apply to every line.",
    )
    default_sales_account_code = models.CharField(
        max_length=40, default="200", help_text="Sales account code in the accounting system."
    )
    shipping_account_code = models.CharField(
        max_length=40,
        blank=True,
        help_text="Account code for refunded shipping when channel mapping is on "
        "(blank: the line's sales account).",
    )
    default_refund_tax_rate = rate_field(
        default=Decimal("0"), help_text="Used for every line when channel mapping is off."
    )
    default_customer_name = models.CharField(
        max_length=200,
        default="Marketplace customer",
        help_text="The contact when neither a channel mapping nor the order names one.",
    )

    class Meta:
        verbose_name = "credit note settings"
        verbose_name_plural = "credit note settings"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="credit_note_settings_singleton"),
            models.CheckConstraint(
                condition=Q(default_refund_tax_rate__gte=0) & Q(default_refund_tax_rate__lte=1),
                name="credit_note_settings_rate_between_0_and_1",
            ),
        ]

    def __str__(self) -> str:
        return "Credit note settings"

    @classmethod
    def load(cls) -> "CreditNoteSettings":
        settings, _ = cls.objects.get_or_create(pk=cls.SINGLETON_PK)
        return settings


class IssuerProfile(models.Model):
    """The company that issues credit notes, as printed on them (one row, pk=1)."""

    SINGLETON_PK = 1

    legal_name = models.CharField(
        max_length=200,
        blank=True,
        help_text="The issuer's registered name on credit notes (blank: the platform name).",
    )
    address = models.TextField(
        max_length=500, blank=True, help_text="Postal address, one line per line."
    )
    vat_id = models.CharField("VAT ID", max_length=40, blank=True)
    email = models.EmailField(blank=True)

    class Meta:
        verbose_name = "company details"
        verbose_name_plural = "company details"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="issuer_profile_singleton")]

    def __str__(self) -> str:
        return "Company details"

    @classmethod
    def load(cls) -> "IssuerProfile":
        profile, _ = cls.objects.get_or_create(pk=cls.SINGLETON_PK)
        return profile


@track_changes()
class ChannelMapping(models.Model):
    """Accounting codes for the orders of one channel.

    A blank subsource maps every subsource of the source that has no mapping of
    its own.
    """

    source = models.CharField(max_length=50)
    subsource = models.CharField(max_length=100, blank=True, default="")
    sales_account_code = models.CharField(max_length=40, blank=True)
    tracking_name = models.CharField(
        max_length=100, blank=True, help_text="Tracking category, e.g. Channel."
    )
    tracking_option = models.CharField(
        max_length=100, blank=True, help_text="Its option, e.g. Amazon DE."
    )
    customer_name = models.CharField(
        max_length=200,
        blank=True,
        help_text="Credit these orders to one contact (e.g. the marketplace) instead of the "
        "order's customer.",
    )

    class Meta:
        ordering = ["source", "subsource"]
        constraints = [
            models.UniqueConstraint(fields=["source", "subsource"], name="channel_mapping_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source}/{self.subsource}" if self.subsource else f"{self.source}/*"


@track_changes()
class TaxCode(models.Model):
    """The accounting system's name for a tax rate (Xero's TaxType)."""

    rate = rate_field(unique=True)
    tax_type = models.CharField(max_length=100, help_text="e.g. 10% (VAT on Income)")

    class Meta:
        ordering = ["rate"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lte=1), name="tax_code_rate_between_0_and_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{(self.rate * 100).normalize():f}% — {self.tax_type}"


class CreditNoteSeries(models.Model):
    """The next number of one numbering series (a prefix and a year).

    Taking a number increments this row in the transaction that inserts the
    credit note, so its row lock orders issuers and a rolled-back transaction
    gives its numbers back: numbers are sequential without gaps.
    """

    prefix = models.CharField(max_length=12)
    year = models.PositiveSmallIntegerField()
    next_number = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["prefix", "year"]
        verbose_name_plural = "credit note series"
        constraints = [
            models.UniqueConstraint(fields=["prefix", "year"], name="credit_note_series_unique"),
            models.CheckConstraint(
                condition=Q(next_number__gte=1), name="credit_note_series_next_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}{self.year}"

    def format(self, sequence: int) -> str:
        return f"{self.prefix}{self.year}-{sequence:06d}"


class CreditNote(models.Model):
    """The customer's document for a completed refund case."""

    number = models.CharField(max_length=40, unique=True)
    series = models.ForeignKey(
        CreditNoteSeries, on_delete=models.PROTECT, related_name="credit_notes"
    )
    sequence = models.PositiveIntegerField()
    case = models.OneToOneField(RefundCase, on_delete=models.PROTECT, related_name="credit_note")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="credit_notes")
    reference = models.CharField(max_length=22, help_text="The refund case ID.")
    order_number = models.CharField(max_length=64)
    issue_date = models.DateField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    customer_name = models.CharField(max_length=200)
    customer_email = models.EmailField(blank=True)
    customer_address = models.TextField(
        max_length=500, blank=True, help_text="The order's, unless credited to a channel's contact."
    )
    payment_method = models.CharField(
        max_length=20, choices=PaymentMethod.choices, blank=True, default=""
    )
    bank_account_code = models.CharField(
        max_length=40, blank=True, help_text="Where the refund was paid from."
    )
    channel_mapping_applied = models.BooleanField(default=False)
    net_amount = amount_field()
    tax_amount = amount_field()
    total_amount = amount_field()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # PostgreSQL trigger (ledger/triggers.py): never updated or deleted.
        ordering = ["-issue_date", "-id"]
        indexes = [
            models.Index(fields=["issue_date", "id"], name="credit_note_date_idx"),
            models.Index(fields=["order"], name="credit_note_order_idx"),
            models.Index(fields=["order_number"], name="credit_note_order_number_idx"),
            models.Index(fields=["reference"], name="credit_note_reference_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "sequence"], name="credit_note_series_sequence_unique"
            ),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="credit_note_sequence_gte_1"),
            amounts_equal(
                "total_amount",
                F("net_amount") + F("tax_amount"),
                "credit_note_total_is_net_plus_tax",
            ),
            models.CheckConstraint(condition=Q(total_amount__gt=0), name="credit_note_total_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.number} for {self.reference}"


class CreditNoteLine(models.Model):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.PROTECT, related_name="lines")
    refund_line = models.ForeignKey(
        RefundLine, on_delete=models.PROTECT, related_name="credit_note_lines"
    )
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=RefundLineKind.choices)
    description = models.CharField(max_length=400)
    quantity = models.PositiveIntegerField()
    unit_amount = amount_field(help_text="Net, per unit.")
    tax_rate = rate_field()
    tax_type = models.CharField(max_length=100, blank=True)
    tax_amount = amount_field()
    net_amount = amount_field()
    gross_amount = amount_field()
    account_code = models.CharField(max_length=40, blank=True)
    tracking_name = models.CharField(max_length=100, blank=True)
    tracking_option = models.CharField(max_length=100, blank=True)

    class Meta:
        # PostgreSQL trigger (ledger/triggers.py): never updated or deleted.
        ordering = ["credit_note_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_note", "position"], name="credit_note_line_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="credit_note_line_quantity_gte_1"
            ),
            amounts_equal(
                "gross_amount",
                F("net_amount") + F("tax_amount"),
                "credit_note_line_gross_is_net_plus_tax",
            ),
            models.CheckConstraint(
                condition=Q(net_amount__gte=0) & Q(tax_amount__gte=0) & Q(unit_amount__gte=0),
                name="credit_note_line_amounts_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.credit_note.number} line {self.position}: {self.description}"


# ---------------------------------------------------------------- settlements
#
# A vendor's settlement statement for one period in one currency, built from
# its payable account (see ledger.settlements). Only the totals are stored:
# the lines are the period's entries, which never change, read again on demand.


class SettlementStatement(models.Model):
    """What the platform owed a vendor over one period: credit minus debit of
    its payable account, so a negative balance is owed by the vendor."""

    vendor = models.ForeignKey(
        Vendor, on_delete=models.PROTECT, related_name="settlement_statements"
    )
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="settlement_statements"
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    frequency = models.CharField(
        max_length=10,
        choices=PayoutFrequency.choices,
        help_text="The vendor's payout frequency when the statement was made.",
    )
    period_start = models.DateField()
    period_end = models.DateField()
    cutoff = models.DateTimeField(
        help_text="Entries posted up to this moment are in this statement or an earlier one; "
        "an entry posted later for this period or before it goes to the next statement."
    )
    previous = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="next_statement",
    )
    opening = amount_field()
    sales = amount_field(help_text="Sales net of commission.")
    deductions = amount_field(help_text="Refunds borne by the vendor.")
    adjustments = amount_field(help_text="Corrections and reversals, + in the vendor's favour.")
    payouts = amount_field()
    closing = amount_field()
    entry_count = models.PositiveIntegerField(default=0)
    generated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_end", "currency", "-id"]
        indexes = [
            models.Index(fields=["vendor", "-period_end"], name="statement_vendor_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "currency", "period_start"], name="statement_once_per_period"
            ),
            models.UniqueConstraint(
                fields=["vendor", "currency", "period_end"], name="statement_period_end_unique"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="statement_period_valid"
            ),
            amounts_equal(
                "closing",
                F("opening") + F("sales") - F("deductions") + F("adjustments") - F("payouts"),
                "statement_closing_adds_up",
            ),
        ]

    def __str__(self) -> str:
        # "Statement BERGSPORT EUR week 2024-09-30"; a short first period (the
        # vendor changed its payout frequency) gives both its days.
        start, end = self.period_start, self.period_end
        if (
            self.frequency == PayoutFrequency.WEEKLY
            and start.weekday() == 0
            and (end - start).days == 6
        ):
            period = f"week {start:%Y-%m-%d}"
        elif (
            self.frequency == PayoutFrequency.MONTHLY
            and start.day == 1
            and (end + timedelta(days=1)).day == 1
            and start.month == end.month
        ):
            period = f"month {start:%Y-%m}"
        else:
            period = f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"
        return f"Statement {self.vendor.code} {self.currency} {period}"
