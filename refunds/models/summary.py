"""The staff dashboard's daily sums of orders and refunds, kept by refunds.triggers."""

from django.db import models


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


class RefundMonth(models.Model):
    """RefundDay's rows of whole past months, added up per (kind, currency, month, key).

    Written only by `refunds.services.refund_months.fold_month` (a periodic
    task, `refunds.tasks.fold_refund_months`), never by the write path: opening
    or changing a case touches RefundDay only. A month's days are read from here
    only once they are folded (`RefundMonthFold`: a past month whole, the
    current month up to the day before the fold); today, and any day not folded
    yet, are read from the daily rows. Folded days hold the daily rows as they
    were when they were folded: a later change to one of them (an old case
    rejected or restored, a line of an old order refunded) reaches them at the
    next fold.
    """

    kind = models.CharField(max_length=8)
    currency = models.CharField(max_length=3)
    month = models.DateField()  # the first day of the month
    key = models.CharField(max_length=64, blank=True)
    amount = models.DecimalField(max_digits=24, decimal_places=3, default=0)
    refunded = models.DecimalField(max_digits=24, decimal_places=3, default=0)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "currency", "month", "key"], name="refund_month_unique"
            ),
        ]
        indexes = [
            # Each month's keys largest first: the staff dashboard's top SKUs
            # (portal.staff_selectors.top_skus). Free for writes: only the fold
            # writes this table.
            models.Index(
                fields=["kind", "currency", "month", "-amount", "key"],
                name="refund_month_ranked_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.currency} {self.month:%Y-%m} {self.key}: {self.amount}"


class RefundMonthFold(models.Model):
    """A month whose RefundDay rows are in RefundMonth, from its first day
    through `through` (its last day, or for the current month the day before
    the fold), and when they were added up."""

    month = models.DateField(unique=True)
    through = models.DateField()
    folded_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} folded at {self.folded_at:%Y-%m-%d %H:%M}"
