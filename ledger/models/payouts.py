"""Payouts to vendors."""

from django.db import models
from django.db.models import Q

from lib.fields import amount_field
from lib.money import (
    CURRENCY_CHOICES,
    display_money,
)
from vendors.models import Vendor


class Payout(models.Model):
    """Money paid out to a vendor from the platform's bank account."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="payouts")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount = amount_field()
    # Of what the vendor was owed, the part that settled its receivable (what it
    # owed the platform) instead of going to the bank: the payout journal
    # debits the payable with amount + receivable_offset.
    receivable_offset = amount_field()
    reference = models.CharField(max_length=128, blank=True)
    paid_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(receivable_offset__gte=0), name="payout_receivable_offset_gte_0"
            ),
        ]

    def __str__(self) -> str:
        amount = display_money(self.amount, self.currency)
        return f"Payout to {self.vendor.code} {amount} on {self.paid_on:%Y-%m-%d}"
