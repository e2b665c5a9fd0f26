"""What a detached entries month held, recorded in the detach's transaction
(ledger.detached): the reads and checks that add up entries from the first
month read these for the months no longer in ledger_entry. Never changed."""

import pgtrigger
from django.db import models
from django.db.models import Q
from django.utils import timezone

from lib.fields import amount_field
from lib.money import CURRENCY_CHOICES

from .accounts import Account


def _append_only(name: str) -> pgtrigger.Protect:
    return pgtrigger.Protect(name=name, operation=pgtrigger.Update | pgtrigger.Delete)


class DetachedMonth(models.Model):
    """A month of ledger_entry detached (its partition a table of its own):
    its journals and entries as counted at the detach. Detached months are an
    unbroken run from the first month of the books, so the entries still in
    ledger_entry are those dated from the latest `next_month` on."""

    month = models.DateField(unique=True, help_text="The month's first day.")
    next_month = models.DateField(help_text="The first day after the month.")
    detached_at = models.DateTimeField(default=timezone.now)
    journals = models.PositiveIntegerField(help_text="Journals dated in the month.")
    entries = models.PositiveBigIntegerField(help_text="Their entries (the sum of entry_count).")

    class Meta:
        ordering = ["month"]
        triggers = [_append_only("detached_month_append_only")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} (detached)"


class DetachedTotal(models.Model):
    """An account's entries of a detached month in one currency: debit and
    credit totals and how many (what the month adds to its balance)."""

    month = models.DateField()
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    debit = amount_field()
    credit = amount_field()
    entries = models.PositiveBigIntegerField()
    # When the last of them was posted (its journal's created_at): a
    # settlement statement cut before it may carry it as a late line.
    last_posted = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "account", "currency"], name="detached_total_month_account"
            ),
        ]
        triggers = [_append_only("detached_total_append_only")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} account {self.account_id} {self.currency} (detached)"


class DetachedDigest(models.Model):
    """The sale or payout journals of a detached month in one currency: how
    many and their debits (the amounts captured or paid out they posted)."""

    month = models.DateField()
    kind = models.CharField(max_length=20)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    journals = models.PositiveIntegerField()
    debit = amount_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "kind", "currency"], name="detached_digest_month_kind"
            ),
        ]
        triggers = [_append_only("detached_digest_append_only")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.kind} journals {self.currency} (detached)"


class DetachedCaseLeg(models.Model):
    """What a case's journals of one kind in a detached month posted on one
    leg (ledger.invariants' legs: payable:<vendor>, commission, platform, tax,
    clearing, account:<code>), net debit."""

    month = models.DateField()
    case_id = models.BigIntegerField()
    kind = models.CharField(max_length=20)
    leg = models.CharField(max_length=80)
    amount = amount_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "case_id", "kind", "leg"], name="detached_case_leg_unique"
            ),
        ]
        indexes = [models.Index(fields=["case_id"], name="detached_case_leg_case")]
        triggers = [_append_only("detached_case_leg_append_only")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} case {self.case_id} {self.kind} {self.leg} (detached)"


class CarriedDebit(models.Model):
    """One debit of an aged account (receivables, payables, gateway clearing)
    that makes up its debit balance at the end of `day` (a detached month's
    last day), newest first by `position`; the oldest one only in part (what
    the balance still needs of it). Aging after that day takes these once the
    debits still attached are used up (ledger.reports.aging)."""

    day = models.DateField()
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    position = models.PositiveIntegerField()
    arose = models.DateField()
    amount = amount_field()

    class Meta:
        ordering = ["day", "account", "currency", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "account", "currency", "position"], name="carried_debit_position"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="carried_debit_positive"),
        ]
        triggers = [_append_only("carried_debit_append_only")]

    def __str__(self) -> str:
        return f"{self.day} account {self.account_id} {self.currency} #{self.position}"


# ---------------------------------------------------------------- journals months


class DetachedJournalMonth(models.Model):
    """A month of ledger_journal detached after its entries month
    (ledger.detached_journals): its journals as counted at the detach, and when
    the last of them was posted. check_ledger compares these with the entries
    month's DetachedMonth and with the period's close."""

    month = models.DateField(unique=True, help_text="The month's first day.")
    next_month = models.DateField(help_text="The first day after the month.")
    detached_at = models.DateTimeField(default=timezone.now)
    journals = models.PositiveIntegerField(help_text="Journals dated in the month.")
    entries = models.PositiveBigIntegerField(help_text="The sum of their entry_count.")
    last_posted = models.DateTimeField(
        null=True, blank=True, help_text="The latest created_at of its journals (none: empty)."
    )

    class Meta:
        ordering = ["month"]
        triggers = [_append_only("detached_journal_month_append_only")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} journals (detached)"


class DetachedSource(models.Model):
    """The sale or payout journals of a detached journals month in one
    currency: how many, the sum of their sources' amounts at the detach (the
    order's captured amount; the payout's amount plus the receivable it
    settled), and the sum of their source ids (order_id or payout_id). Which
    sources have their journal in a detached month is then known by digest:
    the sources with no attached journal must add up to these."""

    month = models.DateField()
    kind = models.CharField(max_length=20)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    journals = models.PositiveIntegerField()
    amount = amount_field()
    # A sum of bigint ids: wider than a bigint.
    source_ids = models.DecimalField(max_digits=38, decimal_places=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "kind", "currency"], name="detached_source_month_kind"
            ),
        ]
        triggers = [_append_only("detached_source_append_only")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.kind} sources {self.currency} (detached)"


class DetachedCaseJournals(models.Model):
    """A case's journals in a detached journals month: how many, and how many
    of them are refund journals (check_ledger's refunds_posted)."""

    month = models.DateField()
    case_id = models.BigIntegerField()
    refunds = models.PositiveIntegerField()
    journals = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "case_id"], name="detached_case_journals"),
        ]
        indexes = [models.Index(fields=["case_id"], name="detached_case_journals_case")]
        triggers = [_append_only("detached_case_journals_append_only")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} case {self.case_id} journals (detached)"
