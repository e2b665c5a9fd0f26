"""The webhooks app's domain error: a field, a message and a code (lib.errors)."""

from lib.errors import DomainError


class WebhookError(DomainError):
    pass
