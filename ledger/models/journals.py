"""Journals and their entries: the books themselves."""

from typing import Any

from django.db import models
from django.db.models import F, Q

from lib.fields import CopiedFromRelated, amount_field, optional_user
from lib.money import (
    CURRENCY_CHOICES,
    display_money,
)
from refunds.models import Order, RefundCase

from .accounts import Account
from .payouts import Payout
from .periods import JOURNAL_IN_OPEN_PERIOD


class JournalKind(models.TextChoices):
    SALE = "sale", "Sale"
    REFUND = "refund", "Refund"
    CORRECTION = "correction", "Correction"
    PAYOUT = "payout", "Vendor payout"
    REVERSAL = "reversal", "Reversal"
    # A vendor's payable debit balance moved to its receivable at a period close.
    RECLASSIFICATION = "reclassification", "Reclassification"


class EntryLabel(models.TextChoices):
    """What an entry is, in a journal of several kinds of legs. A leg posted
    without one is labelled by its journal's kind (the first members)."""

    SALE = "sale", "Sale"
    REFUND = "refund", "Refund"
    CORRECTION = "correction", "Correction"
    PAYOUT = "payout", "Payout"
    REVERSAL = "reversal", "Reversal"
    RECLASSIFICATION = "reclassification", "Reclassification"
    PAYABLE_ADJUSTMENT = "payable_adjustment", "Payable adjustment"
    COMMISSION = "commission", "Commission"
    COMMISSION_REVERSAL = "commission_reversal", "Commission reversal"
    TAX = "tax", "Tax"
    SHIPPING = "shipping", "Shipping"
    # A payout's legs that settle what the vendor owed (its receivable) first.
    RECEIVABLE_SETTLEMENT = "receivable_settlement", "Receivable settlement"


def default_label(kind: str) -> str:
    """The label of a leg posted without one: its journal's kind."""
    return EntryLabel(kind).value


class ReversedDateField(CopiedFromRelated, models.DateField):
    """A reversal's reversed journal's posting date (`Journal.date` of
    `reverses`), copied: with `reverses_id` it makes the composite foreign key
    (reverses_id, reverses_date) to the journals, partitioned by month of
    their date on PostgreSQL (migration 0008). The ORM fills it; ledger.posting
    writes it itself."""

    source_field, source_attr = "reverses", "date"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        kwargs.setdefault("help_text", "The reversed journal's posting date, for the foreign key.")
        super().__init__(*args, **kwargs)


class Journal(models.Model):
    """A posted journal. Links back to its source; posted exactly once per key."""

    # Unique across all months: on PostgreSQL a unique index of the journals,
    # partitioned by month of `date` (migration 0008), would have to hold the
    # date, so the key's uniqueness is JournalKey's primary key (a trigger
    # writes it with every journal, ledger/triggers.py); SQLite keeps a unique
    # index here. This index serves lookups by key (it probes every month).
    posting_key = models.CharField(max_length=80)
    kind = models.CharField(max_length=20, choices=JournalKind.choices)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    # The posting date: in an open period (ledger.periods). An item that happened
    # in a closed period is posted on the first day of the first open one, and
    # keeps the day it happened in original_date (blank when the two agree).
    date = models.DateField()
    original_date = models.DateField(null=True, blank=True)
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
    # On PostgreSQL the database's key is (reverses_id, reverses_date) to the
    # journals' (id, date) (migration 0008); Django's is for the ORM only.
    reverses = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversals",
        db_constraint=False,
    )
    reverses_date = ReversedDateField(null=True, blank=True)
    # Who posted it: a user (staff who acted) and/or the process that posted
    # ("outbox:ledger", "admin", "api", "demo", ...); never neither.
    posted_by = optional_user(on_delete=models.PROTECT)
    posted_by_process = models.CharField(max_length=40, blank=True)
    # Declared at posting; the database checks at commit that exactly this many
    # entries exist, so no entry can be slipped into a posted journal later.
    entry_count = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # PostgreSQL triggers (ledger/triggers.py): never updated or deleted;
        # balanced, in one currency, with entry_count entries, checked at commit;
        # and (below) never dated in a closed period.
        ordering = ["-date", "-id"]
        # On PostgreSQL the table is partitioned by month of `date` (migration
        # 0008): its primary key there is (id, date) and these indexes are
        # partitioned ones.
        indexes = [
            models.Index(fields=["date", "id"], name="journal_date_idx"),
            models.Index(fields=["case"], name="journal_case_idx"),
            models.Index(fields=["posting_key"], name="journal_posting_key_idx"),
            # The reversals alone (a few rows): a journals month's DETACH
            # looks for reversals pointing into it with this very condition
            # (the key is MATCH FULL), which without this index reads every
            # journal of every month with ledger_journal locked (1.35 s at
            # 100 M entries; 14 ms with it). Migration 0014.
            models.Index(
                fields=["reverses", "reverses_date"],
                name="journal_reversal_idx",
                condition=Q(reverses__isnull=False) | Q(reverses_date__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=JournalKind.values), name="journal_kind_valid"
            ),
            models.CheckConstraint(condition=Q(entry_count__gte=2), name="journal_two_entries"),
            models.CheckConstraint(
                condition=Q(original_date__isnull=True) | Q(original_date__lt=F("date")),
                name="journal_original_date_before_posting",
            ),
            models.CheckConstraint(
                condition=Q(posted_by__isnull=False) | ~Q(posted_by_process=""),
                name="journal_posted_by_someone",
            ),
        ]
        # Refuses a journal dated in a closed period (ledger/models/periods.py).
        triggers = [JOURNAL_IN_OPEN_PERIOD]

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

    @property
    def poster(self) -> str:
        """Who posted it: "alice (admin)", or the process alone ("outbox:ledger")."""
        user = self.posted_by.get_username() if self.posted_by_id else ""
        if user and self.posted_by_process:
            return f"{user} ({self.posted_by_process})"
        return user or self.posted_by_process


