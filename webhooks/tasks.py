from celery import shared_task
from django.conf import settings

from refunds import outbox

from . import delivery
from .models import DeliveryStatus, WebhookDelivery

# The request itself gives up after WEBHOOK_TIMEOUT_SECONDS; the limits stop a
# task stuck anywhere else (DNS, a slow body) from holding a webhooks worker.
DELIVERY_LIMITS = {
    "soft_time_limit": settings.WEBHOOK_TIMEOUT_SECONDS + 20,
    "time_limit": settings.WEBHOOK_TIMEOUT_SECONDS + 30,
}


@shared_task(acks_late=True, **DELIVERY_LIMITS)
def deliver_webhook(delivery_id: int) -> str:
    status = delivery.deliver(delivery_id)
    if status == DeliveryStatus.PENDING:
        # Not delivered yet: try again when its backoff is over.
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
    ids = delivery.due_deliveries()
    for pk in ids:
        outbox.publish(deliver_webhook, [pk])
    return len(ids)


# The names these tasks had in `integrations`, for messages queued before the
# move (a broker or an ETA'd retry can hold one for a while). Remove after a
# release.
@shared_task(name="integrations.tasks.deliver_webhook", acks_late=True, **DELIVERY_LIMITS)
def _deliver_webhook_old_name(delivery_id: int) -> str:
    return deliver_webhook(delivery_id)


@shared_task(name="integrations.tasks.retry_due_webhooks", acks_late=True)
def _retry_due_webhooks_old_name() -> int:
    return retry_due_webhooks()
