"""Orders as sold, and refund cases against them.

Counters that guard against over-refunding (`refunded_*` on orders and order
lines) count every case that is not rejected or cancelled, so open cases reserve
their amount. They change only under the order's row lock (see
`refunds.services.cases`), and CHECK constraints make the database refuse a
counter that would pass what was sold or paid.
"""

from decimal import Decimal

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import F, Q

from lib.constraints import amount_at_most, amounts_equal
from lib.history import track_changes
from lib.money import (
    AMOUNT_DIGITS,
    AMOUNT_PLACES,
    CURRENCY_CHOICES,
    RATE_DIGITS,
    RATE_PLACES,
    display_money,
)
from vendors.models import Vendor

# Re-exported: the status enum and its sets live in refunds.statuses.
from .statuses import RELEASED_STATUSES, CaseStatus  # noqa: F401


def amount_field(**kwargs) -> models.DecimalField:
    kwargs.setdefault("default", Decimal("0"))
    return models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kwargs)


def rate_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, **kwargs)


def non_negative(prefix: str, *fields: str) -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(condition=Q(**{f"{name}__gte": 0}), name=f"{prefix}_{name}_gte_0")
        for name in fields
    ]


# History (lib/history.py): who changed what, and when.
@track_changes()
class Channel(models.Model):
    """Where an order came from: a source (web, marketplace, pos) and a subsource."""

    source = models.CharField(max_length=50)
    subsource = models.CharField(max_length=100, blank=True, default="")
    payout_terms_days = models.PositiveSmallIntegerField(
        default=14, help_text="Days after invoicing until the channel pays out."
    )

    class Meta:
        ordering = ["source", "subsource"]
        constraints = [
            models.UniqueConstraint(fields=["source", "subsource"], name="channel_unique"),
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


class Bearer(models.TextChoices):
    VENDOR = "vendor", "Vendor"
    PLATFORM = "platform", "Platform"


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
        ]

    def __str__(self) -> str:
        return self.code


CASE_ID_REGEX = r"^RFND-[0-9]{8}-[A-HJ-NP-Z2-9]{6}$"


