"""Webhooks: signed POSTs to integrators' endpoints, from the outbox.

The outbox consumer turns refund events into one WebhookDelivery per
interested endpoint (unique per endpoint and source event, so a redelivered
event never creates a second delivery). Deliveries are sent by Celery: a send
is claimed with a short lease (compare-and-set on next_attempt_at), so two
workers never send the same delivery at once; a failure backs off
exponentially; after WEBHOOK_MAX_ATTEMPTS the delivery is marked failed.
Delivery is at least once (a worker can die after the receiver answered):
receivers deduplicate by the `id` in the body, which is stable per event.

Signature: header `Splitledger-Signature: t=<unix time>,v1=<hex>` where hex is
HMAC-SHA256 of "<t>.<raw body>" with the endpoint's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ledger.models import CreditNote
from lib.money import format_amount
from refunds import outbox
from refunds.models import CaseEvent, EventKind, OutboxMessage, RefundCase

from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Splitledger-Signature"
LEASE = timedelta(seconds=60)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300) -> bool:
    """What a receiver does: recompute the signature and check its age."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


# ---------------------------------------------------------------- consumer


def handle_batch(messages: Sequence[OutboxMessage]) -> None:
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
    if not endpoints:
        return
    events = {
        e.pk: e
        for e in CaseEvent.objects.filter(pk__in=[m.event_id for m in messages if m.event_id])
    }
    cases = {
        c.pk: c
        for c in RefundCase.objects.filter(pk__in={m.case_id for m in messages if m.case_id})
        .select_related("order")
        .prefetch_related("liabilities__vendor")
    }
    deliveries = []
    for message in messages:
        built = _payload(message, events.get(message.event_id), cases.get(message.case_id))
        if built is None:
            continue
        event_type, event_key, payload = built
        for endpoint in endpoints:
            if endpoint.wants(event_type):
                deliveries.append(
                    WebhookDelivery(
                        endpoint=endpoint,
                        event_type=event_type,
                        event_key=event_key,
                        payload=payload,
                        next_attempt_at=timezone.now(),
                    )
                )
    if not deliveries:
        return
    WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    keys = {d.event_key for d in deliveries}
    ids = list(
        WebhookDelivery.objects.filter(
            event_key__in=keys, status=DeliveryStatus.PENDING, attempts=0
        ).values_list("pk", flat=True)
    )
    transaction.on_commit(lambda: _queue(ids))


def _queue(ids: list[int]) -> None:
    from .tasks import deliver_webhook

    for pk in ids:
        if not outbox.publish(deliver_webhook, [pk]):
            logger.warning("webhooks: could not queue delivery %s; retry_due_webhooks will", pk)


def _payload(
    message: OutboxMessage, event: CaseEvent | None, case: RefundCase | None
) -> tuple[str, str, dict[str, Any]] | None:
    if case is None:
        return None
    if message.topic == "credit_note.created":
        event_type, event_key = "credit_note.created", f"credit_note:{case.pk}"
        extra: dict[str, Any] = {"credit_note": _credit_note(case)}
    elif event is None:
        return None
    elif event.kind == EventKind.OPENED:
        event_type, event_key, extra = "case.created", f"event:{event.pk}", {}
    elif event.kind == EventKind.STATUS_CHANGED:
        event_type, event_key = "case.status_changed", f"event:{event.pk}"
        extra = {"from_status": event.from_status, "to_status": event.to_status}
    else:
        return None
    currency = case.currency
    payload = {
        "id": event_key,
        "type": event_type,
        "created_at": (event.created_at if event else timezone.now()).isoformat(),
        "data": {
            "case_id": case.case_id,
            "order": case.order.number,
            "status": case.status,
            "currency": currency,
            "total_refund_amount": format_amount(case.total_refund_amount, currency),
            "liabilities": [
                {
                    "vendor": row.vendor.code,
                    "refund_amount": format_amount(row.refund_amount, currency),
                    "vendor_share": format_amount(row.vendor_share, currency),
                    "platform_share": format_amount(row.platform_share, currency),
                    "commission_reversal": format_amount(row.commission_reversal, currency),
                }
                for row in case.liabilities.all()
            ],
            **extra,
        },
    }
    return event_type, event_key, payload


def _credit_note(case: RefundCase) -> dict[str, Any] | None:
    note = CreditNote.objects.filter(case=case).first()
    if note is None:
        return None
    return {
        "number": note.number,
        "issue_date": note.issue_date.isoformat(),
        "total_amount": format_amount(note.total_amount, note.currency),
        "tax_amount": format_amount(note.tax_amount, note.currency),
    }


# ---------------------------------------------------------------- sending


def deliver(delivery_id: int) -> str:
    """Send one delivery if it is due; returns its status afterwards."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + LEASE, last_attempt_at=now)
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(
        delivery.endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Splitledger-Webhooks/1",
            "Splitledger-Event": delivery.event_type,
            "Splitledger-Delivery": str(delivery.pk),
            SIGNATURE_HEADER: sign(delivery.endpoint.secret, timestamp, body),
        },
    )
    status: int | None = None
    text = ""
    error = ""
    try:
        with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            status = response.status
            text = response.read(4000).decode("utf-8", "replace")
    except urllib.error.HTTPError as failure:
        status = failure.code
        text = failure.read(4000).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError) as failure:
        error = f"{type(failure).__name__}: {failure}"[:2000]
    return _record(delivery, status, text, error)


def _record(delivery: WebhookDelivery, status: int | None, text: str, error: str) -> str:
    now = timezone.now()
    delivery.attempts += 1
    delivery.response_status = status
    delivery.response_body = text
    delivery.error = error
    if status is not None and 200 <= status < 300:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save(
        update_fields=[
            "attempts",
            "response_status",
            "response_body",
            "error",
            "status",
            "delivered_at",
            "next_attempt_at",
        ]
    )
    return delivery.status


def backoff(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s, ... at most 6 hours."""
    base = settings.WEBHOOK_BACKOFF_SECONDS
    return timedelta(seconds=min(base * 2 ** (attempts - 1), 6 * 3600))


def due_deliveries(limit: int = 500) -> list[int]:
    return list(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
