"""Settlement statements: what the platform owed a vendor for a period."""

from datetime import timedelta

from django.db import models
from django.db.models import F, Q

from lib.constraints import amounts_equal
from lib.fields import amount_field
from lib.money import (
    CURRENCY_CHOICES,
)
from vendors.models import PayoutFrequency, Vendor

from .accounts import Account


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