class RefundCase(models.Model):
    case_id = models.CharField(max_length=22, unique=True, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refund_cases")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=12, choices=CaseStatus.choices, default=CaseStatus.PENDING)
    status_before_dispute = models.CharField(
        max_length=12, choices=CaseStatus.choices, blank=True, default=""
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_refund_cases",
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opened_refund_cases",
    )
    total_refund_amount = amount_field()
    shipping_refund_amount = amount_field()
    gateway_reference = models.CharField(max_length=128, blank=True)
    note = models.TextField(blank=True)
    initiated_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

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
            amounts_equal(
                "gross_amount",
                F("net_amount") + F("tax_amount") + F("shipping_amount"),
                "refund_line_gross_is_sum",
            ),
            amounts_equal(
                "vendor_share",
                F("net_amount") + F("shipping_amount") - F("platform_share"),
                "refund_line_shares_cover_net",
            ),
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
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

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
            *non_negative(
                "liability",
                "refund_amount",
                "net_amount",
                "tax_amount",
                "shipping_amount",
                "vendor_share",
                "platform_share",
                "commission_reversal",
            ),
            amounts_equal(
                "refund_amount",
                F("net_amount") + F("tax_amount") + F("shipping_amount"),
                "liability_refund_is_sum",
            ),
            amounts_equal(
                "vendor_share",
                F("net_amount") + F("shipping_amount") - F("platform_share"),
                "liability_shares_cover_net",
            ),
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


class EventKind(models.TextChoices):
    OPENED = "opened", "Opened"
    STATUS_CHANGED = "status_changed", "Status changed"
    NOTE = "note", "Note"
    ATTACHMENT = "attachment", "Attachment"
    OWNER_ASSIGNED = "owner_assigned", "Owner assigned"
    BREAKDOWN_OVERRIDDEN = "breakdown_overridden", "Breakdown overridden"
    ACKNOWLEDGED = "acknowledged", "Acknowledged by vendor"


class EventChannel(models.TextChoices):
    """Where a communication happened (or `system` for the engine itself)."""

    SYSTEM = "system", "System"
    STAFF = "staff", "Staff note"
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    CHAT = "chat", "Chat"
    PLATFORM = "platform", "Platform message"
    VENDOR_PORTAL = "vendor_portal", "Vendor portal"
    API = "api", "API"


class CaseEvent(models.Model):
    """Every status change and every communication-log entry of a case.

    Written in the same transaction as the change it records; consumers (ledger
    posting, notifications) read these rows and mark what they processed.
    """

    case = models.ForeignKey(RefundCase, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=EventKind.choices)
    from_status = models.CharField(max_length=12, choices=CaseStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=CaseStatus.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="refund_case_events",
    )
    vendor = models.ForeignKey(
        Vendor,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="case_events",
        help_text="The vendor this entry speaks for or to, if any.",
    )
    internal = models.BooleanField(
        default=False,
        db_default=False,  # also for rows written by raw SQL or COPY
        help_text="Staff only: a note or file never shown to vendors (portal, API, email).",
    )
    channel = models.CharField(
        max_length=16, choices=EventChannel.choices, default=EventChannel.SYSTEM
    )
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="case_event_case_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=EventKind.values), name="case_event_kind_valid"
            ),
            models.CheckConstraint(
                condition=~Q(kind=EventKind.STATUS_CHANGED)
                | (~Q(from_status="") & ~Q(to_status="")),
                name="case_event_status_change_has_statuses",
            ),
            # Only notes and files can be internal, and never one addressed to a vendor.
            models.CheckConstraint(
                condition=Q(internal=False)
                | (Q(kind__in=[EventKind.NOTE, EventKind.ATTACHMENT]) & Q(vendor__isnull=True)),
                name="case_event_internal_is_staff_note",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == EventKind.STATUS_CHANGED:
            what = f"{self.from_status} → {self.to_status}"
        else:
            what = self.get_kind_display().lower()
        return f"{self.case.case_id} {what}, {self.created_at:%Y-%m-%d %H:%M}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    return f"cases/{instance.case.case_id}/{filename}"


class Attachment(models.Model):
    case = models.ForeignKey(RefundCase, on_delete=models.CASCADE, related_name="attachments")
    event = models.OneToOneField(
        CaseEvent, on_delete=models.CASCADE, related_name="attachment", null=True, blank=True
    )
    file = models.FileField(upload_to=attachment_path)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.filename


class OutboxMessage(models.Model):
    """Work a consumer (ledger posting, notifications, ...) still has to do.

    Written in the same transaction as the change that caused it, one row per
    subscribed consumer; the consumer deletes the row in the same transaction
    as its effect, so after a crash the work is either done or still here.
    """

    consumer = models.CharField(max_length=40)
    topic = models.CharField(max_length=60)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    case = models.ForeignKey(
        RefundCase, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    event = models.ForeignKey(
        CaseEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    available_at = models.DateTimeField(db_index=False)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The drain's claim query: pending rows of one consumer, oldest first.
            models.Index(
                fields=["consumer", "id"],
                name="outbox_pending_idx",
                condition=Q(failed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Outbox message {self.pk}: {self.topic} for {self.consumer}"


class RefundDay(models.Model):
    """Daily sums behind the staff dashboard, kept in step by PostgreSQL triggers.

    One row per (kind, currency, day, key, shard). The day is the UTC date a
    case was opened (or an order placed); the key names what is summed:

    - `case`: cases not rejected or cancelled (key ""): total refund, count;
    - `vendor`: their liabilities per vendor (key: vendor id);
    - `reason`, `sku`: their refund lines per reason id / SKU ("" for shipping);
    - `orders`: orders placed (key ""), count;
    - `sold`: order lines per vendor (key: vendor id): gross sold (amount),
      gross refunded so far (refunded), count.

    Statement-level triggers on orders, order lines, cases, liabilities and
    refund lines (refunds/triggers.py) add and subtract each statement's part
    in the same transaction as the change, so the table always equals the
    aggregates of the live rows. Each trigger sums its statement's change per
    summary row, skips those that add up to nothing (approving or completing a
    case touches no row), and upserts the rest sorted by (kind rank, currency,
    day, key, shard); the services write case, lines, liabilities, then order
    lines, in the ranks' order, so concurrent cases take shared rows in one
    order and never deadlock, whatever the order of their lines. Each (kind,
    currency, day, key) but SKUs' is split over 8 shards (by case or order id)
    so that concurrent case openings of the same day rarely wait on the same
    row; readers add the shards up. SKUs are many already: one shard, so that a
    day's SKUs are not eight times as many rows.

    Portal made it (its table keeps the name `portal_refundday`); it sums
    refunds' rows, so refunds owns it and portal only reads it.
    """

    kind = models.CharField(max_length=8)
    currency = models.CharField(max_length=3)
    day = models.DateField()
    key = models.CharField(max_length=64, blank=True)
    shard = models.SmallIntegerField(default=0)
    amount = models.DecimalField(max_digits=24, decimal_places=3, default=0)
    refunded = models.DecimalField(max_digits=24, decimal_places=3, default=0)
    count = models.BigIntegerField(default=0)

    class Meta:
        # Kept by triggers on the tables it sums: refunds/triggers.py.
        db_table = "portal_refundday"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "currency", "day", "key", "shard"], name="refund_day_unique"
            ),
        ]
        indexes = [
            # A few keys' days (the trend chart's lines), not every key's.
            models.Index(fields=["kind", "currency", "key", "day"], name="refund_day_key_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.currency} {self.day} {self.key}: {self.amount} ({self.count})"
