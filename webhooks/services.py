"""Webhook endpoints and deliveries: every change, for the API and the admin alike.

A refusal is a WebhookError naming the field (`url`, `events[1]`, ...).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from . import catalogue, signing, targets
from .delivery import queue
from .errors import WebhookError
from .models import DeliveryStatus, DisabledReason, WebhookDelivery, WebhookEndpoint

MAX_OVERLAP = timedelta(days=7)


def create_endpoint(
    *,
    url: str,
    events: Sequence[str] = (),
    description: str = "",
    actor: User | None = None,
) -> WebhookEndpoint:
    """A new active endpoint with a new secret (endpoint.secret: show it once)."""
    targets.check_url(url)
    return WebhookEndpoint.objects.create(
        url=url,
        events=catalogue.check_subscription(list(events)),
        description=description,
        secret=signing.new_secret(),
        created_by=actor if actor is not None and actor.pk else None,
    )


def update_endpoint(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    events: Sequence[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given. Enabling a disabled endpoint starts its count of
    failures afresh; its deliveries still pending go out at their next retry."""
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if url is not None:
            targets.check_url(url)
            locked.url = url
        if events is not None:
            locked.events = catalogue.check_subscription(list(events))
        if description is not None:
            locked.description = description
        if is_active is True and not locked.is_active:
            locked.is_active = True
            locked.disabled_at = None
            locked.disabled_reason = ""
            locked.failures_in_a_row = 0
        elif is_active is False and locked.is_active:
            _disable(locked, DisabledReason.STAFF)
        locked.save()
    return locked


def disable_endpoint(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Send nothing more to the endpoint until it is enabled again; its pending
    deliveries wait, and events meanwhile make none for it."""
    return update_endpoint(endpoint=endpoint, is_active=False)


def _disable(endpoint: WebhookEndpoint, reason: DisabledReason) -> None:
    endpoint.is_active = False
    endpoint.disabled_at = timezone.now()
    endpoint.disabled_reason = reason


def delete_endpoint(*, endpoint: WebhookEndpoint) -> None:
    """The endpoint and its deliveries' records."""
    endpoint.delete()


def rotate_secret(
    *, endpoint: WebhookEndpoint, overlap: timedelta | None = None
) -> WebhookEndpoint:
    """A new secret (endpoint.secret: show it once). The one it replaces keeps
    signing beside it for `overlap` (WEBHOOK_SECRET_OVERLAP_SECONDS by default),
    so that receivers can switch without losing a message; a secret rotated out
    earlier stops at once (two are active at most)."""
    if overlap is None:
        overlap = timedelta(seconds=settings.WEBHOOK_SECRET_OVERLAP_SECONDS)
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise WebhookError(
            "overlap_seconds",
            f"From 0 to {int(MAX_OVERLAP.total_seconds())} seconds.",
            code="out_of_range",
        )
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if overlap:
            locked.previous_secret = locked.secret
            locked.previous_secret_expires_at = timezone.now() + overlap
        else:
            locked.previous_secret = ""
            locked.previous_secret_expires_at = None
        locked.secret = signing.new_secret()
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return locked


def send_test_event(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.test` message to the endpoint, queued at once (also to a
    disabled endpoint: that is how to check it before enabling it again)."""
    key = uuid.uuid4().hex
    now = timezone.now()
    with transaction.atomic():
        test = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_type=catalogue.TEST,
            event_key=f"test:{key}",
            payload={
                "id": f"msg_test_{key}",
                "type": catalogue.TEST,
                "timestamp": now.isoformat(),
                "data": {"endpoint": endpoint.pk, "message": "A test event from Splitledger."},
            },
            next_attempt_at=now,
        )
        transaction.on_commit(lambda: queue([test.pk]))
    return test


def redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the same message (same webhook-id and body) again now, whatever
    became of it; if that fails it is retried on the usual schedule, counted
    from here."""
    with transaction.atomic():
        locked = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .get(pk=delivery.pk)
        )
        if not locked.endpoint.is_active and locked.event_type != catalogue.TEST:
            raise WebhookError(
                "endpoint", "The endpoint is disabled: enable it first.", code="endpoint_disabled"
            )
        locked.status = DeliveryStatus.PENDING
        locked.next_attempt_at = timezone.now()
        locked.delivered_at = None
        locked.attempts_at_redelivery = locked.attempts
        locked.save(
            update_fields=["status", "next_attempt_at", "delivered_at", "attempts_at_redelivery"]
        )
        transaction.on_commit(lambda: queue([locked.pk]))
    return locked
