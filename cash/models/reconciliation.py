"""Reconciliation per account and month: the period a named user signs off
(which locks it for reconciliation), its re-openings (audited, with a reason),
and write-off requests for a difference (one user asks, another approves, the
journal is posted to a named account)."""

from django.db import models
from django.db.models import F, Q

from ledger.models.journals import JournalDateField
from lib.fields import amount_field
from lib.money import CURRENCY_CHOICES, display_money
from lib.user_fields import user_field

from .accounts import BankAccount
from .matching import ReconciliationRun
from .statements import BankStatementLine


class ReconciliationPeriod(models.Model):
    """One bank account's month. `figures` holds the last run's results (frozen
    at sign-off); a signed period is not run again until it is re-opened."""

    account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, related_name="reconciliation_periods"
    )
    month = models.DateField(help_text="The first day of the month.")
    last_run = models.ForeignKey(
        ReconciliationRun, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    last_run_at = models.DateTimeField(null=True, blank=True)
    figures = models.JSONField(default=dict, blank=True)
    signed_off_by = user_field(db_index=True)
    signed_off_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month", "account_id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "month"], name="reconperiod_one_per_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="reconperiod_month_first_day"),
            models.CheckConstraint(
                condition=Q(signed_off_by__isnull=True, signed_off_at__isnull=True)
                | Q(signed_off_by__isnull=False, signed_off_at__isnull=False),
                name="reconperiod_signed_by_and_at",
            ),
        ]

    def __str__(self) -> str:
        state = "signed off" if self.signed_off else "open"
        return f"{self.account.name} {self.month:%Y-%m} ({state})"

    @property
    def signed_off(self) -> bool:
        return self.signed_off_at is not None


class PeriodReopening(models.Model):
    """The audit row of a re-opened period: who signed it, who re-opened it and why."""

    period = models.ForeignKey(
        ReconciliationPeriod, on_delete=models.PROTECT, related_name="reopenings"
    )
    reason = models.CharField(max_length=500)
    reopened_by = user_field(null=False, blank=False, db_index=True)
    reopened_at = models.DateTimeField(auto_now_add=True)
    was_signed_off_by = user_field(blank=False, db_index=True)
    was_signed_off_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-reopened_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="reopening_has_reason")]

    def __str__(self) -> str:
        return f"{self.period} re-opened {self.reopened_at:%Y-%m-%d}"


class WriteOffStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved and posted"
    REJECTED = "rejected", "Rejected"


class WriteOffRequest(models.Model):
    """A difference written off to a named ledger account: asked by one user,
    approved (and posted) or rejected by another."""

    account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="write_offs")
    line = models.ForeignKey(
        BankStatementLine, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    amount = amount_field(help_text="Signed as the bank sees it: positive raises the bank balance.")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    target_account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The ledger account the difference is written off to.",
    )
    reason = models.CharField(max_length=500)
    on_date = models.DateField()
    status = models.CharField(
        max_length=10, choices=WriteOffStatus.choices, default=WriteOffStatus.REQUESTED
    )
    requested_by = user_field(null=False, blank=False, db_index=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = user_field(db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # On PostgreSQL the database's key is (journal_id, journal_date) to the
    # journals' (id, date), partitioned by month of date (cash 0008/0009).
    journal = models.ForeignKey(
        "ledger.Journal",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    journal_date = JournalDateField(
        null=True, blank=True, help_text="The journal's posting date, for the foreign key."
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="writeoff_amount_not_0"),
            models.CheckConstraint(condition=~Q(reason=""), name="writeoff_has_reason"),
            models.CheckConstraint(
                condition=Q(status__in=WriteOffStatus.values), name="writeoff_status_valid"
            ),
            # The four-eyes rule, in the database: the approver is not the requester.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="writeoff_other_approver",
            ),
            models.CheckConstraint(
                condition=Q(status=WriteOffStatus.REQUESTED)
                | Q(decided_by__isnull=False, decided_at__isnull=False),
                name="writeoff_decided_has_who_and_when",
            ),
            models.CheckConstraint(
                condition=~Q(status=WriteOffStatus.APPROVED) | Q(journal__isnull=False),
                name="writeoff_approved_has_journal",
            ),
        ]

    def __str__(self) -> str:
        return f"Write-off {self.pk}: {display_money(self.amount, self.currency)} ({self.status})"
