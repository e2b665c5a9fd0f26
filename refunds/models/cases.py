"""Refund cases, their lines and each vendor's liability."""

from django.db import models
from django.db.models import F, Q

from lib.constraints import amount_at_most, amounts_equal
from lib.fields import amount_field, non_negative, optional_user
from lib.money import (
    CURRENCY_CHOICES,
    display_money,
)
from vendors.models import Vendor

from ..statuses import CaseStatus
from .orders import Order, OrderLine
from .policies import ReasonPolicy

CASE_ID_REGEX = r"^RFND-[0-9]{8}-[A-HJ-NP-Z2-9]{6}$"


def breakdown_adds_up(prefix: str, total: str) -> list[models.CheckConstraint]:
    """A refund's breakdown (a line's or a vendor's part) adds up: the total is net + tax +
    shipping, and the vendor bears net + shipping less what the platform bears."""
    return [
        amounts_equal(
            total,
            F("net_amount") + F("tax_amount") + F("shipping_amount"),
            f"{prefix}_{total.removesuffix('_amount')}_is_sum",
        ),
        amounts_equal(
            "vendor_share",
            F("net_amount") + F("shipping_amount") - F("platform_share"),
            f"{prefix}_shares_cover_net",
        ),
    ]


class RefundCase(models.Model):
    case_id = models.CharField(max_length=22, unique=True, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refund_cases")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=12, choices=CaseStatus.choices, default=CaseStatus.PENDING)
    status_before_dispute = models.CharField(
        max_length=12, choices=CaseStatus.choices, blank=True, default=""
    )
    owner = optional_user(on_delete=models.SET_NULL, related_name="owned_refund_cases")
    opened_by = optional_user(on_delete=models.SET_NULL, related_name="opened_refund_cases")
    total_refund_amount = amount_field()
    shipping_refund_amount = amount_field()
    gateway_reference = models.CharField(max_length=128, blank=True)
    note = models.TextField(blank=True)
    initiated_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The number of the case's last outbox message (refunds.outbox.emit): raised
    # by one UPDATE in the transaction that writes the message, never by save().
    event_sequence = models.PositiveIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        ordering = ["-initiated_at", "-id"]
        indexes = [
            models.Index(fields=["status", "initiated_at"], name="case_status_initiated_idx"),
            models.Index(fields=["initiated_at"], name="case_initiated_idx"),
            # The vendor dashboard's recent deductions, newest first (migration 0006).
            models.Index(
                fields=["completed_at", "id"],
                condition=Q(completed_at__isnull=False),
                name="case_completed_idx",
            ),
            # Trigram search on the case ID: refunds/triggers.py (PostgreSQL only).
        ]
        constraints = [
            *non_negative("case", "total_refund_amount", "shipping_refund_amount"),
            models.CheckConstraint(condition=Q(total_refund_amount__gt=0), name="case_total_gt_0"),
            models.CheckConstraint(
                condition=Q(status__in=CaseStatus.values), name="case_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(case_id__regex=CASE_ID_REGEX), name="case_id_format"
            ),
            models.CheckConstraint(
                condition=~Q(status=CaseStatus.DISPUTED)
                | Q(
                    status_before_dispute__in=[
                        CaseStatus.PENDING,
                        CaseStatus.APPROVED,
                        CaseStatus.COMPLETED,
                    ]
                ),
                name="case_disputed_remembers_prior_status",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[CaseStatus.COMPLETED, CaseStatus.CLOSED])
                | Q(completed_at__isnull=False),
                name="case_completed_has_timestamp",
            ),
        ]

    def __str__(self) -> str:
        return self.case_id


class RefundLineKind(models.TextChoices):
    QUANTITY = "quantity", "Quantity of an order line"
    AMOUNT = "amount", "Amount against an order line"
    SHIPPING = "shipping", "Shipping"


