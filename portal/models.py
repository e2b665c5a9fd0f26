"""What vendors are told: one notification per vendor per case event."""

from django.db import models

from refunds.models import CaseEvent, RefundCase
from vendors.models import Vendor


class Notification(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="notifications")
    case = models.ForeignKey(RefundCase, on_delete=models.CASCADE, related_name="notifications")
    event = models.ForeignKey(CaseEvent, on_delete=models.CASCADE, related_name="notifications")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["vendor", "read_at"], name="notification_inbox_idx")]
        constraints = [
            # The effect key: a redelivered event never notifies twice.
            models.UniqueConstraint(fields=["event", "vendor"], name="notification_once"),
        ]

    def __str__(self) -> str:
        return f"{self.vendor_id}: {self.subject}"
