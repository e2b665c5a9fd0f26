"""Reason policies: who bears a refund for a reason."""

import pgtrigger
from django.db import models
from django.db.models import Q

from lib.history import track_changes


class Bearer(models.TextChoices):
    VENDOR = "vendor", "Vendor"
    PLATFORM = "platform", "Platform"


class PlatformShareTo(models.TextChoices):
    """Where the ledger books the part of a refund the platform bears."""

    ALLOWANCES = "allowances", "Refunds and allowances (the platform's cost)"
    CARRIER_CLAIMS = "carrier_claims", "Carrier claims (charged to the carrier)"


# What describes a policy: the fields staff edit, and the API lists.
REASON_POLICY_FIELDS = (
    "code",
    "label",
    "vendor_share_percent",
    "refund_commission_to_vendor",
    "shipping_bearer",
    "platform_share_to",
    "is_active",
)


@track_changes()
class ReasonPolicy(models.Model):
    """Who bears a refund given for this reason.

    `version` counts the policy's versions: on PostgreSQL a trigger adds one on
    every update that changes the row (whatever writes it), and each refund line
    keeps the version that priced it; the event of that version holds the terms.
    On SQLite (dev) nothing counts and every policy stays at version 1.
    """

    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=120)
    vendor_share_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        help_text="Share of the refunded net the vendor bears: 100 vendor, 0 platform, or a split.",
    )
    refund_commission_to_vendor = models.BooleanField(
        help_text="Give the vendor back the platform's commission on the part it bears."
    )
    shipping_bearer = models.CharField(max_length=10, choices=Bearer.choices)
    platform_share_to = models.CharField(
        max_length=20,
        choices=PlatformShareTo.choices,
        default=PlatformShareTo.ALLOWANCES,
        help_text="Where the platform's share is booked: its own refunds and allowances, "
        "or a claim on the carrier (a receivable).",
    )
    is_active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(
        default=1, editable=False, help_text="Counts the policy's versions; the database keeps it."
    )

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "reason policies"
        triggers = [
            pgtrigger.Trigger(
                name="reason_policy_next_version",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                condition=pgtrigger.AnyChange(),
                func="NEW.version := OLD.version + 1; RETURN NEW;",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(vendor_share_percent__gte=0) & Q(vendor_share_percent__lte=100),
                name="reason_vendor_share_percent_between_0_and_100",
            ),
            models.CheckConstraint(
                condition=Q(shipping_bearer__in=Bearer.values),
                name="reason_shipping_bearer_valid",
            ),
            models.CheckConstraint(
                condition=Q(platform_share_to__in=PlatformShareTo.values),
                name="reason_platform_share_to_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.code
