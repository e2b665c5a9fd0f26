"""Webhook endpoints and their deliveries.

The tables keep the names they had when these models lived in `integrations`
(`db_table`): the models moved, the rows did not (migrations 0001 here and
integrations/migrations/0003).
"""

from datetime import datetime

from django.db import models
from django.db.models import Q

from lib.fields import optional_user

from .signing import new_secret


class DisabledReason(models.TextChoices):
    STAFF = "staff", "Disabled by staff"
    FAILING = "failing", "Disabled after repeated failure"


class WebhookEndpoint(models.Model):
    """An integrator's URL and the events it wants. Made, changed and rotated
    through webhooks.services (the API and the admin call it)."""

    url = models.URLField(max_length=500)
    secret = models.CharField(
        max_length=128,
        default=new_secret,
        editable=False,
        help_text="whsec_ and the base64 of the HMAC key (Standard Webhooks).",
    )
    previous_secret = models.CharField(
        max_length=128,
        blank=True,
        editable=False,
        help_text="The secret before the last rotation, still signing until it expires.",
    )
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    events = models.JSONField(
        default=list,
        blank=True,
        help_text="Names from webhooks.catalogue; empty means all of them.",
    )
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(
        max_length=10, choices=DisabledReason.choices, blank=True, editable=False
    )
    failures_in_a_row = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Deliveries failed for good since the last one accepted.",
    )
    description = models.CharField(max_length=200, blank=True)
    created_by = optional_user(on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "integrations_webhookendpoint"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(secret__startswith="whsec_"), name="webhook_secret_is_whsec"
            ),
            models.CheckConstraint(
                condition=Q(previous_secret="") | Q(previous_secret_expires_at__isnull=False),
                name="webhook_previous_secret_expires",
            ),
            models.CheckConstraint(
                condition=Q(is_active=True, disabled_reason="")
                | Q(is_active=False, disabled_reason__in=DisabledReason.values),
                name="webhook_endpoint_disabled_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return self.is_active and (not self.events or event_type in self.events)

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign a request sent at `now`: the current one, and the
        one it replaced until that expires."""
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and expires > now:
            return [self.secret, self.previous_secret]
        return [self.secret]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed for good"


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_type = models.CharField(max_length=40)
    event_key = models.CharField(
        max_length=80, help_text="The source event; one delivery per endpoint."
    )
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    attempts_at_redelivery = models.PositiveIntegerField(
        default=0,
        help_text="Attempts made before the last redelivery: the retry schedule and the "
        "attempt limit count from there.",
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "integrations_webhookdelivery"
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_key"], name="webhook_delivery_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due_idx",
                condition=Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint.url} ({self.status})"

    @property
    def message_id(self) -> str:
        """The webhook-id header: the payload's id, the same on every attempt."""
        return str(self.payload.get("id") or f"msg_{self.pk}")
