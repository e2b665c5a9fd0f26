"""The outbox's rows (the sending is refunds.outbox)."""

from django.db import models
from django.db.models import Q

from .cases import RefundCase
from .events import CaseEvent
from .orders import Order


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
        ]
        constraints = [
            # One number per message of a case, whatever writes them concurrently.
            models.UniqueConstraint(
                fields=["consumer", "case", "sequence"],
                condition=Q(sequence__isnull=False),
                name="outbox_case_sequence_once",
            ),
        ]

    def __str__(self) -> str:
        return f"Outbox message {self.pk}: {self.topic} for {self.consumer}"
