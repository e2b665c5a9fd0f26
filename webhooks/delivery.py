"""Webhooks: signed POSTs to integrators' endpoints, from the outbox.

The outbox consumer turns refund events into one WebhookDelivery per
interested endpoint (unique per endpoint and source event, so a redelivered
event never creates a second delivery). The event names and payloads are
webhooks.catalogue's; each payload about a case carries the case's sequence
number (refunds.outbox). Deliveries are sent by Celery: a send is claimed with
a short lease (compare-and-set on next_attempt_at), so two workers never send
the same delivery at once; a failure backs off exponentially; after
WEBHOOK_MAX_ATTEMPTS the delivery is marked failed, and after
WEBHOOK_DISABLE_AFTER_FAILURES failed deliveries in a row its endpoint is
disabled. Delivery is at least once (a worker can die after the receiver
answered): receivers deduplicate by the webhook-id header (the payload's `id`),
which is the same on every attempt.

Requests are signed as Standard Webhooks asks (webhooks.signing) and go only to
public addresses (webhooks.targets).
"""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ledger.models import CreditNote
from lib.money import format_amount
from refunds import outbox
from refunds.models import CaseEvent, EventKind, OutboxMessage, RefundCase

from . import catalogue, signing, targets
from .models import DeliveryStatus, DisabledReason, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
USER_AGENT = "Splitledger-Webhooks/2"
# The case event each case message is about.
EVENT_KINDS = {
    catalogue.CASE_OPENED: EventKind.OPENED,
    catalogue.CASE_STATUS_CHANGED: EventKind.STATUS_CHANGED,
}


# ---------------------------------------------------------------- consumer


def handle_batch(messages: Sequence[OutboxMessage]) -> None:
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
    if not endpoints:
        return
    events = {e.pk: e for e in outbox.events_of(messages)}
    cases = {
        c.pk: c
        for c in RefundCase.objects.filter(pk__in={m.case_id for m in messages if m.case_id})
        .select_related("order")
        .prefetch_related("liabilities__vendor")
    }
    deliveries = []
    for message in messages:
        event = events.get(message.event_id) if message.event_id else None
        case = cases.get(message.case_id) if message.case_id else None
        built = _payload(message, event, case)
        if built is None:
            continue
        event_key, payload = built
        for endpoint in endpoints:
            if endpoint.wants(payload["type"]):
                deliveries.append(
                    WebhookDelivery(
                        endpoint=endpoint,
                        event_type=payload["type"],
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
    transaction.on_commit(lambda: queue(ids))


def queue(ids: list[int]) -> None:
    from .tasks import deliver_webhook

    for pk in ids:
        if not outbox.publish(deliver_webhook, [pk]):
            logger.warning("webhooks: could not queue delivery %s; retry_due_webhooks will", pk)


def _payload(
    message: OutboxMessage, event: CaseEvent | None, case: RefundCase | None
) -> tuple[str, dict[str, Any]] | None:
    """The event key (one delivery per endpoint and key) and the payload of a
    message, as catalogued; None for a message webhooks do not tell."""
    name = message.topic
    if case is None or name not in catalogue.SUBSCRIBABLE:
        return None
    extra: dict[str, Any] = {}
    if name == catalogue.CREDIT_NOTE_CREATED:
        event_key = f"credit_note:{case.pk}"
        extra["credit_note"] = _credit_note(case)
    elif event is None or event.kind != EVENT_KINDS[name]:
        return None
    else:
        event_key = f"event:{event.pk}"
        if name == catalogue.CASE_STATUS_CHANGED:
            extra = {"from_status": event.from_status, "to_status": event.to_status}
    currency = case.currency
    payload = {
        "id": "msg_" + event_key.replace(":", "_"),
        "type": name,
        "timestamp": (event.created_at if event else timezone.now()).isoformat(),
        "data": {
            "case_id": case.case_id,
            "sequence": message.sequence,
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
    return event_key, payload


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


def sendable() -> Q:
    """Deliveries that may go out: to an active endpoint, or test events (staff
    check a disabled endpoint with one before enabling it)."""
    return Q(endpoint__is_active=True) | Q(event_type=catalogue.TEST)


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()


def deliver(delivery_id: int) -> str:
    """Send one delivery if it is due; returns its status afterwards."""
    now = timezone.now()
    claimed = (
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        .filter(sendable())
        .update(next_attempt_at=now + LEASE, last_attempt_at=now)
    )
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    body = body_of(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signing.headers(endpoint.signing_secrets(now), delivery.message_id, body),
    }
    status: int | None = None
    text = ""
    error = ""
    try:
        status, text = targets.post(
            endpoint.url, body, headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS
        )
    except targets.TargetRefused as refused:
        error = f"Refused: {refused}"[:2000]
    except (OSError, http.client.HTTPException, ValueError, UnicodeError) as failure:
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
    elif delivery.attempts - delivery.attempts_at_redelivery >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + backoff(
            delivery.attempts - delivery.attempts_at_redelivery
        )
    with transaction.atomic():
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
        _count_outcome(delivery)
    return delivery.status


def _count_outcome(delivery: WebhookDelivery) -> None:
    """An accepted delivery clears its endpoint's count of failures; one failed
    for good adds to it, and the endpoint is disabled at
    WEBHOOK_DISABLE_AFTER_FAILURES in a row."""
    endpoints = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id)
    if delivery.status == DeliveryStatus.DELIVERED:
        endpoints.exclude(failures_in_a_row=0).update(failures_in_a_row=0)
        return
    if delivery.status != DeliveryStatus.FAILED or delivery.event_type == catalogue.TEST:
        return
    endpoints.update(failures_in_a_row=F("failures_in_a_row") + 1)
    limit = settings.WEBHOOK_DISABLE_AFTER_FAILURES
    if limit and endpoints.filter(is_active=True, failures_in_a_row__gte=limit).update(
        is_active=False, disabled_at=timezone.now(), disabled_reason=DisabledReason.FAILING
    ):
        logger.warning(
            "webhooks: endpoint %s disabled after %s deliveries failed in a row",
            delivery.endpoint_id,
            limit,
        )


def backoff(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s, ... (WEBHOOK_BACKOFF_SECONDS, doubling) at most 6 hours."""
    base = settings.WEBHOOK_BACKOFF_SECONDS
    return timedelta(seconds=min(base * 2 ** (attempts - 1), 6 * 3600))


def due_deliveries(limit: int = 500) -> list[int]:
    return list(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now()
        )
        .filter(sendable())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
