"""What integrators need around the API: keys, idempotent POSTs, webhooks."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ApiToken(models.Model):
    """An API key. Only a hash is stored; the key is shown once at creation.

    Keys are 32 random bytes, so a fast hash (SHA-256) is enough: there is
    nothing to brute-force that a slow password hash would protect.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True, help_text="What the key is for.")
    prefix = models.CharField(
        max_length=12, editable=False, help_text="First characters, to recognise a key."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class IdempotencyRecord(models.Model):
    """The stored answer to a POST made with an Idempotency-Key.

    The row is inserted before the request runs, in the request's transaction:
    a second request with the same key waits on the unique index until the
    first commits, then gets the stored answer instead of running again.
    Purged after IDEMPOTENCY_RETENTION_DAYS (integrations.idempotency).
    """

    scope = models.CharField(
        max_length=64,
        help_text="Who sent the key: user:<id>/key:<API key id>, or user:<id>/session.",
    )
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64, help_text="Hash of method, path and body.")
    status_code = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.key} {self.method} {self.path} → {self.status_code}"


class WebhookEndpoint(models.Model):
    EVENTS = ["case.created", "case.status_changed", "credit_note.created"]

    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128, help_text="Shared secret for the HMAC signature.")
    events = models.JSONField(default=list, help_text=f"Subset of {EVENTS}; empty means all.")
    is_active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return self.is_active and (not self.events or event_type in self.events)


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
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
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
