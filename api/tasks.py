from celery import shared_task

from . import idempotency


@shared_task(acks_late=True)
def purge_idempotency_records() -> int:
    """Periodic: forget Idempotency-Keys older than IDEMPOTENCY_RETENTION_DAYS."""
    return idempotency.purge_idempotency_records()


# The name this task had in `integrations`, for a message queued before the
# move. Remove after a release.
@shared_task(name="integrations.tasks.purge_idempotency_records", acks_late=True)
def _purge_idempotency_records_old_name() -> int:
    return purge_idempotency_records()
