"""What vendors are told: one notification per vendor per case event, and one
per settlement statement that is ready."""

from django.db import models
from django.db.models import Q
from django.urls import reverse

from ledger.models import SettlementStatement
from refunds.models import CaseEvent, RefundCase
from refunds.models.fields import EventCreatedAtField
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
        db_constraint=False,  # the key is (event_id, event_created_at): migration 0003
    )
    event_created_at = EventCreatedAtField()
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
