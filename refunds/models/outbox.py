"""The outbox's rows (the sending is refunds.outbox)."""

from django.db import models
from django.db.models import Q

from .cases import RefundCase
from .events import CaseEvent
from .fields import EventCreatedAtField
from .orders import Order


class OutboxMessage(models.Model):
    """Work a consumer (ledger posting, notifications, ...) still has to do.

    Written in the same transaction as the change that caused it, one row per
    subscribed consumer; the consumer deletes the row in the same transaction
    as its effect, so after a crash the work is either done or still here.
    Partitioned by month of `created_at` on PostgreSQL (refunds.partitions).
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
        CaseEvent,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,  # the key is (event_id, event_created_at): migration 0002
    )
    event_created_at = EventCreatedAtField()
    sequence = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="The case's message number: 1, 2, 3, ... in the order they were "
        "written (blank without a case).",
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
            # One number per message of a case, whatever writes them concurrently:
            # the table is partitioned by month (refunds.partitions), so no unique
            # index can span it; the trigger refunds_outbox_sequence_once
            # (refunds.triggers) checks through this index under the case's lock.
            models.Index(
                fields=["case", "consumer", "sequence"],
                name="outbox_case_sequence_idx",
                condition=Q(sequence__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Outbox message {self.pk}: {self.topic} for {self.consumer}"