class RefundLine(models.Model):
    case = models.ForeignKey(RefundCase, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=10, choices=RefundLineKind.choices)
    order_line = models.ForeignKey(
        OrderLine, null=True, blank=True, on_delete=models.PROTECT, related_name="refund_lines"
    )
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.PROTECT, related_name="refund_lines"
    )
    reason = models.ForeignKey(ReasonPolicy, on_delete=models.PROTECT, related_name="refund_lines")
    policy_version = models.PositiveIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="The reason policy's version that priced the line (blank: priced before "
        "versions were kept).",
    )
    quantity = models.PositiveIntegerField(default=0)
    net_amount = amount_field()
    tax_amount = amount_field()
    shipping_amount = amount_field()
    gross_amount = amount_field()
    vendor_share = amount_field()
    platform_share = amount_field()
    commission_base = amount_field(help_text="Net on which the commission goes back to the vendor.")
    commission_reversal = amount_field()

    class Meta:
        ordering = ["case_id", "id"]
        constraints = [
            *non_negative(
                "refund_line",
                "net_amount",
                "tax_amount",
                "shipping_amount",
                "vendor_share",
                "platform_share",
                "commission_base",
                "commission_reversal",
            ),
            models.CheckConstraint(condition=Q(gross_amount__gt=0), name="refund_line_gross_gt_0"),
            *breakdown_adds_up("refund_line", "gross_amount"),
            models.CheckConstraint(
                condition=(
                    Q(kind=RefundLineKind.QUANTITY, order_line__isnull=False, quantity__gt=0)
                    | Q(kind=RefundLineKind.AMOUNT, order_line__isnull=False, quantity=0)
                    | Q(kind=RefundLineKind.SHIPPING, order_line__isnull=True, quantity=0)
                ),
                name="refund_line_kind_shape",
            ),
        ]

    def __str__(self) -> str:
        # Names the line as staff read it: what was refunded, never an internal ID.
        case = self.case
        if self.kind == RefundLineKind.SHIPPING:
            return f"{case.case_id} shipping {display_money(self.gross_amount, case.currency)}"
        sku = self.order_line.sku
        if self.kind == RefundLineKind.QUANTITY:
            return f"{case.case_id} {sku} × {self.quantity}"
        return f"{case.case_id} {display_money(self.gross_amount, case.currency)} on {sku}"


# The money columns of a VendorLiability, in display order (API, exports, snapshots);
# each is non-negative.
LIABILITY_AMOUNTS = (
    "refund_amount",
    "net_amount",
    "tax_amount",
    "shipping_amount",
    "vendor_share",
    "platform_share",
    "commission_reversal",
)


class VendorLiability(models.Model):
    """What one vendor's part of a case costs, and who bears it.

    refund_amount = net + tax + shipping, and vendor_share + platform_share =
    net + shipping (tax goes back to the tax authority, borne by no one). The
    commission reversal is the part of the platform's share that gives the
    vendor back the commission on what it bears.
    """

    case = models.ForeignKey(RefundCase, on_delete=models.CASCADE, related_name="liabilities")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="liabilities")
    refund_amount = amount_field()
    net_amount = amount_field()
    tax_amount = amount_field()
    shipping_amount = amount_field()
    vendor_share = amount_field()
    platform_share = amount_field()
    commission_reversal = amount_field()
    overridden = models.BooleanField(default=False)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = optional_user(on_delete=models.SET_NULL)

    class Meta:
        ordering = ["case_id", "vendor_id"]
        verbose_name_plural = "vendor liabilities"
        indexes = [
            models.Index(fields=["vendor", "case"], name="liability_vendor_case_idx"),
            # The portal's case list sorted by the vendor's amount (migration 0006).
            models.Index(
                fields=["vendor", "refund_amount", "case"], name="liability_vendor_amount_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["case", "vendor"], name="liability_case_vendor_unique"),
            *non_negative("liability", *LIABILITY_AMOUNTS),
            *breakdown_adds_up("liability", "refund_amount"),
            amount_at_most(
                "commission_reversal",
                "platform_share",
                "liability_commission_reversal_within_platform_share",
            ),
        ]

    def __str__(self) -> str:
        case = self.case
        return (
            f"{case.case_id} {self.vendor.code}: {display_money(self.refund_amount, case.currency)}"
        )
