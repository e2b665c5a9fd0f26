"""Receivables per order line and shipping line (seed 003).

Two kinds, one row per order line (and one for the order's shipping, with no
line), each with a status and two tags:

- `provider`: what the payment provider owes the platform for the line, its
  gross (net + tax; shipping as charged). Opened when the order is paid,
  reduced by what completed cases refunded to the customer, settled by the
  payout report rows (cash.PayoutReportRow) of the order's payments.
- `vendor`: what the platform owes the vendor for the line: net less
  commission, as the sale journal credits the vendor's payable. Reduced by
  what the vendor bears of refunds (the refund journal's payable debit), paid
  by vendor payouts allocated to it (ReceivableAllocation), oldest first
  unless staff choose. Shipping has no vendor receivable.

The figures are kept by cash.services.receivables; the amounts never change
after opening, `refunded_amount` and `paid_amount` only grow.
"""

from django.db import models
from django.db.models import F, Q

from lib.fields import amount_field
from lib.money import CURRENCY_CHOICES, display_money
from refunds.models import PaymentMethod


class ReceivableKind(models.TextChoices):
    PROVIDER = "provider", "From the payment provider"
    VENDOR = "vendor", "To the vendor"


class ReceivableStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
    PAID = "paid", "Paid"
    REFUND = "refund", "Refund"


class ReceivableTag(models.TextChoices):
    OVERDUE = "overdue", "Overdue"
    PARTIAL = "partial", "Partial"


class Receivable(models.Model):
    kind = models.CharField(max_length=10, choices=ReceivableKind.choices)
    order = models.ForeignKey("refunds.Order", on_delete=models.PROTECT, related_name="receivables")
    order_line = models.ForeignKey(
        "refunds.OrderLine",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="receivables",
        help_text="Blank for the order's shipping line.",
    )
    vendor = models.ForeignKey(
        "vendors.Vendor",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="receivables",
        help_text="The line's vendor (blank for shipping).",
    )
    payment_method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount = amount_field(help_text="Owed for the line when it was sold.")
    refunded_amount = amount_field()
    paid_amount = amount_field()
    opened_on = models.DateField()
    due_date = models.DateField()
    payment_date = models.DateField(
        null=True, blank=True, help_text="The latest transfer that paid part of it."
    )
    status = models.CharField(
        max_length=20, choices=ReceivableStatus.choices, default=ReceivableStatus.AWAITING_PAYMENT
    )
    overdue = models.BooleanField(default=False)
    partial = models.BooleanField(default=False)
    cancelled = models.BooleanField(
        default=False, help_text="Cancelled before handover: nothing is paid out for it."
    )

    class Meta:
        ordering = ["opened_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "order_line"],
                condition=Q(order_line__isnull=False),
                name="receivable_one_per_kind_line",
            ),
            models.UniqueConstraint(
                fields=["kind", "order"],
                condition=Q(order_line__isnull=True),
                name="receivable_one_shipping_per_kind_order",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0, refunded_amount__gte=0, paid_amount__gte=0),
                name="receivable_amounts_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=F("amount")),
                name="receivable_refunded_lte_amount",
            ),
            models.CheckConstraint(
                condition=Q(paid_amount__lte=F("amount") - F("refunded_amount")),
                name="receivable_paid_lte_due",
            ),
            models.CheckConstraint(
                condition=Q(kind="provider") | Q(vendor__isnull=False),
                name="receivable_vendor_kind_has_vendor",
            ),
        ]
        indexes = [models.Index(fields=["kind", "status"], name="receivable_kind_status")]

    def __str__(self) -> str:
        what = self.order_line.sku if self.order_line_id and self.order_line else "shipping"
        return f"{self.kind} {what} {display_money(self.amount, self.currency)}"

    @property
    def open_amount(self):
        return self.amount - self.refunded_amount - self.paid_amount

    @property
    def tags(self) -> list[str]:
        return [t for t in ("overdue", "partial") if getattr(self, t)]


class ReceivableAllocation(models.Model):
    """The part of a vendor payout that paid a vendor receivable."""

    receivable = models.ForeignKey(Receivable, on_delete=models.PROTECT, related_name="allocations")
    payout = models.ForeignKey(
        "ledger.Payout", on_delete=models.PROTECT, related_name="receivable_allocations"
    )
    amount = amount_field()
    chosen_by_staff = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["receivable", "payout"], name="receivable_allocation_unique"
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="receivable_allocation_amount_gt_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{display_money(self.amount, self.receivable.currency)} of payout {self.payout_id}"
