"""A case's log: events (status changes, notes, acknowledgements) and attachments."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from vendors.models import Vendor

from ..statuses import CaseStatus
from .cases import RefundCase
from .fields import EventCreatedAtField


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

    On PostgreSQL the table is partitioned by month of `created_at`
    (refunds.partitions): its primary key there is (id, created_at), and rows
    pointing at an event carry its `created_at` too (EventCreatedAtField).
    Django knows `id` as the key; ids come from the one identity sequence.
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
        CaseEvent,
        on_delete=models.CASCADE,
        related_name="attachment",
        null=True,
        blank=True,
        db_constraint=False,  # the key is (event_id, event_created_at): migration 0002
    )
    event_created_at = EventCreatedAtField()
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
