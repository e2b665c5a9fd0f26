from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from lib.history import track_changes
from lib.money import CURRENCY_CHOICES, RATE_DIGITS, RATE_PLACES


class TaxModel(models.TextChoices):
    """Who is the seller of record of a vendor's goods, for tax.

    facilitator: the platform collects and remits the tax on the goods (it
    issues the invoice and books the output tax). seller: the vendor is the
    seller of record; the tax on its goods is part of what the platform owes it,
    and invoices are issued on its behalf in its own numbering series.
    """

    FACILITATOR = "facilitator", "Marketplace facilitator (platform remits tax)"
    SELLER = "seller", "Vendor is seller of record (vendor remits tax)"


class PayoutFrequency(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


# History of commission and payout terms (lib/history.py).
@track_changes()
class Vendor(models.Model):
    code = models.SlugField(max_length=32, unique=True, help_text="Short stable code, e.g. ACME.")
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="EUR")
    commission_rate = models.DecimalField(
        max_digits=RATE_DIGITS,
        decimal_places=RATE_PLACES,
        default=Decimal("0.1000"),
        help_text="Platform commission as a fraction of net sales (0.1000 = 10%).",
    )
    payout_frequency = models.CharField(
        max_length=10, choices=PayoutFrequency.choices, default=PayoutFrequency.MONTHLY
    )
    payout_delay_days = models.PositiveSmallIntegerField(
        default=7, help_text="Days after the period closes until the payout is made."
    )
    tax_model = models.CharField(
        max_length=12,
        choices=TaxModel.choices,
        blank=True,
        default="",
        help_text="Blank: the tax model of the channel the order came from.",
    )
    email = models.EmailField(blank=True)
    # As printed on invoices: those issued on the vendor's behalf when it is the
    # seller of record, and the platform's commission invoices to it.
    legal_name = models.CharField(
        max_length=200, blank=True, help_text="Registered name on invoices (blank: the name)."
    )
    address = models.TextField(
        max_length=500, blank=True, help_text="Postal address on invoices, one line per line."
    )
    vat_id = models.CharField("VAT ID", max_length=40, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="VendorMembership", related_name="vendors"
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(commission_rate__gte=0) & Q(commission_rate__lte=1),
                name="vendor_commission_rate_between_0_and_1",
            ),
            models.CheckConstraint(
                condition=Q(tax_model__in=["", *TaxModel.values]), name="vendor_tax_model_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"

    @property
    def invoice_name(self) -> str:
        return self.legal_name or self.name


class VendorRole(models.TextChoices):
    OWNER = "owner", "Owner"
    FINANCE = "finance", "Finance"
    VIEWER = "viewer", "Viewer"


class VendorMembership(models.Model):
    """A user's seat at a vendor: one user may work for several vendors."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vendor_memberships"
    )
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=VendorRole.choices, default=VendorRole.VIEWER)
    email_notifications = models.BooleanField(
        default=True, help_text="Email this person when a case touches the vendor."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "vendor"], name="vendor_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.vendor.code} ({self.role})"


class VendorInvitation(models.Model):
    """An invitation to the portal, written with the seat it is for.

    vendors.tasks sends it once the seat is committed; a sweep resends the ones
    a down broker or mail server left unsent. The email is built when it is
    sent, so a password link is never stored.
    """

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="invitations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vendor_invitations"
    )
    new_user = models.BooleanField(
        help_text="A new user is asked to choose a password; an existing one is told "
        "of the new vendor."
    )
    email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            # The sweep reads only the unsent few.
            models.Index(
                fields=["created_at"],
                condition=Q(sent_at__isnull=True),
                name="vendorinvitation_unsent",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.vendor.code}"
