"""What integrators need around the API: keys and idempotent POSTs.

The tables keep the names they had when this app was `integrations`
(`db_table`): the models moved, the rows did not (migrations 0001 here and
integrations/migrations/0003).
"""

from django.conf import settings
from django.db import models


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
        db_table = "integrations_apitoken"
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class IdempotencyRecord(models.Model):
    """The stored answer to a POST made with an Idempotency-Key.

    The row is inserted with the answer at the end of the request, in the
    request's transaction: a concurrent request with the same key waits on the
    unique index until the first commits, then has its own work rolled back
    and gets the stored answer (api.idempotency).
    Purged after IDEMPOTENCY_RETENTION_DAYS (api.idempotency).
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
        db_table = "integrations_idempotencyrecord"
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.key} {self.method} {self.path} → {self.status_code}"
