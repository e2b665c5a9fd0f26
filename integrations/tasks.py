from celery import shared_task

from refunds import outbox

from . import idempotency, webhooks
from .models import DeliveryStatus


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> str:
    status = webhooks.deliver(delivery_id)
    if status == DeliveryStatus.PENDING:
        # Not delivered yet: try again when its backoff is over.
        from .models import WebhookDelivery

        due = (
            WebhookDelivery.objects.filter(pk=delivery_id)
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if due is not None:
            outbox.publish(deliver_webhook, [delivery_id], eta=due)
    return status


@shared_task(acks_late=True)
def retry_due_webhooks() -> int:
    """Periodic: send deliveries whose retry time has come (or whose queued
    task was lost)."""
    ids = webhooks.due_deliveries()
    for pk in ids:
        outbox.publish(deliver_webhook, [pk])
    return len(ids)


@shared_task(acks_late=True)
def purge_idempotency_records() -> int:
    """Periodic: forget Idempotency-Keys older than IDEMPOTENCY_RETENTION_DAYS."""
    return idempotency.purge_idempotency_records()