class JournalDateField(CopiedFromRelated, models.DateField):
    """The entry's journal's posting date (`Journal.date`), copied: the key
    ledger_entry is partitioned by on PostgreSQL (monthly, refunds.partitions),
    so reads by date prune to their months. The ORM fills it from the journal;
    raw SQL writers (ledger.posting, the benchmarks) write it themselves, and
    the journal check at commit (ledger/triggers.py) refuses any other date."""

    source_field, source_attr = "journal", "date"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        kwargs.setdefault("help_text", "The journal's posting date: the partition key.")
        super().__init__(*args, **kwargs)


class JournalKey(models.Model):
    """A posted journal's posting key, once across all months: the global
    uniqueness a unique index of the partitioned journals cannot hold (it
    would have to include the date). Written in the same statement as the
    journal, by the trigger ledger_journal_key (ledger/triggers.py) whatever
    writes the journal; ledger.posting writes it first, so that a key posted
    before (or being posted by a concurrent transaction) skips its journal.
    Never updated or deleted; a detached journals month keeps its keys here.
    On SQLite (development) the journals keep a unique index on posting_key,
    which is what refuses a duplicate there; ledger.posting writes the keys
    here too, but a journal made through the ORM has none."""

    posting_key = models.CharField(max_length=80, primary_key=True)
    # Indexed for archived_journal_date (ledger.detached_journals): a detached
    # journal's date, found by its id.
    journal_id = models.BigIntegerField(db_index=True)
    date = models.DateField(help_text="The journal's posting date (its month's partition).")

    class Meta:
        ordering = ["posting_key"]

    def __str__(self) -> str:
        return f"{self.posting_key} → J{self.journal_id}"


# A read of entries that joins their journals: the journal is of the entry's
# date (the database holds it), said to PostgreSQL too so that it looks each
# journal up in the entry's month only, not in every month (the journals are
# partitioned by month of date, migration 0008). Filter entries with it.
JOURNAL_OF_ITS_DATE = Q(journal__date=F("date"))


class Entry(models.Model):
    # On PostgreSQL the database's key is (journal_id, date) to the journals'
    # (id, date) (migration 0008); Django's is for the ORM only.
    journal = models.ForeignKey(
        Journal, on_delete=models.PROTECT, related_name="entries", db_constraint=False
    )
    date = JournalDateField()
    # entry_account_idx (account, journal) serves lookups by account.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    debit = amount_field()
    credit = amount_field()
    label = models.CharField(max_length=30, choices=EntryLabel.choices)

    class Meta:
        # PostgreSQL triggers (ledger/triggers.py): never updated or deleted;
        # its journal is checked again at commit.
        ordering = ["journal_id", "id"]
        verbose_name_plural = "entries"
        # On PostgreSQL the table is partitioned by month of `date` (migration
        # 0006): its primary key there is (id, date) and these indexes are
        # partitioned ones.
        indexes = [models.Index(fields=["account", "journal"], name="entry_account_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(debit__gt=0) & Q(credit=0)) | (Q(credit__gt=0) & Q(debit=0)),
                name="entry_one_positive_side",
            ),
            models.CheckConstraint(condition=~Q(label=""), name="entry_has_label"),
        ]

    def __str__(self) -> str:
        side = "Dr" if self.debit else "Cr"
        amount = display_money(self.debit or self.credit, self.currency)
        return f"J{self.journal_id} {side} {self.account.code} {self.account.name} {amount}"
