"""Open items, allocations, suggestions and reconciliation runs.

An open item is something on the ledger side waiting for a bank line (a vendor
payout to be debited, later a provider payout to be credited); the sources that
feed them are registered in cash.services.sources. An allocation ties an amount
of one bank line to one item; the database keeps the line's `allocated_minor`
and the item's `remaining_minor` from the allocations (cash/triggers.py), and
their CHECK constraints refuse to allocate a line or an item beyond its amount,
whoever writes the allocation. Allocations are never deleted: undoing one sets
`reversed_at`, once.
"""

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Abs
from django.db.models.lookups import LessThanOrEqual

from lib.fields import amount_field
from lib.money import CURRENCY_CHOICES, display_money
from lib.user_fields import user_field

from .statements import BankStatementLine


class OpenItem(models.Model):
    kind = models.CharField(max_length=30, help_text="The source (cash.services.sources).")
    source_id = models.BigIntegerField(help_text="The id of the row in its source's table.")
    ledger_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,  # checked per statement by a trigger (cash/triggers.py)
        help_text="The bank account in the ledger the item is posted to.",
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount = amount_field(help_text="As the bank line will show it: a payout out is negative.")
    amount_minor = models.BigIntegerField()
    remaining_minor = models.BigIntegerField(
        help_text="Minor units not yet allocated (kept by the allocation trigger)."
    )
    item_date = models.DateField()
    reference = models.CharField(max_length=140, blank=True)
    counterparty = models.CharField(max_length=140, blank=True)
    reference_keys = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "source_id"], name="openitem_one_per_source"),
            models.CheckConstraint(condition=~Q(amount_minor=0), name="openitem_amount_not_0"),
            models.CheckConstraint(
                condition=Q(remaining_minor__gte=0)
                & LessThanOrEqual(F("remaining_minor"), Abs(F("amount_minor"))),
                name="openitem_remaining_within_amount",
            ),
        ]

    def __str__(self) -> str:
        what = self.kind.replace("_", " ")
        return f"{what} {self.source_id}: {display_money(self.amount, self.currency)} on {self.item_date}"


class ReconciliationRun(models.Model):
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = user_field(db_index=True)
    items_added = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0, help_text="Lines matched by this run.")
    suggested = models.PositiveIntegerField(default=0, help_text="Lines given a suggestion.")
    unmatched = models.PositiveIntegerField(default=0, help_text="Lines left unmatched.")
    allocations = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Run {self.pk} at {self.started_at:%Y-%m-%d %H:%M}"


class MatchMethod(models.TextChoices):
    REFERENCE = "reference", "Reference"
    AMOUNT = "amount", "Amount and date window"
    GROUP = "group", "Group"
    SUGGESTION = "suggestion", "Confirmed suggestion"
    MANUAL = "manual", "By hand"


class Allocation(models.Model):
    # Checked per statement by a trigger, not by FOREIGN KEYs (cash/triggers.py);
    # the unique (line, item, reversed_at) index serves lookups by line.
    line = models.ForeignKey(
        BankStatementLine,
        on_delete=models.PROTECT,
        related_name="allocations",
        db_index=False,
        db_constraint=False,
    )
    item = models.ForeignKey(
        OpenItem, on_delete=models.PROTECT, related_name="allocations", db_constraint=False
    )
    amount_minor = models.BigIntegerField()
    method = models.CharField(max_length=12, choices=MatchMethod.choices)
    # No index on the run, suggestion or user columns: nothing looks allocations up
    # by them, and each index costs every run's bulk insert. The run is checked per
    # statement by the counter trigger too (runs are never deleted), not by a
    # FOREIGN KEY looked up once per allocation at commit.
    run = models.ForeignKey(
        ReconciliationRun,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    suggestion = models.ForeignKey(
        "Suggestion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="allocations",
        db_index=False,
    )
    created_by = user_field()
    created_at = models.DateTimeField(auto_now_add=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = user_field()

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Two runs, or a run and a person, never allocate the same pair twice.
            # NULLS NOT DISTINCT: one active (unreversed) allocation per pair; reversed
            # ones differ by their time. The index also serves lookups by line.
            models.UniqueConstraint(
                fields=["line", "item", "reversed_at"],
                nulls_distinct=False,
                name="allocation_one_active_per_pair",
            ),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="allocation_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(method__in=MatchMethod.values), name="allocation_method_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Line {self.line_id} ↔ item {self.item_id} ({self.method})"


class SuggestionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"


class Suggestion(models.Model):
    """A match proposed to a person: one bank line and the items it may pay.

    `item_key` (the sorted item ids) with the line is unique, so a run never
    proposes the same thing twice, and a rejected proposal is never made again.
    """

    # The unique (line, item_key) index serves lookups by line.
    line = models.ForeignKey(
        BankStatementLine, on_delete=models.PROTECT, related_name="suggestions", db_index=False
    )
    run = models.ForeignKey(
        ReconciliationRun,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    tier = models.CharField(max_length=12, choices=MatchMethod.choices)
    item_key = models.CharField(max_length=400)
    reason = models.CharField(max_length=300)
    status = models.CharField(
        max_length=10, choices=SuggestionStatus.choices, default=SuggestionStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = user_field()

    class Meta:
        ordering = ["line_id", "id"]
        indexes = [
            models.Index(
                fields=["status", "line"],
                name="suggestion_pending",
                condition=Q(status="pending"),
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["line", "item_key"], name="suggestion_once_per_items"),
            models.CheckConstraint(
                condition=Q(status__in=SuggestionStatus.values), name="suggestion_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=SuggestionStatus.PENDING) | Q(decided_at__isnull=False),
                name="suggestion_decided_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Suggestion {self.pk}: line {self.line_id} ↔ items {self.item_key} ({self.status})"


class SuggestionItem(models.Model):
    # The unique (suggestion, item) index serves lookups by suggestion.
    suggestion = models.ForeignKey(
        Suggestion, on_delete=models.PROTECT, related_name="items", db_index=False
    )
    item = models.ForeignKey(OpenItem, on_delete=models.PROTECT, related_name="+")
    amount_minor = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["suggestion", "item"], name="suggestionitem_unique"),
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0), name="suggestionitem_amount_gt_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.suggestion_id}: item {self.item_id}"
