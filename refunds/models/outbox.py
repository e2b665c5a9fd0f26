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
