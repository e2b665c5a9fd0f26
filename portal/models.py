"""What vendors are told: one notification per vendor per case event, and one
per settlement statement that is ready."""

from django.db import models
from django.db.models import Q
from django.urls import reverse

from ledger.models import SettlementStatement
from refunds.models import CaseEvent, RefundCase
from vendors.models import Vendor


class NotificationKind(models.TextChoices):
    CASE = "case", "Refund case"
    STATEMENT = "statement", "Settlement statement"


class Notification(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(
        max_length=12, choices=NotificationKind.choices, default=NotificationKind.CASE
    )
    case = models.ForeignKey(
        RefundCase,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    event = models.ForeignKey(
        CaseEvent,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    statement = models.ForeignKey(
        SettlementStatement,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.TextField(blank=True)
    email_attempts = models.PositiveSmallIntegerField(
        default=0, db_default=0, help_text="Failed attempts to email it."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["vendor", "read_at"], name="notification_inbox_idx"),
            # portal.tasks.resend_missed_emails: only the few not emailed yet.
            models.Index(
                fields=["created_at"],
                condition=Q(emailed_at__isnull=True),
                name="notification_unsent_idx",
            ),
        ]
        constraints = [
            # The effect keys: a redelivered event, or a statement seen again,
            # never notifies twice. (NULLs never collide, so each key only
            # binds the notifications of its kind.)
            models.UniqueConstraint(fields=["event", "vendor"], name="notification_once"),
            models.UniqueConstraint(
                fields=["statement", "vendor"],
                condition=Q(statement__isnull=False),
                name="notification_statement_once",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        kind=NotificationKind.CASE,
                        case__isnull=False,
                        event__isnull=False,
                        statement__isnull=True,
                    )
                    | Q(
                        kind=NotificationKind.STATEMENT,
                        case__isnull=True,
                        event__isnull=True,
                        statement__isnull=False,
                    )
                ),
                name="notification_kind_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vendor_id}: {self.subject}"

    def get_absolute_url(self) -> str:
        """The portal page the notification is about."""
        if self.kind == NotificationKind.STATEMENT:
            return reverse("statements:detail", args=[self.statement_id])
        return reverse("portal:case_detail", args=[self.case.case_id])


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
    refund lines (migration portal 0007, replacing 0003's row-level ones) add
    and subtract each statement's part in the same transaction as the change,
    so the table always equals the aggregates of the live rows. Each trigger
    sums its statement's change per summary row, skips those that add up to
    nothing (approving or completing a case touches no row), and upserts the
    rest sorted by (kind rank, currency, day, key, shard); the services write
    case, lines, liabilities, then order lines, in the ranks' order, so
    concurrent cases take shared rows in one order and never deadlock, whatever
    the order of their lines. Each (kind, currency, day, key) but SKUs' is
    split over 8 shards (by case or order id) so that concurrent case openings
    of the same day rarely wait on the same row; readers add the shards up. SKUs are many
    already: one shard, so that a day's SKUs are not eight times as many rows.
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
