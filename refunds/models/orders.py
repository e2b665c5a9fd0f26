"""Orders as sold: channels, orders, their lines and payments."""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from lib.constraints import amount_at_most, amounts_equal
from lib.fields import amount_field, non_negative, rate_field
from lib.history import track_changes
from lib.money import (
    CURRENCY_CHOICES,
    display_money,
)
from vendors.models import TaxModel, Vendor


class ShippingTax(models.TextChoices):
    UNTAXED = "untaxed", "Untaxed"
    FOLLOW_GOODS = "follow_goods", "Follows the goods (by their share)"
    FIXED = "fixed", "A fixed rate"


class ShippingEarner(models.TextChoices):
    PLATFORM = "platform", "Platform"
    VENDOR = "vendor", "Vendors (by their share of the goods)"


# History (lib/history.py): who changed what, and when.
@track_changes()
class Channel(models.Model):
    """Where an order came from: a source (web, marketplace, pos) and a subsource."""

    source = models.CharField(max_length=50)
    subsource = models.CharField(max_length=100, blank=True, default="")
    payout_terms_days = models.PositiveSmallIntegerField(
        default=14, help_text="Days after invoicing until the channel pays out."
    )
    # Tax: the default for the channel's vendors (a vendor may override it).
    tax_model = models.CharField(
        max_length=12, choices=TaxModel.choices, default=TaxModel.FACILITATOR
    )
    jurisdiction = models.CharField(
        max_length=40,
        blank=True,
        help_text="Where the channel's sales are taxed (e.g. DE); selects tax codes by rate.",
    )
    shipping_tax = models.CharField(
        max_length=12,
        choices=ShippingTax.choices,
        default=ShippingTax.UNTAXED,
        help_text="Shipping as charged includes this tax: none, the goods' rates by their "
        "share (the EU rule), or the fixed rate below.",
    )
    shipping_tax_rate = rate_field(
        default=Decimal("0"), help_text="Used when shipping is taxed at a fixed rate (0.2 = 20%)."
    )
    shipping_earned_by = models.CharField(
        max_length=10, choices=ShippingEarner.choices, default=ShippingEarner.PLATFORM
    )

    class Meta:
        ordering = ["source", "subsource"]
        constraints = [
            models.UniqueConstraint(fields=["source", "subsource"], name="channel_unique"),
            models.CheckConstraint(
                condition=Q(tax_model__in=TaxModel.values), name="channel_tax_model_valid"
            ),
            models.CheckConstraint(
                condition=Q(shipping_tax__in=ShippingTax.values), name="channel_shipping_tax_valid"
            ),
            models.CheckConstraint(
                condition=Q(shipping_earned_by__in=ShippingEarner.values),
                name="channel_shipping_earner_valid",
            ),
            models.CheckConstraint(
                condition=Q(shipping_tax_rate__gte=0) & Q(shipping_tax_rate__lte=1),
                name="channel_shipping_tax_rate_between_0_and_1",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}/{self.subsource}" if self.subsource else self.source


class Order(models.Model):
    number = models.CharField(max_length=64, unique=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="orders")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    customer_name = models.CharField(max_length=200, blank=True)
    customer_email = models.EmailField(blank=True)
    customer_address = models.TextField(max_length=500, blank=True)
    placed_at = models.DateTimeField()
    shipping_amount = amount_field(help_text="Shipping charged, untaxed.")
    net_amount = amount_field()
    tax_amount = amount_field()
    total_amount = amount_field(help_text="Lines' gross plus shipping.")
    captured_amount = amount_field(help_text="Sum of captured payments.")
    # Reserved by every case that is not rejected or cancelled.
    refunded_amount = amount_field()
    refunded_shipping = amount_field()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        # Trigram search on the number: refunds/triggers.py (PostgreSQL only).
        indexes = [models.Index(fields=["placed_at"], name="order_placed_at_idx")]
        constraints = [
            *non_negative(
                "order",
                "shipping_amount",
                "net_amount",
                "tax_amount",
                "total_amount",
                "captured_amount",
                "refunded_amount",
                "refunded_shipping",
            ),
            amounts_equal(
                "total_amount",
                F("net_amount") + F("tax_amount") + F("shipping_amount"),
                "order_total_is_net_plus_tax_plus_shipping",
            ),
            amount_at_most("refunded_amount", "captured_amount", "order_refunds_within_captured"),
            amount_at_most(
                "refunded_shipping", "shipping_amount", "order_shipping_refund_within_shipping"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def refundable_amount(self) -> Decimal:
        return self.captured_amount - self.refunded_amount


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="order_lines")
    sku = models.CharField(max_length=64)
    description = models.CharField(max_length=300, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = amount_field()
    tax_rate = rate_field(default=Decimal("0"))
    commission_rate = rate_field(help_text="The vendor's commission rate captured at sale.")
    net_amount = amount_field(help_text="quantity × unit price")
    tax_amount = amount_field(help_text="net × tax rate, rounded per line")
    commission_amount = amount_field(help_text="net × commission rate, rounded")
    # Reserved by every case that is not rejected or cancelled.
    refunded_quantity = models.PositiveIntegerField(default=0)
    refunded_net = amount_field()
    refunded_tax = amount_field()
    # Net refunded with the commission given back to the vendor, and that commission.
    commission_base_refunded = amount_field()
    commission_reversed = amount_field()

    class Meta:
        # PostgreSQL trigger (refunds/triggers.py): SKU and vendor never change.
        ordering = ["order_id", "id"]
        indexes = [
            models.Index(fields=["sku"], name="order_line_sku_idx"),
            models.Index(fields=["vendor", "order"], name="order_line_vendor_idx"),
            # Trigram search on the SKU: refunds/triggers.py (PostgreSQL only).
        ]
        constraints = [
            *non_negative(
                "order_line",
                "unit_price",
                "tax_rate",
                "net_amount",
                "tax_amount",
                "commission_amount",
                "refunded_net",
                "refunded_tax",
                "commission_base_refunded",
                "commission_reversed",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_gt_0"),
            models.CheckConstraint(
                condition=Q(commission_rate__gte=0) & Q(commission_rate__lte=1),
                name="order_line_commission_rate_between_0_and_1",
            ),
            amounts_equal(
                "net_amount",
                F("quantity") * F("unit_price"),
                "order_line_net_is_quantity_times_price",
            ),
            models.CheckConstraint(
                condition=Q(refunded_quantity__lte=F("quantity")),
                name="order_line_refunded_quantity_within_quantity",
            ),
            amount_at_most("refunded_net", "net_amount", "order_line_refunded_net_within_net"),
            amount_at_most("refunded_tax", "tax_amount", "order_line_refunded_tax_within_tax"),
            amount_at_most(
                "commission_base_refunded",
                "refunded_net",
                "order_line_commission_base_within_refunded_net",
            ),
            amount_at_most(
                "commission_reversed",
                "commission_amount",
                "order_line_commission_reversed_within_commission",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.number} {self.sku} × {self.quantity}"

    @property
    def gross_amount(self) -> Decimal:
        return self.net_amount + self.tax_amount

    @property
    def refunded_gross(self) -> Decimal:
        return self.refunded_net + self.refunded_tax


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    PAYPAL = "paypal", "PayPal"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    WALLET = "wallet", "Wallet"


class Payment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    amount = amount_field()
    reference = models.CharField(max_length=128, blank=True)
    captured_at = models.DateTimeField()

    class Meta:
        ordering = ["captured_at", "id"]
        indexes = [models.Index(fields=["reference"], name="payment_reference_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_gt_0"),
        ]

    def __str__(self) -> str:
        paid = (
            f"{self.get_method_display()} payment {display_money(self.amount, self.order.currency)}"
        )
        return f"{paid} ({self.reference})" if self.reference else paid
